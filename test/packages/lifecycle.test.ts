import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { PackageService, restoreWindowMs } from '../../src/packages/package-service.js';
import { authApp, basic } from '../auth/helpers.js';
import { apiRequest } from '../support/api-request.js';
import { pushLabelledImage } from './helpers.js';

describe('package lifecycle: deletion, restore, purge, visibility rules', () => {
  it('DELETE /v2/<name>/manifests/<digest> deletes the version softly: GET versions?state=deleted lists it, POST versions/<id>/restore brings it back', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const image = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    const res = await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/app/manifests/${image.digest}`, headers: { authorization: auth } });
    assert.equal(res.statusCode, 202);
    const gone = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: auth } });
    assert.equal(gone.statusCode, 404);
    const api = (method: 'GET' | 'POST', url: string) => apiRequest(app, method, url, alice.token);
    const deleted = await api('GET', '/api/user/packages/container/app/versions?state=deleted');
    assert.equal(deleted.statusCode, 200, deleted.body);
    const versions = deleted.json() as Array<{ id: number; name: string; metadata: { container: { tags: string[] } } }>;
    assert.deepEqual(versions.map((v) => [v.name, v.metadata.container.tags]), [[image.digest, ['v1']]]);
    const restore = await api('POST', `/api/user/packages/container/app/versions/${versions[0]!.id}/restore`);
    assert.equal(restore.statusCode, 204, restore.body);
    const pulled = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: auth } });
    assert.equal(pulled.statusCode, 200);
    assert.equal(pulled.headers['docker-content-digest'], image.digest);
  });

  it('a manifest pushed again under a new tag stays one version; pushed again after its deletion it is a new one', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const image = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    assert.equal((await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v2' })).digest, image.digest);
    const pkg = await app.berth.packages.require('alice/app');
    const first = await app.berth.packages.versions(pkg, 'active', 30, 0);
    assert.deepEqual(first.items.map((v) => [v.digest, v.tags.sort()]), [[image.digest, ['v1', 'v2']]]);

    const res = await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/app/manifests/${image.digest}`, headers: { authorization: auth } });
    assert.equal(res.statusCode, 202);
    await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v3' });
    const active = await app.berth.packages.versions(pkg, 'active', 30, 0);
    const deleted = await app.berth.packages.versions(pkg, 'deleted', 30, 0);
    assert.deepEqual(active.items.map((v) => [v.digest, v.tags]), [[image.digest, ['v3']]]);
    assert.deepEqual(deleted.items.map((v) => v.id), [first.items[0]?.id]);
    assert.notEqual(active.items[0]?.id, first.items[0]?.id);
  });

  it('a deleted package name may be reused by a new push; the old one then cannot be restored (409)', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    const call = (method: 'DELETE' | 'POST', url: string) => apiRequest(app, method, url, alice.token);
    assert.equal((await call('DELETE', '/api/user/packages/container/app')).statusCode, 204);
    await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v2', seed: 'new' });
    const restore = await call('POST', '/api/user/packages/container/app/restore');
    assert.equal(restore.statusCode, 409);
    assert.match(restore.json().message, /in use by a new package/);
  });

  it('deleted packages and versions are purged after 30 days', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    await pushLabelledImage(app.berth, 'alice/gone', auth, { tag: 'v1' });
    const image = await pushLabelledImage(app.berth, 'alice/kept', auth, { tag: 'v1' });
    await pushLabelledImage(app.berth, 'alice/kept', auth, { tag: 'v2', seed: 'two' });
    await app.berth.packages.deletePackage(await app.berth.packages.require('alice/gone'));
    const kept = await app.berth.packages.require('alice/kept');
    const old = (await app.berth.packages.versions(kept, 'active', 30, 0)).items.find((v) => v.digest === image.digest);
    await app.berth.packages.deleteVersion(kept, old!.id);

    await app.berth.packages.purge();
    assert.ok(await app.berth.packages.get('alice/gone', { deleted: true }), 'kept within the window');
    const later = new PackageService(app.berth.db, app.berth.services.metadata, () => new Date(Date.now() + restoreWindowMs + 60_000));
    await later.purge();
    assert.equal(await app.berth.packages.get('alice/gone', { deleted: true }), undefined);
    assert.equal((await app.berth.packages.versions(kept, 'deleted', 30, 0)).total, 0);
    assert.equal((await app.berth.packages.versions(kept, 'active', 30, 0)).total, 1);
  });

  it('an organization limits the visibilities members choose, new packages start at the first allowed one; internal is for organizations only', async (t) => {
    const app = await authApp(t);
    const boss = await app.user('boss');
    const dev = await app.user('dev');
    const org = await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
    await app.berth.accounts.setOrgMember('acme', 'dev', 'member');
    await app.berth.packages.setOrgSettings(org.id, { membersCanCreate: true, visibilities: ['internal', 'public'] });
    await pushLabelledImage(app.berth, 'acme/app', basic('dev', dev.token), { tag: 'v1' });
    assert.equal((await app.berth.packages.require('acme/app')).visibility, 'internal');
    const patch = (token: string, url: string, visibility: string) =>
      app.berth.app.inject({ method: 'PATCH', url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify({ visibility }) });
    const refused = await patch(dev.token, '/api/orgs/acme/packages/container/app', 'private');
    assert.equal(refused.statusCode, 422);
    assert.match(refused.json().message, /lets members choose only internal, public/);
    assert.equal((await patch(boss.token, '/api/orgs/acme/packages/container/app', 'private')).statusCode, 200, 'owners are not limited');

    await pushLabelledImage(app.berth, 'boss/tool', basic('boss', boss.token), { tag: 'v1' });
    const internal = await patch(boss.token, '/api/user/packages/container/tool', 'internal');
    assert.equal(internal.statusCode, 422);
    assert.match(internal.json().message, /only organization packages can be internal/);
  });
});
