import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWellFormedToken } from '../../src/auth/personal-access-token-format.js';
import { authApp, basic } from './helpers.js';

describe('account API', () => {
  it('GET /api/user with Bearer PAT answers the signed-in user; without credentials 401', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice', ['read:packages']);
    const res = await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().login, 'alice');
    assert.equal(res.json().site_admin, false);
    const anonymous = await app.berth.app.inject({ method: 'GET', url: '/api/user' });
    assert.equal(anonymous.statusCode, 401);
    const admin = await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: basic('root', 'correct-horse-battery-staple-42') } });
    assert.equal(admin.json().site_admin, true);
  });

  it('POST, GET and DELETE /api/user/tokens create, list and revoke tokens', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    const password = basic('alice', 'alice-password');
    const created = await app.berth.app.inject({
      method: 'POST',
      url: '/api/user/tokens',
      headers: { authorization: password, 'content-type': 'application/json' },
      payload: { scopes: ['read:packages', 'write:packages'], note: 'ci', expires_in: '30d' },
    });
    assert.equal(created.statusCode, 201);
    const token = created.json().token as string;
    assert.ok(isWellFormedToken(token));
    assert.deepEqual(created.json().scopes, ['read:packages', 'write:packages']);

    const list = await app.berth.app.inject({ method: 'GET', url: '/api/user/tokens', headers: { authorization: `Bearer ${token}` } });
    assert.equal(list.statusCode, 200);
    assert.equal(list.json().length, 2);
    assert.ok(!list.body.includes(token), 'lists never show the token');

    // A token may not mint a token with more scopes than it has.
    const escalate = await app.berth.app.inject({
      method: 'POST',
      url: '/api/user/tokens',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: { scopes: ['delete:packages'] },
    });
    assert.equal(escalate.statusCode, 403);
    const badScope = await app.berth.app.inject({
      method: 'POST',
      url: '/api/user/tokens',
      headers: { authorization: password, 'content-type': 'application/json' },
      payload: { scopes: ['admin:everything'] },
    });
    assert.equal(badScope.statusCode, 422);

    const revoke = await app.berth.app.inject({ method: 'DELETE', url: `/api/user/tokens/${created.json().id}`, headers: { authorization: password } });
    assert.equal(revoke.statusCode, 204);
    const after = await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: `Bearer ${token}` } });
    assert.equal(after.statusCode, 401);
    const again = await app.berth.app.inject({ method: 'DELETE', url: `/api/user/tokens/${created.json().id}`, headers: { authorization: password } });
    assert.equal(again.statusCode, 404);
  });

  it('POST /api/user/tokens answers 400 for a body that is not a JSON object and 413 for one over 64 KiB', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    const headers = { authorization: basic('alice', 'alice-password'), 'content-type': 'application/json' };
    const notObject = await app.berth.app.inject({ method: 'POST', url: '/api/user/tokens', headers, payload: '["read:packages"]' });
    assert.equal(notObject.statusCode, 400);
    assert.match(notObject.json().message, /JSON object/);
    const huge = JSON.stringify({ scopes: ['read:packages'], note: 'x'.repeat(100 * 1024) });
    const tooLarge = await app.berth.app.inject({ method: 'POST', url: '/api/user/tokens', headers, payload: huge });
    assert.equal(tooLarge.statusCode, 413);
    assert.match(tooLarge.json().message, /larger than 65536 bytes/);
  });

  it('POST /api/user/tokens answers 422 with a message for an expires_in of zero, over a year or past any date; up to a year is accepted', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    const headers = { authorization: basic('alice', 'alice-password'), 'content-type': 'application/json' };
    const create = (expiresIn: unknown) =>
      app.berth.app.inject({ method: 'POST', url: '/api/user/tokens', headers, payload: { scopes: ['read:packages'], expires_in: expiresIn } });
    for (const expiresIn of ['0s', '0d', '999ms', '366d', '99999999999d', '9'.repeat(400) + 'd', 'never', -5, 0]) {
      const res = await create(expiresIn);
      assert.equal(res.statusCode, 422, `expires_in ${JSON.stringify(expiresIn).slice(0, 20)}: ${res.body}`);
      assert.match(res.json().message, /^expires_in must be /);
    }
    const list = await app.berth.app.inject({ method: 'GET', url: '/api/user/tokens', headers });
    assert.equal(list.json().length, 1, 'no token was created by a refused request');

    const longest = await create('365d');
    assert.equal(longest.statusCode, 201);
    const lifetime = Date.parse(longest.json().expires_at) - Date.now();
    assert.ok(lifetime > 364 * 86_400_000 && lifetime <= 365 * 86_400_000, `expires_at ${longest.json().expires_at}`);
    assert.equal((await create('1s')).statusCode, 201);
  });
});
