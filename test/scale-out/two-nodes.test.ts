import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { PassThrough } from 'node:stream';
import { sql } from 'kysely';
import { openPostgres } from '../../src/db/postgres/engine.js';
import { advisoryLockKey } from '../../src/db/postgres/node-locks.js';
import { S3BlobStore } from '../../src/storage/s3/s3-blob-store.js';
import { type AuthApp, authApp, basic, registryToken } from '../auth/helpers.js';
import { pushLabelledImage } from '../packages/helpers.js';
import { newDatabase } from '../support/postgres-process.js';
import { eventually } from '../support/eventually.js';
import { skipWithoutPostgres } from '../support/postgres-suite.js';
import { s3Client } from '../support/s3-process.js';
import { scaleOutStores } from '../support/scale-out-stores.js';

/**
 * Two Berth nodes, each with a data directory of its own, sharing one PostgreSQL database and one
 * S3 bucket, as behind a load balancer: whatever a client starts on one node it can go on with on
 * the other.
 */
describe('two nodes on PostgreSQL and S3', { skip: await skipWithoutPostgres() }, () => {
  const stores = scaleOutStores();

  async function twoNodes(t: TestContext, settings: Record<string, string> = {}): Promise<[AuthApp, AuthApp]> {
    const database = await newDatabase(stores.postgres);
    const prefix = `${randomBytes(4).toString('hex')}/`;
    const node = async () => {
      const blobStore = new S3BlobStore({ client: stores.s3.client(), bucket: stores.s3.bucket, prefix, redirect: true });
      return authApp(t, settings, { database: await openPostgres(database), blobStore });
    };
    // One after the other: the first migrates the database, the second finds it migrated.
    const first = await node();
    return [first, await node()];
  }

  it('an image pushed through one node is pulled through the other with a token the first node issued, and stays private there', async (t) => {
    const [a, b] = await twoNodes(t);
    const alice = await a.user('alice');
    const image = await pushLabelledImage(a.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1' });

    const bearer = `Bearer ${await registryToken(a, 'repository:alice/app:pull', basic('alice', alice.token))}`;
    const manifest = await b.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: bearer, accept: image.mediaType } });
    assert.equal(manifest.statusCode, 200, manifest.body);
    assert.equal(manifest.headers['docker-content-digest'], image.digest);

    const layer = (JSON.parse(manifest.body) as { layers: Array<{ digest: string }> }).layers[0]!.digest;
    const blob = await b.berth.app.inject({ method: 'GET', url: `/v2/alice/app/blobs/${layer}`, headers: { authorization: bearer } });
    assert.equal(blob.statusCode, 200);
    assert.equal(`sha256:${createHash('sha256').update(blob.rawPayload).digest('hex')}`, layer);

    // The package the first node recorded is the second node's too, private as it was made.
    const outsider = await b.user('mallory');
    const hidden = await b.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: basic('mallory', outsider.token) } });
    assert.equal(hidden.statusCode, 404);
  });

  it('an upload begun on one node is continued and finished on the other, and pulled from the bucket by redirect', async (t) => {
    const [a, b] = await twoNodes(t);
    const alice = await a.user('alice');
    const auth = basic('alice', alice.token);
    const bytes = randomBytes(100_000);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

    const started = await a.berth.app.inject({ method: 'POST', url: '/v2/alice/app/blobs/uploads/', headers: { authorization: auth } });
    assert.equal(started.statusCode, 202);
    const first = await a.berth.app.inject({
      method: 'PATCH',
      url: String(started.headers.location),
      headers: { authorization: auth, 'content-type': 'application/octet-stream', 'content-range': '0-59999' },
      payload: bytes.subarray(0, 60_000),
    });
    assert.equal(first.statusCode, 202, first.body);
    const status = await b.berth.app.inject({ method: 'GET', url: String(first.headers.location), headers: { authorization: auth } });
    assert.equal(status.statusCode, 204, status.body);
    assert.equal(status.headers.range, '0-59999');
    const second = await b.berth.app.inject({
      method: 'PATCH',
      url: String(first.headers.location),
      headers: { authorization: auth, 'content-type': 'application/octet-stream', 'content-range': '60000-99999' },
      payload: bytes.subarray(60_000),
    });
    assert.equal(second.statusCode, 202, second.body);
    const separator = String(second.headers.location).includes('?') ? '&' : '?';
    const put = await b.berth.app.inject({ method: 'PUT', url: `${second.headers.location}${separator}digest=${digest}`, headers: { authorization: auth } });
    assert.equal(put.statusCode, 201, put.body);

    const head = await a.berth.app.inject({ method: 'HEAD', url: `/v2/alice/app/blobs/${digest}`, headers: { authorization: auth } });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], String(bytes.length));
    // Too large to keep in the database: its bytes are in the bucket, and a pull is sent there.
    const pulled = await a.berth.app.inject({ method: 'GET', url: `/v2/alice/app/blobs/${digest}`, headers: { authorization: auth } });
    assert.equal(pulled.statusCode, 307);
    const location = String(pulled.headers.location);
    assert.ok(location.startsWith(`${stores.s3.endpoint}/${stores.s3.bucket}/`), location);
    assert.ok(Buffer.from(await (await fetch(location)).arrayBuffer()).equals(bytes));
  });

  it('a wrong digest on the other node is refused, and nothing appears under it', async (t) => {
    const [a, b] = await twoNodes(t);
    const alice = await a.user('alice');
    const auth = basic('alice', alice.token);
    const started = await a.berth.app.inject({ method: 'POST', url: '/v2/alice/app/blobs/uploads/', headers: { authorization: auth } });
    const patched = await a.berth.app.inject({
      method: 'PATCH',
      url: String(started.headers.location),
      headers: { authorization: auth, 'content-type': 'application/octet-stream' },
      payload: Buffer.from('the real bytes'),
    });
    assert.equal(patched.statusCode, 202);
    const claimed = `sha256:${createHash('sha256').update('other bytes').digest('hex')}`;
    const separator = String(patched.headers.location).includes('?') ? '&' : '?';
    const put = await b.berth.app.inject({ method: 'PUT', url: `${patched.headers.location}${separator}digest=${claimed}`, headers: { authorization: auth } });
    assert.equal(put.statusCode, 400);
    assert.equal(put.json().errors[0].code, 'DIGEST_INVALID');
    const head = await a.berth.app.inject({ method: 'HEAD', url: `/v2/alice/app/blobs/${claimed}`, headers: { authorization: auth } });
    assert.equal(head.statusCode, 404);
  });

  it('counts a client\'s failed sign-ins on all nodes together', async (t) => {
    const [a, b] = await twoNodes(t, { authFailureLimit: '3' });
    const alice = await a.user('alice');
    const catalog = (node: AuthApp, secret: string) =>
      node.berth.app.inject({ method: 'GET', url: '/v2/_catalog', headers: { authorization: basic('alice', secret) } });
    assert.equal((await catalog(a, 'wrong-1')).statusCode, 401);
    assert.equal((await catalog(b, 'wrong-2')).statusCode, 401);
    assert.equal((await catalog(a, 'wrong-3')).statusCode, 401);
    const refused = await catalog(b, alice.token);
    assert.equal(refused.statusCode, 429);
    assert.ok(Number(refused.headers['retry-after']) > 0);
  });

  it('answers /readyz 200 on both nodes while PostgreSQL and the bucket answer', async (t) => {
    const [a, b] = await twoNodes(t);
    for (const node of [a, b]) {
      const res = await node.berth.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
    }
  });

  it('answers /readyz 503 naming the blob store while the bucket cannot be reached; /healthz stays 200', async (t) => {
    const database = await newDatabase(stores.postgres);
    const unreachable = new S3BlobStore({ client: s3Client('http://127.0.0.1:1'), bucket: stores.s3.bucket, prefix: '', redirect: true });
    const node = await authApp(t, {}, { database: await openPostgres(database), blobStore: unreachable });
    const ready = await node.berth.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    assert.deepEqual(ready.json(), { status: 'unavailable', failing: ['storage'] });
    assert.equal((await node.berth.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });

  it('a personal access token revoked through one node is refused by the other, and so are the registry tokens issued for it', async (t) => {
    const [a, b] = await twoNodes(t);
    const alice = await a.user('alice');
    const doomed = await a.user('alice');
    await pushLabelledImage(a.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1' });
    const bearer = `Bearer ${await registryToken(b, 'repository:alice/app:pull', basic('alice', doomed.token))}`;
    const tags = (node: AuthApp, authorization: string) => node.berth.app.inject({ method: 'GET', url: '/v2/alice/app/tags/list', headers: { authorization } });
    assert.equal((await tags(b, bearer)).statusCode, 200);

    const listed = await a.berth.app.inject({ method: 'GET', url: '/api/user/tokens', headers: { authorization: `Bearer ${alice.token}` } });
    const doomedId = (listed.json() as Array<{ id: number; token_last_eight?: string }>).map((token) => token.id).sort((x, y) => x - y).at(-1);
    const revoked = await a.berth.app.inject({ method: 'DELETE', url: `/api/user/tokens/${doomedId}`, headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(revoked.statusCode, 204);

    assert.equal((await tags(b, basic('alice', doomed.token))).statusCode, 401);
    // Node B may have vouched for the token within the last second; it asks again after that.
    const refused = await eventually(() => tags(b, bearer), (res) => res.statusCode === 401);
    assert.equal(refused.statusCode, 401);
    assert.equal((await tags(b, basic('alice', alice.token))).statusCode, 200, 'the other token still works');
  });

  it('the same image pushed through both nodes at once is stored once, as one version', async (t) => {
    const [a, b] = await twoNodes(t);
    const alice = await a.user('alice');
    const auth = basic('alice', alice.token);
    const [fromA, fromB] = await Promise.all([
      pushLabelledImage(a.berth, 'alice/app', auth, { tag: 'v1', seed: 'same' }),
      pushLabelledImage(b.berth, 'alice/app', auth, { tag: 'v1', seed: 'same' }),
    ]);
    assert.equal(fromA.digest, fromB.digest);
    const versions = await b.berth.app.inject({ method: 'GET', url: '/api/user/packages/container/app/versions', headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(versions.statusCode, 200, versions.body);
    assert.deepEqual(
      versions.json().map((version: { name: string; metadata: { container: { tags: string[] } } }) => [version.name, version.metadata.container.tags]),
      [[fromA.digest, ['v1']]],
    );
  });

  it('refuses a PATCH through one node while the other node is writing to the same upload, and takes the next chunk once it is done', async (t) => {
    const [a, b] = await twoNodes(t);
    const alice = await a.user('alice');
    const auth = basic('alice', alice.token);
    const bytes = randomBytes(200_000);
    const started = await a.berth.app.inject({ method: 'POST', url: '/v2/alice/app/blobs/uploads/', headers: { authorization: auth } });
    const location = String(started.headers.location);
    const id = location.split('/').pop()!.split('?')[0]!;

    // Node A's PATCH is under way, its body still coming, once A holds the upload's lock.
    const body = new PassThrough();
    const writing = a.berth.app.inject({
      method: 'PATCH',
      url: location,
      headers: { authorization: auth, 'content-type': 'application/octet-stream', 'content-range': '0-99999' },
      payload: body,
    });
    body.write(bytes.subarray(0, 50_000));
    const key = advisoryLockKey(`upload:${id}`);
    const held = () =>
      sql<{ n: number }>`select count(*)::int as n from pg_locks where locktype = 'advisory' and granted
        and classid = ${Number(key >> 32n) >>> 0} and objid = ${Number(key & 0xffffffffn)}`.execute(a.berth.db);
    assert.equal((await eventually(held, (result) => result.rows[0]?.n === 1)).rows[0]?.n, 1, 'node A holds the lock');

    const refused = await b.berth.app.inject({
      method: 'PATCH',
      url: location,
      headers: { authorization: auth, 'content-type': 'application/octet-stream', 'content-range': '0-99999' },
      payload: bytes.subarray(0, 100_000),
    });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.equal(refused.json().errors[0].code, 'BLOB_UPLOAD_INVALID');

    body.end(bytes.subarray(50_000, 100_000));
    const written = await writing;
    assert.equal(written.statusCode, 202, written.body);
    assert.equal(written.headers.range, '0-99999');
    const next = await b.berth.app.inject({
      method: 'PATCH',
      url: location,
      headers: { authorization: auth, 'content-type': 'application/octet-stream', 'content-range': '100000-199999' },
      payload: bytes.subarray(100_000),
    });
    assert.equal(next.statusCode, 202, next.body);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const separator = location.includes('?') ? '&' : '?';
    const put = await b.berth.app.inject({ method: 'PUT', url: `${location}${separator}digest=${digest}`, headers: { authorization: auth } });
    assert.equal(put.statusCode, 201, put.body);
  });
});
