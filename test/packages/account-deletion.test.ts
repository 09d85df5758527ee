import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { type AuthApp, authApp, basic, berthCli, pushImage } from '../auth/helpers.js';
import { pushBlob } from './helpers.js';

/** What the new holder of a reused name may see of the old account's images: nothing. */
async function assertNothingLeft(app: AuthApp, namespace: string, auth: string, old: { layerDigest: string; manifestDigest: string; stashed: string }): Promise<void> {
  const get = (method: 'GET' | 'HEAD', url: string) => app.berth.app.inject({ method, url, headers: { authorization: auth } });
  for (const reference of ['latest', old.manifestDigest]) {
    const res = await get('GET', `/v2/${namespace}/app/manifests/${reference}`);
    assert.equal(res.statusCode, 404, `GET manifest ${reference}`);
    assert.equal(res.json().errors[0].code, 'NAME_UNKNOWN');
    assert.equal((await get('HEAD', `/v2/${namespace}/app/manifests/${reference}`)).statusCode, 404);
  }
  const tags = await get('GET', `/v2/${namespace}/app/tags/list`);
  assert.equal(tags.statusCode, 404);
  assert.equal(tags.json().errors[0].code, 'NAME_UNKNOWN');
  for (const [repo, digest] of [
    ['app', old.layerDigest],
    ['stash', old.stashed],
  ]) {
    const blob = await get('GET', `/v2/${namespace}/${repo}/blobs/${digest}`);
    assert.equal(blob.statusCode, 404, `GET blob of ${repo}`);
    assert.equal(blob.json().errors[0].code, 'BLOB_UNKNOWN');
    assert.equal((await get('HEAD', `/v2/${namespace}/${repo}/blobs/${digest}`)).statusCode, 404);
  }
  // A mount from the old repository finds nothing to mount: a plain upload starts.
  const mount = await app.berth.app.inject({ method: 'POST', url: `/v2/${namespace}/other/blobs/uploads/?mount=${old.layerDigest}&from=${namespace}/app`, headers: { authorization: auth } });
  assert.equal(mount.statusCode, 202);
  const catalog = await get('GET', '/v2/_catalog');
  assert.deepEqual(catalog.json().repositories.filter((name: string) => name.startsWith(`${namespace}/`)), []);

  // The name starts empty, and works: a push to the same repository stores only the new image.
  const fresh = await pushImage(app.berth, `${namespace}/app`, auth, 'a new layer');
  const listed = await get('GET', `/v2/${namespace}/app/tags/list`);
  assert.deepEqual(listed.json().tags, ['latest']);
  assert.equal((await get('GET', `/v2/${namespace}/app/manifests/latest`)).headers['docker-content-digest'], fresh.manifestDigest);
  assert.equal((await get('GET', `/v2/${namespace}/app/blobs/${old.layerDigest}`)).statusCode, 404);
}

describe('deleting an account deletes its images: a name reused later starts empty', () => {
  it('berth user delete, then a new user of the same name: GET manifest/tags 404 NAME_UNKNOWN, GET/HEAD blob 404 BLOB_UNKNOWN', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const old = await pushImage(app.berth, 'alice/app', basic('alice', alice.token));
    const stashed = await pushBlob(app.berth, 'alice/stash', basic('alice', alice.token), 'uploaded, never in a manifest');
    const versions = await app.berth.app.inject({ method: 'GET', url: '/api/user/packages?package_type=container', headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(versions.json().length, 1);

    await berthCli(app.dataDir, ['user', 'delete', 'alice']);
    const again = await app.user('alice');
    assert.notEqual(again.id, alice.id);
    const packages = await app.berth.app.inject({ method: 'GET', url: '/api/user/packages?package_type=container', headers: { authorization: `Bearer ${again.token}` } });
    assert.deepEqual(packages.json(), []);
    await assertNothingLeft(app, 'alice', basic('alice', again.token), { ...old, stashed: stashed.digest });
  });

  it('the same in-process (AccountService.deleteUser), where the registry may hold the repositories in memory', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const old = await pushImage(app.berth, 'alice/app', basic('alice', alice.token));
    const stashed = await pushBlob(app.berth, 'alice/stash', basic('alice', alice.token), 'stashed');
    await app.berth.accounts.deleteUser('alice');
    const again = await app.user('alice');
    await assertNothingLeft(app, 'alice', basic('alice', again.token), { ...old, stashed: stashed.digest });
  });

  it('berth org delete, then a new organization of the same name: its owner reads none of the old images', async (t) => {
    const app = await authApp(t);
    const boss = await app.user('boss');
    const eve = await app.user('eve');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
    const old = await pushImage(app.berth, 'acme/app', basic('boss', boss.token));
    const stashed = await pushBlob(app.berth, 'acme/stash', basic('boss', boss.token), 'acme stash');
    const repo = await app.berth.sourceRepositories.create('acme/widget');
    const { token: repositoryToken } = await app.berth.repositoryTokens.create(repo.id, 60_000);

    await berthCli(app.dataDir, ['org', 'delete', 'acme']);
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'eve');
    await assertNothingLeft(app, 'acme', basic('eve', eve.token), { ...old, stashed: stashed.digest });
    // The old organization's repository tokens went with it.
    const res = await app.berth.app.inject({ method: 'GET', url: `/v2/acme/app/manifests/latest`, headers: { authorization: basic('ci', repositoryToken) } });
    assert.equal(res.statusCode, 401);
  });
});
