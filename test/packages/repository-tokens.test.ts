import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { authApp, basic, jwtPayload } from '../auth/helpers.js';
import { pushLabelledImage } from './helpers.js';

describe('repository tokens: the analogue of a workflow token', () => {
  it('creates packages in the owner namespace linked to the repository, pushes, pulls, deletes and restores them; anything else is DENIED naming the permission', async (t) => {
    const app = await authApp(t);
    const boss = await app.user('boss');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
    await app.berth.sourceRepositories.create('acme/widget');
    await pushLabelledImage(app.berth, 'acme/unlisted', basic('boss', boss.token), { tag: 'v1' });

    const minted = await app.berth.app.inject({
      method: 'POST',
      url: '/api/repos/acme/widget/tokens',
      headers: { authorization: `Bearer ${boss.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ expires_in: '1h' }),
    });
    assert.equal(minted.statusCode, 201);
    const token = minted.json().token as string;
    assert.match(token, /^berth_rpt_/);
    const auth = basic('ci', token);

    const image = await pushLabelledImage(app.berth, 'acme/built', auth, { tag: 'v1' });
    const pkg = await app.berth.packages.require('acme/built');
    assert.equal(pkg.source?.name, 'widget');
    assert.equal(pkg.inheritAccess, true);
    assert.deepEqual(await app.berth.packages.roles(pkg), [], 'no user became admin');
    const pulled = await app.berth.app.inject({ method: 'GET', url: '/v2/acme/built/manifests/v1', headers: { authorization: auth } });
    assert.equal(pulled.statusCode, 200);

    // The organization's package list shows the token the packages its repository may read.
    const listed = await app.berth.app.inject({ method: 'GET', url: '/api/orgs/acme/packages?package_type=container', headers: { authorization: `Bearer ${token}` } });
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(listed.json().map((item: { name: string }) => item.name), ['built']);

    const base = '/api/orgs/acme/packages/container/built';
    const versions = await app.berth.app.inject({ method: 'GET', url: `${base}/versions`, headers: { authorization: `Bearer ${token}` } });
    assert.equal(versions.statusCode, 200);
    const id = versions.json()[0].id as number;
    assert.equal(versions.json()[0].name, image.digest);
    assert.equal((await app.berth.app.inject({ method: 'DELETE', url: `${base}/versions/${id}`, headers: { authorization: `Bearer ${token}` } })).statusCode, 204);
    assert.equal((await app.berth.app.inject({ method: 'POST', url: `${base}/versions/${id}/restore`, headers: { authorization: `Bearer ${token}` } })).statusCode, 204);

    const settings = await app.berth.app.inject({
      method: 'PATCH',
      url: base,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ visibility: 'public' }),
    });
    assert.equal(settings.statusCode, 403);
    assert.equal(settings.json().message, 'permission_denied: repository tokens cannot change package settings or access');

    const unlisted = await app.berth.app.inject({ method: 'POST', url: '/v2/acme/unlisted/blobs/uploads/', headers: { authorization: auth } });
    assert.equal(unlisted.statusCode, 403);
    assert.equal(unlisted.json().errors[0].code, 'DENIED');
    assert.equal(unlisted.json().errors[0].message, 'permission_denied: write_package');
    const elsewhere = await app.berth.app.inject({ method: 'POST', url: '/v2/boss/app/blobs/uploads/', headers: { authorization: auth } });
    assert.equal(elsewhere.statusCode, 403);
    assert.equal(elsewhere.json().errors[0].message, 'permission_denied: write_package');
    const del = await app.berth.app.inject({ method: 'DELETE', url: `/v2/acme/unlisted/manifests/v1`, headers: { authorization: auth } });
    assert.equal(del.json().errors[0].message, 'permission_denied: delete_package');
    assert.equal((await app.berth.app.inject({ method: 'HEAD', url: '/v2/acme/unlisted/manifests/v1', headers: { authorization: auth } })).statusCode, 404);

    // The Docker token flow with the repository token as the password.
    const tokenRes = await app.berth.app.inject({
      method: 'GET',
      url: `/token?scope=${encodeURIComponent('repository:acme/built:pull,push,delete repository:acme/unlisted:pull,push')}`,
      headers: { authorization: auth },
    });
    assert.equal(tokenRes.statusCode, 200);
    const claims = jwtPayload(tokenRes.json().token);
    assert.equal(claims['sub'], 'repository:acme/widget');
    assert.deepEqual(claims.access.map((entry) => entry.actions), [['pull', 'push', 'delete'], []]);
    const viaBearer = await app.berth.app.inject({ method: 'POST', url: '/v2/acme/unlisted/blobs/uploads/', headers: { authorization: `Bearer ${tokenRes.json().token}` } });
    assert.equal(viaBearer.statusCode, 403);
    assert.equal(viaBearer.json().errors[0].message, 'permission_denied: write_package');

    // Listed in another package's repository access list, the token may use that package too.
    const unlistedPkg = await app.berth.packages.require('acme/unlisted');
    const widget = await app.berth.sourceRepositories.require('acme/widget');
    await app.berth.sourceRepositories.setAccess(unlistedPkg.id, widget, 'write');
    assert.equal((await app.berth.app.inject({ method: 'POST', url: '/v2/acme/unlisted/blobs/uploads/', headers: { authorization: auth } })).statusCode, 202);
  });

  it('an expired repository token is refused with 401', async (t) => {
    const app = await authApp(t);
    await app.user('boss');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
    const repo = await app.berth.sourceRepositories.create('acme/widget');
    const { token } = await app.berth.repositoryTokens.create(repo.id, 1000, new Date(Date.now() - 5000));
    const res = await app.berth.app.inject({ method: 'POST', url: '/v2/acme/app/blobs/uploads/', headers: { authorization: basic('ci', token) } });
    assert.equal(res.statusCode, 401);
  });
});
