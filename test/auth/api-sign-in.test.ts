import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminPassword, authApp } from './helpers.js';

/** One route of each `/api` family: the account, the packages, the source repositories. */
const routes = ['/api/user', '/api/user/packages?package_type=container', '/api/repos/alice/app/tokens'];

describe('/api sign-in: one answer on every route', () => {
  it('answers a missing, a foreign-scheme and a wrong credential alike on every /api family, and a right one with 200', async (t) => {
    const app = await authApp(t, { authFailureLimit: '100' });
    const alice = await app.user('alice');
    const call = (url: string, authorization?: string) =>
      app.berth.app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });

    for (const url of routes) {
      for (const [authorization, message] of [
        [undefined, 'Requires authentication'],
        ['Digest username="alice"', 'Requires authentication'],
        ['Bearer berth_pat_wrong', 'Bad credentials'],
        ['token berth_pat_wrong', 'Bad credentials'],
      ] as const) {
        const res = await call(url, authorization);
        assert.equal(res.statusCode, 401, `${url} ${authorization}: ${res.body}`);
        assert.equal(res.json().message, message, `${url} ${authorization}`);
        assert.match(String(res.headers['www-authenticate']), /^Bearer realm="berth"/, `${url} ${authorization}`);
      }
    }
    assert.equal((await call('/api/user', `Bearer ${alice.token}`)).statusCode, 200);
    assert.equal((await call('/api/user', `token ${alice.token}`)).statusCode, 200);
    assert.equal((await call('/api/user/packages?package_type=container', `Bearer ${alice.token}`)).statusCode, 200);
  });

  it('takes Basic with the password only on the account routes', async (t) => {
    const app = await authApp(t);
    const admin = `Basic ${Buffer.from(`root:${adminPassword}`).toString('base64')}`;
    const user = await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: admin } });
    assert.equal(user.statusCode, 200, user.body);
    const packages = await app.berth.app.inject({ method: 'GET', url: '/api/user/packages?package_type=container', headers: { authorization: admin } });
    assert.equal(packages.statusCode, 401);
    assert.equal(packages.json().message, 'Requires authentication');
  });

  it('answers 429 with Retry-After on every /api family once an address failed too often', async (t) => {
    const app = await authApp(t, { authFailureLimit: '2', authFailureWindow: '10m' });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const res = await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: 'Bearer berth_pat_wrong' } });
      assert.equal(res.statusCode, 401);
    }
    for (const url of routes) {
      const res = await app.berth.app.inject({ method: 'GET', url, headers: { authorization: 'Bearer berth_pat_wrong' } });
      assert.equal(res.statusCode, 429, `${url}: ${res.body}`);
      assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/, url);
    }
  });
});
