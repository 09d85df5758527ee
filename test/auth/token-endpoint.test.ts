import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AuthApp, authApp, basic, jwtPayload, publicUrl, registryToken } from './helpers.js';

/** `POST /token` with an OAuth2 form body, as containerd asks for a token. */
function postTokenForm(app: AuthApp, form: string) {
  return app.berth.app.inject({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form });
}

describe('token service', () => {
  it('GET /token without credentials answers 200 with an anonymous token and no refresh_token', async (t) => {
    const { berth } = await authApp(t);
    const res = await berth.app.inject({ method: 'GET', url: '/token?service=registry.test:5000&scope=repository:root/app:pull' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'issued_at', 'token']);
    assert.equal(body.token, body.access_token);
    assert.equal(body.expires_in, 300);
    assert.ok(!Number.isNaN(Date.parse(body.issued_at)));
    const claims = jwtPayload(body.token);
    assert.equal(claims['sub'], '');
    assert.equal(claims['aud'], 'registry.test:5000');
    assert.equal(claims['iss'], publicUrl);
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'root/app', actions: [] }]);
  });

  it('GET /token with Basic user:PAT (login: no scope, docker extras) answers 200', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const res = await app.berth.app.inject({
      method: 'GET',
      url: '/token?account=alice&client_id=docker&offline_token=true&service=registry.test:5000',
      headers: { authorization: basic('alice', alice.token) },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(jwtPayload(res.json().token)['sub'], 'alice');
    assert.equal(res.json().refresh_token, undefined);
    // The token then opens the API root, as `docker login` checks.
    const base = await app.berth.app.inject({ method: 'GET', url: '/v2/', headers: { authorization: `Bearer ${res.json().token}` } });
    assert.equal(base.statusCode, 200);
  });

  it('GET /token merges repeated and space-separated scopes; unknown repositories get empty actions', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const res = await app.berth.app.inject({
      method: 'GET',
      url:
        '/token?service=registry.test:5000' +
        `&scope=${encodeURIComponent('repository:alice/app:pull repository:alice/app:push')}` +
        `&scope=${encodeURIComponent('repository:someone/else:pull,push')}` +
        `&scope=${encodeURIComponent('repository:Not_Valid:pull')}`,
      headers: { authorization: basic('alice', alice.token) },
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(jwtPayload(res.json().token).access, [
      { type: 'repository', name: 'alice/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'someone/else', actions: [] },
      { type: 'repository', name: 'Not_Valid', actions: [] },
    ]);
  });

  it('GET /token with a wrong token answers 401 UNAUTHORIZED', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    const res = await app.berth.app.inject({ method: 'GET', url: '/token', headers: { authorization: basic('alice', 'berth_pat_nope') } });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().errors[0].code, 'UNAUTHORIZED');
    assert.ok(res.headers['www-authenticate']);
  });

  it('GET /token with the password instead of a PAT answers 401 (registry clients use tokens)', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    const res = await app.berth.app.inject({ method: 'GET', url: '/token', headers: { authorization: basic('alice', 'alice-password') } });
    assert.equal(res.statusCode, 401);
  });

  it("GET /token with another user's PAT answers 401", async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await app.user('bob');
    const res = await app.berth.app.inject({ method: 'GET', url: '/token', headers: { authorization: basic('bob', alice.token) } });
    assert.equal(res.statusCode, 401);
  });

  it('GET /token with a revoked or expired PAT answers 401', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await app.berth.accessTokens.revoke(alice.id, (await app.berth.accessTokens.list(alice.id))[0]!.id);
    const revoked = await app.berth.app.inject({ method: 'GET', url: '/token', headers: { authorization: basic('alice', alice.token) } });
    assert.equal(revoked.statusCode, 401);
    const expired = await app.user('alice', ['read:packages'], { expiresAt: new Date(Date.now() - 1000) });
    const res = await app.berth.app.inject({ method: 'GET', url: '/token', headers: { authorization: basic('alice', expired.token) } });
    assert.equal(res.statusCode, 401);
  });

  it('POST /token with grant_type=password answers the same shape (containerd)', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice', ['read:packages']);
    const form = new URLSearchParams({
      grant_type: 'password',
      username: 'alice',
      password: alice.token,
      client_id: 'containerd-client',
      service: 'registry.test:5000',
      scope: 'repository:alice/app:pull,push repository:alice/app:pull',
    });
    const res = await postTokenForm(app, form.toString());
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'issued_at', 'token']);
    assert.deepEqual(jwtPayload(body.access_token).access, [{ type: 'repository', name: 'alice/app', actions: ['pull'] }]);
  });

  it('POST /token with bad credentials answers 401, with a refresh_token grant 400', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    const bad = await postTokenForm(app, 'grant_type=password&username=alice&password=wrong');
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.json().errors[0].code, 'UNAUTHORIZED');
    const refresh = await postTokenForm(app, 'grant_type=refresh_token&refresh_token=x');
    assert.equal(refresh.statusCode, 400);
    assert.equal(refresh.json().error, 'unsupported_grant_type');
  });

  it('a registry token stops working on /v2 as soon as its PAT is revoked', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const bearer = `Bearer ${await registryToken(app, 'repository:alice/app:pull', basic('alice', alice.token))}`;
    const before = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/tags/list', headers: { authorization: bearer } });
    assert.equal(before.statusCode, 404); // allowed; the repository does not exist yet
    await app.berth.accessTokens.revoke(alice.id, (await app.berth.accessTokens.list(alice.id))[0]!.id);
    const after = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/tags/list', headers: { authorization: bearer } });
    assert.equal(after.statusCode, 401);
    assert.match(after.headers['www-authenticate'] as string, /error="invalid_token"/);
  });

  it('a forged or foreign JWT answers 401 with error="invalid_token"', async (t) => {
    const app = await authApp(t);
    const other = await authApp(t);
    const alice = await other.user('alice');
    const foreign = await registryToken(other, 'repository:alice/app:pull', basic('alice', alice.token));
    const res = await app.berth.app.inject({
      method: 'GET',
      url: '/v2/alice/app/tags/list',
      headers: { authorization: `Bearer ${foreign}` },
    });
    assert.equal(res.statusCode, 401);
    assert.match(res.headers['www-authenticate'] as string, /error="invalid_token"/);
  });

  it('GET and POST /token answer 400 for over 50 scopes, a scope over 300 characters, or a token over 7 KiB; 50 ordinary scopes give a token that works', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const authorization = basic('alice', alice.token);
    const get = (scopes: string[]) =>
      app.berth.app.inject({ method: 'GET', url: `/token?${scopes.map((scope) => `scope=${encodeURIComponent(scope)}`).join('&')}`, headers: { authorization } });
    const post = (scopes: string[]) =>
      postTokenForm(app, new URLSearchParams([['grant_type', 'password'], ['username', 'alice'], ['password', alice.token], ...scopes.map((scope) => ['scope', scope])]).toString());
    const ordinary = Array.from({ length: 50 }, (_, i) => `repository:alice/service-number-${i}:pull,push`);
    const refused: Array<[string, string[]]> = [
      ['51 scopes', [...ordinary, 'repository:alice/one-more:pull']],
      ['51 scopes in one parameter', [[...ordinary, 'repository:alice/one-more:pull'].join(' ')]],
      ['a scope over 300 characters', [`repository:alice/${'a'.repeat(290)}:pull`]],
      ['scopes whose token would be over 7 KiB', Array.from({ length: 40 }, (_, i) => `repository:alice/${String(i).padStart(3, '0')}${'b'.repeat(200)}:pull`)],
    ];
    for (const [what, scopes] of refused) {
      const viaGet = await get(scopes);
      assert.equal(viaGet.statusCode, 400, `GET with ${what}`);
      assert.equal(viaGet.json().errors[0].code, 'UNSUPPORTED');
      assert.match(viaGet.json().errors[0].message, /scope|token/);
      const viaPost = await post(scopes);
      assert.equal(viaPost.statusCode, 400, `POST with ${what}`);
      assert.equal(viaPost.json().error, 'invalid_scope');
      assert.match(viaPost.json().error_description, /scope|token/);
    }

    for (const res of [await get(ordinary), await post(ordinary)]) {
      assert.equal(res.statusCode, 200);
      const token = res.json().token as string;
      assert.ok(token.length <= 7 * 1024, `token of ${token.length} characters`);
      assert.equal(jwtPayload(token).access.length, 50);
      const back = await app.berth.app.inject({ method: 'GET', url: '/v2/', headers: { authorization: `Bearer ${token}` } });
      assert.equal(back.statusCode, 200);
    }
  });
});
