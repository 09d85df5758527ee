import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminPassword, authApp, basic, pushImage } from './helpers.js';

describe('failed sign-ins and secrets', () => {
  it('GET /token after too many failures answers 429 TOOMANYREQUESTS with Retry-After, even with a good token', async (t) => {
    const app = await authApp(t, { authFailureLimit: '3', authFailureWindow: '10m' });
    const alice = await app.user('alice');
    for (let i = 0; i < 3; i += 1) {
      const res = await app.berth.app.inject({ method: 'GET', url: '/token', headers: { authorization: basic('alice', `berth_pat_guess${i}`) } });
      assert.equal(res.statusCode, 401);
    }
    const blocked = await app.berth.app.inject({ method: 'GET', url: '/token', headers: { authorization: basic('alice', alice.token) } });
    assert.equal(blocked.statusCode, 429);
    assert.equal(blocked.json().errors[0].code, 'TOOMANYREQUESTS');
    const retryAfter = Number(blocked.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 600, `Retry-After ${retryAfter}`);
    // Basic on /v2 goes through the same limiter (per client address here).
    const v2 = await app.berth.app.inject({ method: 'GET', url: '/v2/', headers: { authorization: basic('bob', 'berth_pat_x') } });
    assert.equal(v2.statusCode, 429);
    assert.ok(v2.headers['retry-after']);
  });

  it('failures are counted per user name across client addresses', async (t) => {
    const app = await authApp(t, { authFailureLimit: '2' });
    await app.user('alice');
    for (const address of ['10.0.0.1', '10.0.0.2']) {
      const res = await app.berth.app.inject({ method: 'GET', url: '/token', remoteAddress: address, headers: { authorization: basic('alice', 'wrong') } });
      assert.equal(res.statusCode, 401);
    }
    const res = await app.berth.app.inject({ method: 'GET', url: '/token', remoteAddress: '10.0.0.3', headers: { authorization: basic('alice', 'wrong') } });
    assert.equal(res.statusCode, 429);
    const other = await app.berth.app.inject({ method: 'GET', url: '/token', remoteAddress: '10.0.0.3', headers: { authorization: basic('bob', 'wrong') } });
    assert.equal(other.statusCode, 401);
  });

  it('no password, PAT or registry token appears in the log', async (t) => {
    const app = await authApp(t, { logLevel: 'trace' });
    const alice = await app.user('alice');
    const secrets = [adminPassword, 'alice-password', alice.token];
    await pushImage(app.berth, 'alice/app', basic('alice', alice.token));
    const tokenRes = await app.berth.app.inject({ method: 'GET', url: '/token?scope=repository:alice/app:pull', headers: { authorization: basic('alice', alice.token) } });
    const registryToken = tokenRes.json().token as string;
    secrets.push(registryToken);
    await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/tags/list', headers: { authorization: `Bearer ${registryToken}` } });
    await app.berth.app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'password', username: 'alice', password: alice.token }).toString(),
    });
    await app.berth.app.inject({ method: 'GET', url: '/token', headers: { authorization: basic('root', adminPassword) } });
    await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: basic('alice', 'alice-password') } });
    const created = await app.berth.app.inject({
      method: 'POST',
      url: '/api/user/tokens',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      payload: { scopes: ['read:packages'] },
    });
    secrets.push(created.json().token);
    const logs = app.logs();
    assert.ok(logs.includes('"route":"manifest_put"'), 'the log was captured');
    for (const secret of secrets) assert.ok(!logs.includes(secret), `a secret leaked into the log: ${secret.slice(0, 12)}...`);
  });
});
