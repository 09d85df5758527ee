import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CryptoKey, type JWK, type JWTPayload, SignJWT, generateKeyPair, importJWK } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { authApp, basic, publicUrl, registryToken } from './helpers.js';
import { pushLabelledImage } from '../packages/helpers.js';

/**
 * Every check a registry token passes, each against a token that differs from an accepted one in
 * that one respect only. All cases run against one instance whose real signing key the test reads,
 * so a refusal cannot come from anything but the check under test (a token from another instance
 * would also be refused for naming a key, and a token id, this one does not know).
 */
describe('registry token checks on /v2 (one instance, its signing key known)', () => {
  it('answers 401 invalid_token to each token that fails one check, and accepts the same token made right', async (t) => {
    // A clock that stands still on a whole second, moved only by hand: the expiry case then
    // falls the same however long the machine takes between issuing and using a token.
    const startedAt = Math.floor(Date.now() / 1000) * 1000;
    let offsetMs = 0;
    const now = () => startedAt + offsetMs;
    const app = await authApp(t, {}, { now });
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    await pushLabelledImage(app.berth, 'bob/secret', basic('bob', bob.token), { tag: 'v1' });

    const stored = await app.berth.db.selectFrom('signing_keys').select(['kid', 'jwk']).execute();
    assert.equal(stored.length, 1);
    const realJwk = JSON.parse(stored[0]!.jwk) as JWK;
    const realKid = stored[0]!.kid;
    const realKey = (await importJWK(realJwk, 'ES256')) as CryptoKey;
    const otherKey = (await generateKeyPair('ES256')).privateKey;

    /** Alice's claims to push into Bob's private repository: what only a forger would hold. */
    const forgedAccess = { sub: 'alice', uid: alice.id, access: [{ type: 'repository', name: 'bob/secret', actions: ['pull', 'push'] }] };
    const sign = async (
      options: {
        key?: CryptoKey;
        kid?: string | null;
        issuer?: string;
        audience?: string;
        expiresInSeconds?: number | null;
        notBeforeSeconds?: number;
        /** Claims that replace or add to Alice's forged ones. */
        claims?: Record<string, unknown>;
        subject?: string | null;
      } = {},
    ): Promise<string> => {
      const seconds = Math.floor(now() / 1000);
      const { sub, ...rest } = forgedAccess;
      const kid = options.kid === undefined ? realKid : options.kid;
      const jwt = new SignJWT({ ...rest, ...options.claims })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', ...(kid === null ? {} : { kid }) })
        .setIssuer(options.issuer ?? publicUrl)
        .setAudience(options.audience ?? 'registry.test:5000')
        .setIssuedAt(seconds)
        .setNotBefore(seconds + (options.notBeforeSeconds ?? -1))
        .setJti(`jti-${Math.random()}`);
      if (options.subject !== null) jwt.setSubject(options.subject ?? sub);
      if (options.expiresInSeconds !== null) jwt.setExpirationTime(seconds + (options.expiresInSeconds ?? 300));
      return jwt.sign(options.key ?? realKey);
    };
    const pushTo = (repo: string, token: string) =>
      app.berth.app.inject({ method: 'POST', url: `/v2/${repo}/blobs/uploads/`, headers: { authorization: `Bearer ${token}`, 'content-length': '0' } });
    const issued = (scope: string): Promise<string> => registryToken(app, scope, basic('alice', alice.token));
    const assertInvalidToken = (res: LightMyRequestResponse, repo: string) => {
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(res.body), { errors: [{ code: 'UNAUTHORIZED', message: 'invalid or expired token' }] });
      assert.equal(
        res.headers['www-authenticate'],
        `Bearer realm="${publicUrl}/token",service="registry.test:5000",scope="repository:${repo}:push",error="invalid_token"`,
      );
    };
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

    await t.test('control: a token signed with the real key under its kid, with every claim right, opens a push (202)', async () => {
      assert.equal((await pushTo('bob/secret', await sign())).statusCode, 202);
    });

    await t.test('one claim changed, signature kept: 401 invalid_token', async () => {
      const genuine = await issued('repository:bob/secret:pull,push');
      const [header, payload, signature] = genuine.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as JWTPayload & { access: Array<{ actions: string[] }> };
      assert.deepEqual(claims.access[0]?.actions, [], 'the server granted nothing on another user\'s private package');
      claims.access[0]!.actions = ['pull', 'push'];
      assertInvalidToken(await pushTo('bob/secret', `${header}.${b64(claims)}.${signature}`), 'bob/secret');
    });

    await t.test('alg: none (no signature): 401 invalid_token', async () => {
      const valid = await sign();
      const payload = valid.split('.')[1]!;
      assertInvalidToken(await pushTo('bob/secret', `${b64({ alg: 'none', typ: 'JWT', kid: realKid })}.${payload}.`), 'bob/secret');
    });

    await t.test('signed by another key under the known kid: 401 invalid_token', async () => {
      assertInvalidToken(await pushTo('bob/secret', await sign({ key: otherKey })), 'bob/secret');
    });

    await t.test('signed by the real key under an unknown kid, or without a kid: 401 invalid_token', async () => {
      assertInvalidToken(await pushTo('bob/secret', await sign({ kid: 'not-a-key-of-this-registry' })), 'bob/secret');
      assertInvalidToken(await pushTo('bob/secret', await sign({ kid: null })), 'bob/secret');
    });

    await t.test('another audience, another issuer: 401 invalid_token', async () => {
      assertInvalidToken(await pushTo('bob/secret', await sign({ audience: 'other.test:5000' })), 'bob/secret');
      assertInvalidToken(await pushTo('bob/secret', await sign({ issuer: 'http://other.test:5000' })), 'bob/secret');
    });

    await t.test('no expiry, or not valid yet: 401 invalid_token', async () => {
      assertInvalidToken(await pushTo('bob/secret', await sign({ expiresInSeconds: null })), 'bob/secret');
      assertInvalidToken(await pushTo('bob/secret', await sign({ notBeforeSeconds: 60 })), 'bob/secret');
    });

    await t.test('expired: a token used before and one never used are refused once the clock passes their expiry', async () => {
      const used = await issued('repository:alice/app:pull,push');
      const unused = await issued('repository:alice/app:pull,push');
      assert.equal((await pushTo('alice/app', used)).statusCode, 202);
      // 300 s of life and 5 s of tolerance for clock skew: still good one second before the end.
      offsetMs = 304_000;
      assert.equal((await pushTo('alice/app', used)).statusCode, 202);
      offsetMs = 306_000;
      try {
        assertInvalidToken(await pushTo('alice/app', used), 'alice/app');
        assertInvalidToken(await pushTo('alice/app', unused), 'alice/app');
      } finally {
        offsetMs = 0;
      }
    });

    await t.test('signed by the real key but shaped as the server never issues: no subject, over 7 KiB: 401 invalid_token', async () => {
      assertInvalidToken(await pushTo('bob/secret', await sign({ subject: null })), 'bob/secret');
      const oversized = await sign({ claims: { padding: 'x'.repeat(7 * 1024) } });
      assert.ok(oversized.length > 7 * 1024);
      assertInvalidToken(await pushTo('bob/secret', oversized), 'bob/secret');
    });

    await t.test('access entries of the wrong shape grant nothing: actions as a string, a name that is not a string', async () => {
      const shapes = [
        { type: 'repository', name: 'bob/secret', actions: 'pull,push' },
        { type: 'repository', name: ['bob/secret'], actions: ['pull', 'push'] },
        { name: 'bob/secret', actions: ['pull', 'push'] },
      ];
      for (const entry of shapes) {
        const res = await pushTo('bob/secret', await sign({ claims: { access: [entry] } }));
        assert.equal(res.statusCode, 401, JSON.stringify(entry));
        assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope"/, JSON.stringify(entry));
      }
    });

    await t.test('an entry that is not an object is dropped, and the other entries of the token still grant', async () => {
      const entries = [null, 'repository:bob/secret:push', { type: 'repository', name: 'bob/secret', actions: ['pull', 'push'] }];
      assert.equal((await pushTo('bob/secret', await sign({ claims: { access: entries } }))).statusCode, 202);
    });

    await t.test('control again: the instance still accepts a well-made token', async () => {
      assert.equal((await pushTo('bob/secret', await sign())).statusCode, 202);
      assert.equal((await pushTo('alice/app', await issued('repository:alice/app:pull,push'))).statusCode, 202);
    });
  });
});
