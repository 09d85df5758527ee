import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { PackageService, restoreWindowMs } from '../../src/packages/package-service.js';
import { type AuthApp, authApp, basic, jwtPayload, pushImage } from '../auth/helpers.js';

/** An organization `acme` (owner boss, member mallory without a role) with a private package `acme/secret`. */
async function orgWithPrivatePackage(t: Parameters<typeof authApp>[0]) {
  const app = await authApp(t);
  const boss = await app.user('boss');
  const mallory = await app.user('mallory');
  await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
  await app.berth.accounts.setOrgMember('acme', 'mallory', 'member');
  const image = await pushImage(app.berth, 'acme/secret', basic('boss', boss.token));
  const repo = await app.berth.sourceRepositories.create('acme/widget');
  const { token: repositoryToken } = await app.berth.repositoryTokens.create(repo.id, 60 * 60 * 1000);
  return { app, boss, mallory, image, repositoryToken };
}

function call(app: AuthApp, method: 'GET' | 'HEAD' | 'POST' | 'DELETE', url: string, authorization: string) {
  return app.berth.app.inject({ method, url, headers: { authorization } });
}

/** Everything a caller without a role on acme/secret tries, and the answers that say nothing. */
async function assertClosed(app: AuthApp, auth: string, image: { layerDigest: string; manifestDigest: string }, who: string): Promise<void> {
  for (const method of ['GET', 'HEAD'] as const) {
    const blob = await call(app, method, `/v2/acme/secret/blobs/${image.layerDigest}`, auth);
    assert.equal(blob.statusCode, 404, `${who}: ${method} blob`);
    if (method === 'GET') assert.equal(blob.json().errors[0].code, 'NAME_UNKNOWN');
    const manifest = await call(app, method, `/v2/acme/secret/manifests/${image.manifestDigest}`, auth);
    assert.equal(manifest.statusCode, 404, `${who}: ${method} manifest`);
    if (method === 'GET') assert.equal(manifest.json().errors[0].code, 'NAME_UNKNOWN');
  }
  const mount = await call(app, 'POST', `/v2/acme/mine/blobs/uploads/?mount=${image.layerDigest}&from=acme/secret`, auth);
  assert.equal(mount.statusCode, 202, `${who}: a mount from acme/secret becomes an upload`);
  const del = await call(app, 'DELETE', `/v2/acme/secret/blobs/${image.layerDigest}`, auth);
  assert.equal(del.statusCode, 403, `${who}: DELETE blob`);
  assert.equal(del.json().errors[0].message, 'permission_denied: delete_package');
  const push = await call(app, 'POST', '/v2/acme/secret/blobs/uploads/', auth);
  assert.equal(push.statusCode, 403, `${who}: push`);
  assert.equal(push.json().errors[0].message, 'permission_denied: write_package');
  const token = await call(app, 'GET', `/token?scope=${encodeURIComponent('repository:acme/secret:pull,push,delete')}`, auth);
  assert.deepEqual(jwtPayload(token.json().token).access, [{ type: 'repository', name: 'acme/secret', actions: [] }], `${who}: registry token`);
}

describe('a deleted package stays as closed as it was until it is restored or purged', () => {
  it('after DELETE /api/orgs/acme/packages/container/secret a member without a role and a repository token get 404 NAME_UNKNOWN, 403 DENIED; the admin restores it', async (t) => {
    const { app, boss, mallory, image, repositoryToken } = await orgWithPrivatePackage(t);
    const bossAuth = basic('boss', boss.token);
    await assertClosed(app, basic('mallory', mallory.token), image, 'member before the deletion');

    const deleted = await app.berth.app.inject({ method: 'DELETE', url: '/api/orgs/acme/packages/container/secret', headers: { authorization: `Bearer ${boss.token}` } });
    assert.equal(deleted.statusCode, 204);
    await assertClosed(app, basic('mallory', mallory.token), image, 'member');
    await assertClosed(app, basic('ci', repositoryToken), image, 'repository token');
    // The admin keeps the access they had: the blobs are still theirs to read.
    assert.equal((await call(app, 'GET', `/v2/acme/secret/blobs/${image.layerDigest}`, bossAuth)).statusCode, 200);

    const restored = await app.berth.app.inject({ method: 'POST', url: '/api/orgs/acme/packages/container/secret/restore', headers: { authorization: `Bearer ${boss.token}` } });
    assert.equal(restored.statusCode, 204);
    assert.equal((await call(app, 'GET', '/v2/acme/secret/manifests/latest', bossAuth)).statusCode, 200);
    assert.equal((await call(app, 'GET', `/v2/acme/secret/blobs/${image.layerDigest}`, bossAuth)).statusCode, 200);
    await assertClosed(app, basic('mallory', mallory.token), image, 'member after the restore');
  });

  it('a purged package leaves no blobs behind: the name is free, and a member who takes it finds BLOB_UNKNOWN', async (t) => {
    const { app, boss, mallory, image } = await orgWithPrivatePackage(t);
    const deleted = await app.berth.app.inject({ method: 'DELETE', url: '/api/orgs/acme/packages/container/secret', headers: { authorization: `Bearer ${boss.token}` } });
    assert.equal(deleted.statusCode, 204);
    const later = new PackageService(app.berth.db, app.berth.services.metadata, () => new Date(Date.now() + restoreWindowMs + 60_000));
    await later.purge();
    const auth = basic('mallory', mallory.token);
    const blob = await call(app, 'GET', `/v2/acme/secret/blobs/${image.layerDigest}`, auth);
    assert.equal(blob.statusCode, 404);
    assert.equal(blob.json().errors[0].code, 'BLOB_UNKNOWN');
    const mount = await call(app, 'POST', `/v2/acme/mine/blobs/uploads/?mount=${image.layerDigest}&from=acme/secret`, auth);
    assert.equal(mount.statusCode, 202);
    // The name is free again: the member may create a package there.
    await pushImage(app.berth, 'acme/secret', auth, 'a new layer');
  });
});
