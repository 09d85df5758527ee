import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { aliceOwnsAcme, authApp, basic, publicUrl } from '../auth/helpers.js';
import { apiRequest } from '../support/api-request.js';
import { pushLabelledImage, pushMultiArch } from './helpers.js';

const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('REST API: GitHub-shaped package endpoints under /api', () => {
  it('GET /api/user/packages needs package_type=container, answers GitHub package objects field by field, pages with Link', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    await pushLabelledImage(app.berth, 'alice/app/release', auth, { tag: 'v1' });
    await pushLabelledImage(app.berth, 'alice/zeta', auth, { tag: 'v1' });

    assert.equal((await apiRequest(app, 'GET', '/api/user/packages', alice.token)).statusCode, 400);
    assert.equal((await apiRequest(app, 'GET', '/api/user/packages?package_type=npm', alice.token)).statusCode, 422);
    assert.equal((await apiRequest(app, 'GET', '/api/user/packages?package_type=container')).statusCode, 401);

    const res = await apiRequest(app, 'GET', '/api/user/packages?package_type=container', alice.token);
    assert.equal(res.statusCode, 200);
    const list = res.json() as Array<Record<string, unknown>>;
    assert.deepEqual(list.map((pkg) => pkg['name']), ['app', 'app/release', 'zeta']);
    const first = list[0] as Record<string, any>;
    assert.equal(typeof first['id'], 'number');
    assert.equal(first['package_type'], 'container');
    assert.deepEqual(first['owner'], { login: 'alice', id: alice.id, type: 'User', url: `${publicUrl}/api/users/alice` });
    assert.equal(first['version_count'], 1);
    assert.equal(first['visibility'], 'private');
    assert.equal(first['url'], `${publicUrl}/api/users/alice/packages/container/app`);
    assert.equal(first['html_url'], `${publicUrl}/users/alice/packages/container/package/app`);
    assert.match(first['created_at'], iso);
    assert.match(first['updated_at'], iso);
    assert.equal('repository' in first, false, 'no repository when not linked');
    assert.equal((list[1] as Record<string, unknown>)['url'], `${publicUrl}/api/users/alice/packages/container/app%2Frelease`);

    const paged = await apiRequest(app, 'GET', '/api/user/packages?package_type=container&per_page=1&page=2', alice.token);
    assert.deepEqual(paged.json().map((pkg: { name: string }) => pkg.name), ['app/release']);
    assert.equal(
      paged.headers['link'],
      [
        '</api/user/packages?package_type=container&per_page=1&page=3>; rel="next"',
        '</api/user/packages?package_type=container&per_page=1&page=3>; rel="last"',
        '</api/user/packages?package_type=container&per_page=1&page=1>; rel="first"',
        '</api/user/packages?package_type=container&per_page=1&page=1>; rel="prev"',
      ].join(', '),
    );

    const nested = await apiRequest(app, 'GET', '/api/users/alice/packages/container/app%2Frelease', alice.token);
    assert.equal(nested.statusCode, 200);
    assert.equal(nested.json().name, 'app/release');
  });

  it('private packages never show to others: 404 and absent from lists; public ones show to anyone, anonymous too', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1' });

    assert.deepEqual((await apiRequest(app, 'GET', '/api/users/alice/packages?package_type=container', bob.token)).json(), []);
    const hidden = await apiRequest(app, 'GET', '/api/users/alice/packages/container/app', bob.token);
    assert.equal(hidden.statusCode, 404);
    assert.equal(hidden.json().message, 'Package not found.');
    assert.equal((await apiRequest(app, 'GET', '/api/users/alice/packages/container/nothing', bob.token)).statusCode, 404);
    assert.equal((await apiRequest(app, 'DELETE', '/api/users/alice/packages/container/app', bob.token)).statusCode, 404);
    assert.equal((await apiRequest(app, 'PATCH', '/api/users/alice/packages/container/app', bob.token, { visibility: 'public' })).statusCode, 404);

    const made = await apiRequest(app, 'PATCH', '/api/users/alice/packages/container/app', alice.token, { visibility: 'public' });
    assert.equal(made.statusCode, 200);
    assert.equal(made.json().visibility, 'public');
    assert.deepEqual((await apiRequest(app, 'GET', '/api/users/alice/packages?package_type=container')).json().map((pkg: { name: string }) => pkg.name), ['app']);
    assert.equal((await apiRequest(app, 'GET', '/api/users/alice/packages?package_type=container&visibility=private', bob.token)).json().length, 0);
    const forbidden = await apiRequest(app, 'DELETE', '/api/users/alice/packages/container/app', bob.token);
    assert.equal(forbidden.statusCode, 403);
    assert.equal(forbidden.json().message, 'permission_denied: admin_package');

    const back = await apiRequest(app, 'PATCH', '/api/users/alice/packages/container/app', alice.token, { visibility: 'private' });
    assert.equal(back.statusCode, 422);
    assert.match(back.json().message, /public package cannot be made private/);
    const pull = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1' });
    assert.equal(pull.statusCode, 200, 'anonymous pull of a public package');
  });

  it('versions: list (30 a page, newest first, metadata.container.tags), get, 409 for a platform image of a tagged index unless force, restore', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const { amd, arm, index } = await pushMultiArch(app.berth, 'alice/multi', auth, { index: { tag: 'latest' } });
    const base = '/api/user/packages/container/multi';
    const versions = (await apiRequest(app, 'GET', `${base}/versions`, alice.token)).json() as Array<Record<string, any>>;
    assert.deepEqual(versions.map((v) => v['name']), [index.digest, arm.digest, amd.digest]);
    const top = versions[0] as Record<string, any>;
    assert.deepEqual(Object.keys(top).slice(0, 8), ['id', 'name', 'url', 'package_html_url', 'html_url', 'created_at', 'updated_at', 'metadata']);
    assert.equal(top['url'], `${publicUrl}/api/users/alice/packages/container/multi/versions/${top['id']}`);
    assert.equal(top['package_html_url'], `${publicUrl}/users/alice/packages/container/package/multi`);
    assert.equal(top['html_url'], `${publicUrl}/users/alice/packages/container/multi/${top['id']}`);
    assert.deepEqual(top['metadata'], { package_type: 'container', container: { tags: ['latest'] } });
    assert.equal('deleted_at' in top, false);
    assert.deepEqual((versions[1] as Record<string, any>)['metadata'].container.tags, []);

    const armId = (versions[1] as Record<string, any>)['id'];
    const refused = await apiRequest(app, 'DELETE', `${base}/versions/${armId}`, alice.token);
    assert.equal(refused.statusCode, 409);
    assert.match(refused.json().message, /part of the tagged index sha256:\w+ \(latest\)/);

    const indexId = top['id'];
    assert.equal((await apiRequest(app, 'DELETE', `${base}/versions/${indexId}`, alice.token)).statusCode, 204);
    assert.equal((await app.berth.app.inject({ method: 'HEAD', url: '/v2/alice/multi/manifests/latest', headers: { authorization: auth } })).statusCode, 404);
    const deleted = (await apiRequest(app, 'GET', `${base}/versions?state=deleted`, alice.token)).json() as Array<Record<string, any>>;
    assert.equal(deleted.length, 1);
    assert.match(deleted[0]?.['deleted_at'], iso);
    assert.deepEqual(deleted[0]?.['metadata'].container.tags, ['latest']);
    assert.equal((await apiRequest(app, 'DELETE', `${base}/versions/${armId}`, alice.token)).statusCode, 204, 'no tagged index lists it now');

    assert.equal((await apiRequest(app, 'POST', `${base}/versions/${armId}/restore`, alice.token)).statusCode, 204);
    assert.equal((await apiRequest(app, 'POST', `${base}/versions/${indexId}/restore`, alice.token)).statusCode, 204);
    const restored = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/multi/manifests/latest', headers: { authorization: auth } });
    assert.equal(restored.statusCode, 200);
    assert.equal(restored.headers['docker-content-digest'], index.digest);
    assert.equal((await apiRequest(app, 'GET', `${base}/versions/${indexId}`, alice.token)).json().metadata.container.tags[0], 'latest');

    const forced = await apiRequest(app, 'DELETE', `${base}/versions/${armId}?force=true`, alice.token);
    assert.equal(forced.statusCode, 204);
    const reader = await app.user('alice', ['read:packages']);
    const noScope = await apiRequest(app, 'DELETE', `${base}/versions/${indexId}`, reader.token);
    assert.equal(noScope.statusCode, 403);
    assert.equal(noScope.json().message, 'permission_denied: the token lacks the delete:packages scope');
  });

  it('DELETE a package hides it from pulls and lists; POST restore brings it back with its tags; versions page by 30', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    for (let i = 0; i < 32; i++) await pushLabelledImage(app.berth, 'alice/many', auth, { seed: String(i), tag: `t${i}` });
    const base = '/api/user/packages/container/many';
    const page1 = await apiRequest(app, 'GET', `${base}/versions`, alice.token);
    assert.equal(page1.json().length, 30);
    assert.match(page1.headers['link'] as string, /page=2&per_page=30>; rel="next"/);
    assert.equal((await apiRequest(app, 'GET', `${base}/versions?page=2`, alice.token)).json().length, 2);

    assert.equal((await apiRequest(app, 'DELETE', base, alice.token)).statusCode, 204);
    assert.equal((await apiRequest(app, 'GET', base, alice.token)).statusCode, 404);
    assert.equal((await app.berth.app.inject({ method: 'GET', url: '/v2/alice/many/manifests/t3', headers: { authorization: auth } })).statusCode, 404);
    assert.equal((await apiRequest(app, 'POST', `${base}/restore`, alice.token)).statusCode, 204);
    const pkg = await apiRequest(app, 'GET', base, alice.token);
    assert.equal(pkg.json().version_count, 32);
    assert.equal((await app.berth.app.inject({ method: 'GET', url: '/v2/alice/many/manifests/t3', headers: { authorization: auth } })).statusCode, 200);
  });

  it('roles: grant, list, revoke; only organization members on private org packages; teams only for org packages', async (t) => {
    const { app, alice, bob, carol } = await aliceOwnsAcme(t);
    await app.berth.accounts.createTeam('acme', parseAccountName('devs'));
    await pushLabelledImage(app.berth, 'acme/app', basic('alice', alice.token), { tag: 'v1' });
    const base = '/api/orgs/acme/packages/container/app';

    const outsider = await apiRequest(app, 'PUT', `${base}/roles`, alice.token, { user: 'carol', role: 'read' });
    assert.equal(outsider.statusCode, 422);
    assert.match(outsider.json().message, /not a member of acme/);
    assert.equal((await apiRequest(app, 'PUT', `${base}/roles`, alice.token, { user: 'bob', role: 'write' })).statusCode, 200);
    assert.equal((await apiRequest(app, 'PUT', `${base}/roles`, alice.token, { team: 'devs', role: 'read' })).statusCode, 200);
    assert.deepEqual(
      (await apiRequest(app, 'GET', `${base}/roles`, alice.token)).json().map((r: { type: string; name: string; role: string }) => `${r.type}:${r.name}:${r.role}`),
      ['User:alice:admin', 'User:bob:write', 'Team:devs:read'],
    );
    assert.equal((await apiRequest(app, 'GET', base, bob.token)).statusCode, 200);
    assert.equal((await apiRequest(app, 'GET', base, carol.token)).statusCode, 404);
    assert.equal((await apiRequest(app, 'DELETE', `${base}/roles?user=bob`, alice.token)).statusCode, 204);
    assert.equal((await apiRequest(app, 'GET', base, bob.token)).statusCode, 404);
  });
});
