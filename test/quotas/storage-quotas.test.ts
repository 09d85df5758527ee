import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { type AuthApp, adminPassword, authApp, basic, berthCli, sha256 } from '../auth/helpers.js';
import { imageManifest, pushBlob, putManifest } from '../support/berth-pushes.js';

/** A Berth with alice (and her token's Basic header) and the site administrator root. */
async function setUp(t: TestContext): Promise<{ app: AuthApp; alice: string; aliceApi: string; root: string }> {
  const app = await authApp(t);
  const alice = await app.user('alice');
  return { app, alice: basic('alice', alice.token), aliceApi: `Bearer ${alice.token}`, root: basic('root', adminPassword) };
}

async function api(app: AuthApp, method: 'GET' | 'PUT' | 'DELETE', url: string, authorization: string, payload?: object) {
  return app.berth.app.inject({ method, url, headers: { authorization, ...(payload ? { 'content-type': 'application/json' } : {}) }, payload: payload && JSON.stringify(payload) });
}

async function setQuota(app: AuthApp, account: string, quotaBytes: number | null): Promise<void> {
  const root = await app.user('root');
  const res = await api(app, 'PUT', `/api/admin/accounts/${account}/storage-quota`, `Bearer ${root.token}`, { quota_bytes: quotaBytes });
  assert.equal(res.statusCode, 200, res.body);
}

async function usage(app: AuthApp, authorization: string) {
  const res = await api(app, 'GET', '/api/user/storage', authorization);
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

function assertQuotaRefusal(res: { statusCode: number; json(): any }): void {
  assert.equal(res.statusCode, 403);
  const [error] = res.json().errors;
  assert.equal(error.code, 'DENIED');
  assert.match(error.message, /^storage quota exceeded/);
}

/** Nothing of the blob is stored for the repository: no blob row, no link, HEAD is 404. */
async function assertNotStored(app: AuthApp, repo: string, digest: string, authorization: string): Promise<void> {
  const db = app.berth.db;
  assert.equal(await db.selectFrom('blobs').select('digest').where('digest', '=', digest).executeTakeFirst(), undefined, 'no blob row');
  assert.equal(await db.selectFrom('repository_blobs').select('digest').where('digest', '=', digest).executeTakeFirst(), undefined, 'no blob link');
  const head = await app.berth.app.inject({ method: 'HEAD', url: `/v2/${repo}/blobs/${digest}`, headers: { authorization } });
  assert.equal(head.statusCode, 404);
}

describe('storage usage', () => {
  it('GET /api/user/storage: shared layers count once, a deleted version only in used_with_restorable_bytes, per package likewise', async (t) => {
    const { app, alice } = await setUp(t);
    const shared = await pushBlob(app.berth, 'alice/app', alice, 'a layer both packages use');
    await pushBlob(app.berth, 'alice/tools', alice, 'a layer both packages use');
    const configA = await pushBlob(app.berth, 'alice/app', alice, '{"config":"app v1"}');
    const configB = await pushBlob(app.berth, 'alice/app', alice, '{"config":"app v2"}');
    const onlyB = await pushBlob(app.berth, 'alice/app', alice, 'a layer only app v2 has');
    const configT = await pushBlob(app.berth, 'alice/tools', alice, '{"config":"tools"}');
    const v1 = await putManifest(app.berth, 'alice/app', alice, 'v1', imageManifest(configA, shared));
    const v2 = await putManifest(app.berth, 'alice/app', alice, 'v2', imageManifest(configB, onlyB));
    const tools = await putManifest(app.berth, 'alice/tools', alice, 'v1', imageManifest(configT, shared));
    const deleted = await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/app/manifests/${v2.digest}`, headers: { authorization: alice } });
    assert.equal(deleted.statusCode, 202);

    const appLive = shared.size + configA.size + v1.size;
    const appDeleted = configB.size + onlyB.size + v2.size;
    const toolsLive = shared.size + configT.size + tools.size;
    const storage = await usage(app, alice);
    assert.deepEqual(storage.account, { login: 'alice', id: (await app.user('alice')).id, type: 'User' });
    assert.equal(storage.used_bytes, appLive + configT.size + tools.size);
    assert.equal(storage.used_with_restorable_bytes, appLive + configT.size + tools.size + appDeleted);
    // The deleted version's blobs were linked moments ago, yet they are restorable, not pending.
    assert.equal(storage.pending_upload_bytes, 0);
    assert.equal(storage.quota_used_bytes, storage.used_bytes);
    assert.equal(storage.quota_bytes, null);
    assert.deepEqual(storage.packages, [
      { name: 'app', repository: 'alice/app', used_bytes: appLive, used_with_restorable_bytes: appLive + appDeleted },
      { name: 'tools', repository: 'alice/tools', used_bytes: toolsLive, used_with_restorable_bytes: toolsLive },
    ]);

    // A blob uploaded and not referenced yet counts towards the quota as pending.
    const loose = await pushBlob(app.berth, 'alice/app', alice, 'uploaded, no manifest yet');
    const later = await usage(app, alice);
    assert.equal(later.used_bytes, storage.used_bytes);
    assert.equal(later.pending_upload_bytes, loose.size);
    assert.equal(later.quota_used_bytes, storage.used_bytes + loose.size);

    const cli = await berthCli(app.dataDir, ['usage', 'alice', '--bytes']);
    assert.deepEqual(cli.stdout.trim().split('\n'), [
      `alice\tused ${later.used_bytes}\twith restorable ${later.used_with_restorable_bytes}\tpending uploads ${loose.size}\tno quota`,
      `  alice/app\tused ${appLive}\twith restorable ${appLive + appDeleted}`,
      `  alice/tools\tused ${toolsLive}\twith restorable ${toolsLive}`,
    ]);

    const metrics = await app.berth.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, new RegExp(`^berth_storage_used_bytes\\{account="alice"\\} ${later.used_bytes}$`, 'm'));
  });

  it('GET /api/orgs/{org}/storage answers members and site administrators, 404 to others', async (t) => {
    const { app, alice, aliceApi, root } = await setUp(t);
    const bob = await app.user('bob');
    await app.berth.accounts.createOrg('acme' as never, 'alice');
    const layer = await pushBlob(app.berth, 'acme/site', alice, 'acme layer');
    const config = await pushBlob(app.berth, 'acme/site', alice, '{"config":"acme"}');
    const manifest = await putManifest(app.berth, 'acme/site', alice, 'v1', imageManifest(config, layer));
    const rootToken = (await app.user('root')).token;
    for (const authorization of [aliceApi, `Bearer ${rootToken}`]) {
      const res = await api(app, 'GET', '/api/orgs/acme/storage', authorization);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().used_bytes, layer.size + config.size + manifest.size);
      assert.equal(res.json().account.type, 'Organization');
    }
    assert.equal((await api(app, 'GET', '/api/orgs/acme/storage', `Bearer ${bob.token}`)).statusCode, 404);
    // Passwords are for /api/user only.
    assert.equal((await api(app, 'GET', '/api/admin/accounts/acme/storage', root)).statusCode, 401);
  });
});

describe('storage quotas', () => {
  it('PUT /api/admin/accounts/{account}/storage-quota is for site administrators: 403 for the account itself; berth quota set|clear', async (t) => {
    const { app, alice, aliceApi } = await setUp(t);
    const own = await api(app, 'PUT', '/api/admin/accounts/alice/storage-quota', aliceApi, { quota_bytes: 10 ** 12 });
    assert.equal(own.statusCode, 403);
    assert.equal((await api(app, 'GET', '/api/admin/accounts/alice/storage', aliceApi)).statusCode, 403);
    assert.equal((await usage(app, alice)).quota_bytes, null);

    const root = `Bearer ${(await app.user('root')).token}`;
    const set = await api(app, 'PUT', '/api/admin/accounts/alice/storage-quota', root, { quota: '10GiB' });
    assert.equal(set.statusCode, 200, set.body);
    assert.equal(set.json().quota_bytes, 10 * 2 ** 30);
    assert.equal((await api(app, 'PUT', '/api/admin/accounts/alice/storage-quota', root, { quota: 'lots' })).statusCode, 422);
    assert.equal((await api(app, 'PUT', '/api/admin/accounts/nobody/storage-quota', root, { quota_bytes: 1 })).statusCode, 404);
    assert.equal((await api(app, 'DELETE', '/api/admin/accounts/alice/storage-quota', root)).statusCode, 204);
    assert.equal((await usage(app, alice)).quota_bytes, null);

    await berthCli(app.dataDir, ['quota', 'set', 'alice', '1KiB']);
    assert.equal((await usage(app, alice)).quota_bytes, 1024);
    const metrics = await app.berth.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /^berth_storage_quota_bytes\{account="alice"\} 1024$/m);
    await berthCli(app.dataDir, ['quota', 'clear', 'alice']);
    assert.equal((await usage(app, alice)).quota_bytes, null);
  });

  it('POST /v2/<name>/blobs/uploads/?digest= past the quota answers 403 DENIED at the start; nothing is stored', async (t) => {
    const { app, alice } = await setUp(t);
    await setQuota(app, 'alice', 1000);
    for (const body of [Buffer.alloc(1001, 1), Buffer.alloc(100_000, 2)]) {
      const res = await app.berth.app.inject({
        method: 'POST',
        url: `/v2/alice/app/blobs/uploads/?digest=${sha256(body)}`,
        headers: { authorization: alice, 'content-type': 'application/octet-stream' },
        payload: body,
      });
      assertQuotaRefusal(res);
      assert.match(res.json().errors[0].message, /alice uses 0 of its 1000 bytes/);
      await assertNotStored(app, 'alice/app', sha256(body), alice);
    }
    assert.equal(await app.berth.db.selectFrom('uploads').select('id').executeTakeFirst(), undefined);
  });

  it('PUT completing an upload past the quota answers 403 DENIED and ends the upload; a PATCH of known length is refused at once', async (t) => {
    const { app, alice } = await setUp(t);
    await setQuota(app, 'alice', 100_000);
    const big = Buffer.alloc(150_000, 3);
    const start = async () => {
      const res = await app.berth.app.inject({ method: 'POST', url: '/v2/alice/app/blobs/uploads/', headers: { authorization: alice } });
      assert.equal(res.statusCode, 202);
      return res.headers.location as string;
    };

    // Streamed without a length: only the commit knows the size.
    const streamed = await start();
    const patch = await app.berth.app.inject({
      method: 'PATCH',
      url: streamed,
      headers: { authorization: alice, 'content-type': 'application/octet-stream' },
      payload: Readable.from([big.subarray(0, 70_000), big.subarray(70_000)]),
    });
    assert.equal(patch.statusCode, 202, patch.body);
    const put = await app.berth.app.inject({ method: 'PUT', url: `${streamed}?digest=${sha256(big)}`, headers: { authorization: alice } });
    assertQuotaRefusal(put);
    const status = await app.berth.app.inject({ method: 'GET', url: streamed, headers: { authorization: alice } });
    assert.equal(status.statusCode, 404);
    assert.equal(status.json().errors[0].code, 'BLOB_UPLOAD_UNKNOWN');
    await assertNotStored(app, 'alice/app', sha256(big), alice);

    // With Content-Length the chunk is refused before it is written.
    const chunked = await start();
    const refused = await app.berth.app.inject({
      method: 'PATCH',
      url: chunked,
      headers: { authorization: alice, 'content-type': 'application/octet-stream', 'content-range': `0-${big.length - 1}` },
      payload: big,
    });
    assertQuotaRefusal(refused);
    assert.equal((await app.berth.app.inject({ method: 'GET', url: chunked, headers: { authorization: alice } })).statusCode, 404);
    assert.equal(await app.berth.db.selectFrom('uploads').select('id').executeTakeFirst(), undefined, 'no upload row left');
  });

  it('pushes under the quota pass; a blob or manifest the namespace holds already adds nothing; a manifest past the quota is refused', async (t) => {
    const { app, alice } = await setUp(t);
    const layer = await pushBlob(app.berth, 'alice/app', alice, Buffer.alloc(80_000, 4));
    const config = await pushBlob(app.berth, 'alice/app', alice, '{"config":"quota"}');
    const manifest = imageManifest(config, layer);
    const pushed = await putManifest(app.berth, 'alice/app', alice, 'v1', manifest);
    const used = layer.size + config.size + pushed.size;
    await setQuota(app, 'alice', used);

    // Full to the byte: the same layer, into another package of the namespace, and another tag.
    await pushBlob(app.berth, 'alice/app', alice, Buffer.alloc(80_000, 4));
    await pushBlob(app.berth, 'alice/other', alice, Buffer.alloc(80_000, 4));
    await putManifest(app.berth, 'alice/app', alice, 'v1-again', manifest);
    // One byte more is refused.
    const extra = Buffer.from('x');
    assertQuotaRefusal(
      await app.berth.app.inject({ method: 'POST', url: `/v2/alice/app/blobs/uploads/?digest=${sha256(extra)}`, headers: { authorization: alice }, payload: extra }),
    );

    // Room for the blobs but not for the manifest: the manifest is refused and not stored.
    await setQuota(app, 'alice', used + 20);
    const second = await pushBlob(app.berth, 'alice/app', alice, '{"config":"2"}');
    const other = imageManifest(second, layer, { 'org.example.padding': 'p'.repeat(200) });
    const res = await app.berth.app.inject({
      method: 'PUT',
      url: '/v2/alice/app/manifests/v2',
      headers: { authorization: alice, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      payload: JSON.stringify(other),
    });
    assertQuotaRefusal(res);
    assert.equal((await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v2', headers: { authorization: alice } })).statusCode, 404);

    // Another namespace has no quota.
    const bob = await app.user('bob');
    await pushBlob(app.berth, 'bob/app', basic('bob', bob.token), Buffer.alloc(200_000, 5));
  });
  it("a manifest naming a blob only another namespace holds is refused as unknown: that blob's size is neither counted nor told", async (t) => {
    const { app, alice } = await setUp(t);
    const bob = await app.user('bob');
    const secret = await pushBlob(app.berth, 'bob/secret', basic('bob', bob.token), Buffer.alloc(200_000, 6));
    const config = await pushBlob(app.berth, 'alice/app', alice, '{"config":"borrowing"}');
    await setQuota(app, 'alice', config.size + 10_000);
    const res = await app.berth.app.inject({
      method: 'PUT',
      url: '/v2/alice/app/manifests/v1',
      headers: { authorization: alice, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      payload: JSON.stringify(imageManifest(config, secret)),
    });
    assert.equal(res.statusCode, 400, res.body);
    const [error] = res.json().errors;
    assert.equal(error.code, 'MANIFEST_BLOB_UNKNOWN');
    assert.deepEqual(error.detail.digests, [secret.digest]);
    assert.doesNotMatch(res.body, /200000|200,000/);
  });
});
