import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { rawRequest } from '../support/raw-request.js';
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
    // Basic on /v2 goes through the same limiter: the address is refused, whatever it sends.
    const v2 = await app.berth.app.inject({ method: 'GET', url: '/v2/', headers: { authorization: basic('bob', 'berth_pat_x') } });
    assert.equal(v2.statusCode, 429);
    assert.ok(v2.headers['retry-after']);
    // And every /api surface answers 429 with Retry-After too.
    for (const url of ['/api/user', '/api/user/packages?package_type=container', '/api/repos/alice/app/tokens']) {
      const api = await app.berth.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${alice.token}` } });
      assert.equal(api.statusCode, 429, url);
      const wait = Number(api.headers['retry-after']);
      assert.ok(wait > 0 && wait <= retryAfter, `${url}: Retry-After ${api.headers['retry-after']}`);
    }
  });

  it('wrong repository tokens count against the same limit: then a right one from that address answers 429', async (t) => {
    const app = await authApp(t, { authFailureLimit: '3', authFailureWindow: '10m' });
    await app.user('alice');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    const repository = await app.berth.sourceRepositories.create('acme/widget');
    const { token } = await app.berth.repositoryTokens.create(repository.id, 3_600_000);
    const wrong = (i: number) => `berth_rpt_${String(i).padStart(32, 'x')}`;
    for (let i = 0; i < 3; i += 1) {
      const res = await app.berth.app.inject({ method: 'GET', url: '/token', headers: { authorization: basic('ci', wrong(i)) } });
      assert.equal(res.statusCode, 401);
    }
    const blocked = await app.berth.app.inject({ method: 'GET', url: '/token', headers: { authorization: basic('ci', token) } });
    assert.equal(blocked.statusCode, 429);
    assert.ok(Number(blocked.headers['retry-after']) > 0);
  });

  it('a password for an organization\'s name or for nobody is wrong credentials, never an error', async (t) => {
    const app = await authApp(t, { authFailureLimit: '100' });
    await app.user('alice');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    for (const name of ['acme', 'nobody-at-all']) {
      const res = await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: basic(name, 'some-password') } });
      assert.equal(res.statusCode, 401, `${name}: ${res.body}`);
    }
    const signedIn = await app.berth.app.inject({ method: 'POST', url: '/api/user/tokens', headers: { authorization: basic('alice', 'alice-password'), 'content-type': 'application/json' }, payload: JSON.stringify({ scopes: ['delete:packages'] }) });
    assert.equal(signedIn.statusCode, 201, 'a password sign-in holds every scope, delete:packages included');
  });

  it("bad guesses at a user's name from one address refuse that address, never the user's correct PAT or password from another", async (t) => {
    const app = await authApp(t, { authFailureLimit: '3', authFailureWindow: '10m' });
    const alice = await app.user('alice');
    const attacker = '198.51.100.7';
    const guesses = [
      { method: 'GET' as const, url: '/token', headers: { authorization: basic('alice', 'berth_pat_guess') } },
      { method: 'GET' as const, url: '/v2/', headers: { authorization: basic('alice', 'berth_pat_guess') } },
      { method: 'GET' as const, url: '/api/user', headers: { authorization: basic('alice', 'not-her-password') } },
      {
        method: 'POST' as const,
        url: '/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'grant_type=password&username=alice&password=berth_pat_guess',
      },
    ];
    for (let i = 0; i < 12; i += 1) {
      const res = await app.berth.app.inject({ ...guesses[i % guesses.length]!, remoteAddress: attacker });
      assert.equal(res.statusCode, i < 3 ? 401 : 429, `guess ${i + 1}`);
    }
    // The address that guessed stays refused, even with a correct credential.
    const fromAttacker = await app.berth.app.inject({ method: 'GET', url: '/token', remoteAddress: attacker, headers: { authorization: basic('alice', alice.token) } });
    assert.equal(fromAttacker.statusCode, 429);

    const alicesAddress = '203.0.113.20';
    const v2 = await app.berth.app.inject({ method: 'GET', url: '/v2/', remoteAddress: alicesAddress, headers: { authorization: basic('alice', alice.token) } });
    assert.equal(v2.statusCode, 200);
    const get = await app.berth.app.inject({ method: 'GET', url: '/token', remoteAddress: alicesAddress, headers: { authorization: basic('alice', alice.token) } });
    assert.equal(get.statusCode, 200);
    assert.ok(get.json().token);
    const post = await app.berth.app.inject({
      method: 'POST',
      url: '/token',
      remoteAddress: alicesAddress,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'password', username: 'alice', password: alice.token }).toString(),
    });
    assert.equal(post.statusCode, 200);
    const password = await app.berth.app.inject({ method: 'GET', url: '/api/user', remoteAddress: alicesAddress, headers: { authorization: basic('alice', 'alice-password') } });
    assert.equal(password.statusCode, 200);
    assert.equal(password.json().login, 'alice');
  });

  it('X-Forwarded-For from a trusted proxy keys the limiter and the logged address; from any other peer, or by default, it is ignored', async (t) => {
    const app = await authApp(t, { authFailureLimit: '2', trustProxy: '10.0.0.1, 192.168.0.0/16' });
    const alice = await app.user('alice');
    const viaProxy = (peer: string, client: string, secret: string) =>
      app.berth.app.inject({ method: 'GET', url: '/token', remoteAddress: peer, headers: { authorization: basic('alice', secret), 'x-forwarded-for': client } });
    for (const peer of ['10.0.0.1', '192.168.7.7']) {
      assert.equal((await viaProxy(peer, '198.51.100.7', 'berth_pat_guess')).statusCode, 401);
    }
    assert.equal((await viaProxy('10.0.0.1', '198.51.100.7', alice.token)).statusCode, 429);
    // Only the address the trusted proxy itself appended counts: a client cannot prepend another.
    assert.equal((await viaProxy('10.0.0.1', '203.0.113.99, 198.51.100.7', alice.token)).statusCode, 429);
    assert.equal((await viaProxy('10.0.0.1', '203.0.113.20', alice.token)).statusCode, 200);
    assert.match(app.logs(), /"status":200,[^\n]*"remoteAddress":"203\.0\.113\.20"/);

    // An untrusted peer's header is not believed: its failures count against the peer itself.
    assert.equal((await viaProxy('172.16.0.9', '198.51.100.1', 'berth_pat_guess')).statusCode, 401);
    assert.equal((await viaProxy('172.16.0.9', '198.51.100.2', 'berth_pat_guess')).statusCode, 401);
    assert.equal((await viaProxy('172.16.0.9', '198.51.100.3', alice.token)).statusCode, 429);
    assert.match(app.logs(), /"status":429,[^\n]*"remoteAddress":"172\.16\.0\.9"/);

    const plain = await authApp(t, { authFailureLimit: '2' });
    const bob = await plain.user('bob');
    const direct = (client: string, secret: string) =>
      plain.berth.app.inject({ method: 'GET', url: '/token', remoteAddress: '10.0.0.1', headers: { authorization: basic('bob', secret), 'x-forwarded-for': client } });
    assert.equal((await direct('198.51.100.1', 'berth_pat_guess')).statusCode, 401);
    assert.equal((await direct('198.51.100.2', 'berth_pat_guess')).statusCode, 401);
    assert.equal((await direct('198.51.100.3', bob.token)).statusCode, 429);
    assert.doesNotMatch(plain.logs(), /"remoteAddress":"198\.51\.100/);
  });

  it('no password, PAT or registry token appears in any encoding in any log line at trace level, malformed requests included', async (t) => {
    const app = await authApp(t, { logLevel: 'trace' });
    const alice = await app.user('alice');
    const secrets: Array<{ user: string; secret: string }> = [
      { user: 'root', secret: adminPassword },
      { user: 'alice', secret: 'alice-password' },
      { user: 'alice', secret: alice.token },
    ];
    await pushImage(app.berth, 'alice/app', basic('alice', alice.token));
    const tokenRes = await app.berth.app.inject({ method: 'GET', url: '/token?scope=repository:alice/app:pull', headers: { authorization: basic('alice', alice.token) } });
    const registryToken = tokenRes.json().token as string;
    secrets.push({ user: 'alice', secret: registryToken });
    await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/tags/list', headers: { authorization: `Bearer ${registryToken}` } });
    const form = new URLSearchParams({ grant_type: 'password', username: 'alice', password: alice.token }).toString();
    await app.berth.app.inject({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form });
    await app.berth.app.inject({ method: 'GET', url: '/token', headers: { authorization: basic('root', adminPassword) } });
    await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: basic('alice', 'alice-password') } });
    const created = await app.berth.app.inject({
      method: 'POST',
      url: '/api/user/tokens',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      payload: { scopes: ['read:packages'] },
    });
    assert.equal(created.statusCode, 201);
    secrets.push({ user: 'alice', secret: created.json().token });

    // Requests the HTTP parser refuses, with credentials in their bytes: the framework's
    // client-error path rather than a route.
    const url = await app.berth.app.listen({ host: '127.0.0.1', port: 0 });
    const malformed = [
      `GET /v2/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic('alice', alice.token)}\r\nbad header line\r\n\r\n`,
      `GET /v2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${registryToken}\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`,
      `POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n${form.length.toString(16)}\r\n${form}\r\nzz\r\n\r\n`,
    ];
    for (const request of malformed) assert.match(await rawRequest(url, request), /^HTTP\/1\.1 4\d\d /);

    const logs = app.logs();
    assert.ok(logs.includes('"route":"manifest_put"'), 'the log was captured');
    for (const { user, secret } of secrets) {
      for (const [encoding, text] of encodingsOf(user, secret)) {
        assert.ok(!logs.includes(text), `a secret leaked into the log (${encoding}): ${secret.slice(0, 12)}...`);
      }
    }
  });
});

/**
 * The forms in which a credential may appear in a log line: as text, in the encodings HTTP uses
 * for it, and each of those as the bytes of a serialized Buffer (a list of numbers, or hex).
 */
function encodingsOf(user: string, secret: string): Array<[string, string]> {
  const texts: Array<[string, string]> = [
    ['plain', secret],
    ['base64 of user:secret', Buffer.from(`${user}:${secret}`).toString('base64').replace(/=+$/, '')],
    ['base64url of user:secret', Buffer.from(`${user}:${secret}`).toString('base64url')],
    ['base64 of the secret', Buffer.from(secret).toString('base64').replace(/=+$/, '')],
    ['base64url of the secret', Buffer.from(secret).toString('base64url')],
    ['URL-encoded', encodeURIComponent(secret)],
    ['JSON-escaped', JSON.stringify(secret).slice(1, -1)],
  ];
  return texts.flatMap(([name, text]): Array<[string, string]> => [
    [name, text],
    [`${name}, as hex`, Buffer.from(text).toString('hex')],
    [`${name}, as a byte list`, [...Buffer.from(text)].join(',')],
  ]);
}
