import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aliceOwnsAcme, authApp, basic, sha256 } from '../auth/helpers.js';
import { imageManifest, pushBlob } from '../support/berth-pushes.js';

/**
 * Who may create a package by pushing to a name that has none (`PackageAccess.mayCreate`): the
 * user in their own namespace, an organization's owners, and its members unless it keeps
 * creation to owners. Everyone else is refused before anything is stored.
 */
describe('creating a package by the first push', () => {
  const startUpload = (app: Awaited<ReturnType<typeof authApp>>, name: string, user: string, token: string) =>
    app.berth.app.inject({ method: 'POST', url: `/v2/${name}/blobs/uploads/`, headers: { authorization: basic(user, token), 'content-length': '0' } });

  it('is refused in another user’s namespace, and allowed in one’s own', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    const refused = await startUpload(app, 'alice/new', 'bob', bob.token);
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().errors[0].code, 'DENIED');
    assert.equal(await app.berth.packages.get('alice/new'), undefined);
    assert.equal((await startUpload(app, 'alice/new', 'alice', alice.token)).statusCode, 202);
    const token = await app.berth.app.inject({ method: 'GET', url: `/token?scope=${encodeURIComponent('repository:alice/other:pull,push')}`, headers: { authorization: basic('bob', bob.token) } });
    assert.deepEqual(token.json().access ?? [], [], 'the token endpoint grants bob nothing there either');
  });

  it('in an organization: owners always, members only while it lets them, outsiders never', async (t) => {
    const { app, alice, bob, carol, org } = await aliceOwnsAcme(t);
    assert.equal((await startUpload(app, 'acme/by-member', 'bob', bob.token)).statusCode, 202, 'members may by default');
    assert.equal((await startUpload(app, 'acme/by-outsider', 'carol', carol.token)).statusCode, 403);
    await app.berth.packages.setOrgSettings(org.id, { membersCanCreate: false, visibilities: ['private'] });
    assert.equal((await startUpload(app, 'acme/by-member-2', 'bob', bob.token)).statusCode, 403);
    assert.equal((await startUpload(app, 'acme/by-owner', 'alice', alice.token)).statusCode, 202, 'owners may still');
  });
  it('a first push refused for a blob the repository lacks creates no package and records no publish', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const authorization = basic('alice', alice.token);
    const config = await pushBlob(app.berth, 'alice/new', authorization, '{"config":"lacking a layer"}');
    const res = await app.berth.app.inject({
      method: 'PUT',
      url: '/v2/alice/new/manifests/v1',
      headers: { authorization, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      payload: JSON.stringify(imageManifest(config, { digest: sha256('never pushed'), size: 12 })),
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
    assert.equal(await app.berth.packages.get('alice/new'), undefined);
    const publishes = await app.berth.db.selectFrom('audit_log').select('action').where('action', '=', 'package.publish').execute();
    assert.deepEqual(publishes, []);
  });
});
