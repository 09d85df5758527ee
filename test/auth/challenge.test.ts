import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authApp, basic, jwtPayload, pushImage, sha256 } from './helpers.js';

const realm = 'Bearer realm="http://registry.test:5000/token",service="registry.test:5000"';
const digest = sha256('x');
const routes: Array<[string, string, string | undefined]> = [
  ['GET', '/v2/', undefined],
  ['GET', '/v2/_catalog', 'registry:catalog:*'],
  ['POST', '/v2/acme/app/blobs/uploads/', 'repository:acme/app:push'],
  ['GET', '/v2/acme/app/blobs/uploads/some-id', 'repository:acme/app:push'],
  ['PATCH', '/v2/acme/app/blobs/uploads/some-id', 'repository:acme/app:push'],
  ['PUT', `/v2/acme/app/blobs/uploads/some-id?digest=${digest}`, 'repository:acme/app:push'],
  ['DELETE', '/v2/acme/app/blobs/uploads/some-id', 'repository:acme/app:push'],
  ['GET', `/v2/acme/app/blobs/${digest}`, 'repository:acme/app:pull'],
  ['HEAD', `/v2/acme/app/blobs/${digest}`, 'repository:acme/app:pull'],
  ['DELETE', `/v2/acme/app/blobs/${digest}`, 'repository:acme/app:delete'],
  ['GET', '/v2/acme/app/manifests/latest', 'repository:acme/app:pull'],
  ['HEAD', '/v2/acme/app/manifests/latest', 'repository:acme/app:pull'],
  ['PUT', '/v2/acme/app/manifests/latest', 'repository:acme/app:push'],
  ['DELETE', `/v2/acme/app/manifests/${digest}`, 'repository:acme/app:delete'],
  ['GET', '/v2/acme/app/tags/list', 'repository:acme/app:pull'],
  ['GET', `/v2/acme/app/referrers/${digest}`, 'repository:acme/app:pull'],
];

describe('challenges', () => {
  for (const [method, url, scope] of routes) {
    it(`${method} ${url.split('?')[0]} without credentials answers 401 UNAUTHORIZED with the challenge`, async (t) => {
      const { berth } = await authApp(t);
      const res = await berth.app.inject({ method: method as 'GET', url });
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers['www-authenticate'], scope === undefined ? realm : `${realm},scope="${scope}"`);
      if (method !== 'HEAD') assert.equal(res.json().errors[0].code, 'UNAUTHORIZED');
    });
  }

  it('GET /v2/ with a bad Basic PAT answers 401 with the challenge', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    const res = await app.berth.app.inject({
      method: 'GET',
      url: '/v2/',
      headers: { authorization: `Basic ${Buffer.from('alice:berth_pat_wrong').toString('base64')}` },
    });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['www-authenticate'], realm);
  });

  it('GET /v2/ with Basic user:PAT answers 200 (scripts)', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice', ['read:packages']);
    const res = await app.berth.app.inject({
      method: 'GET',
      url: '/v2/',
      headers: { authorization: `Basic ${Buffer.from(`alice:${alice.token}`).toString('base64')}` },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
  });

  describe('cross-repository mount with token auth', () => {
    /** POST mount without credentials, then a token for exactly the challenged scopes, then the mount again. */
    async function mountWithChallengedScopes(app: Awaited<ReturnType<typeof authApp>>, user: { name: string; token: string }, target: string, digest: string) {
      const url = `/v2/${target}/blobs/uploads/?mount=${digest}&from=alice/base`;
      const challenged = await app.berth.app.inject({ method: 'POST', url });
      assert.equal(challenged.statusCode, 401);
      const challenge = String(challenged.headers['www-authenticate']);
      assert.equal(challenge, `${realm},scope="repository:${target}:push repository:alice/base:pull"`);
      const scopes = (/scope="([^"]*)"/.exec(challenge)?.[1] ?? '').split(' ');
      const query = new URLSearchParams([['service', 'registry.test:5000'], ...scopes.map((scope) => ['scope', scope])]);
      const token = await app.berth.app.inject({ method: 'GET', url: `/token?${query}`, headers: { authorization: basic(user.name, user.token) } });
      assert.equal(token.statusCode, 200, token.body);
      const bearer = token.json().token as string;
      const mounted = await app.berth.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${bearer}` } });
      return { mounted, access: jwtPayload(bearer).access };
    }

    it('POST ?mount=&from= without credentials names pull on the source in the challenge; a token for those scopes mounts (201)', async (t) => {
      const app = await authApp(t);
      const alice = await app.user('alice');
      const { layerDigest } = await pushImage(app.berth, 'alice/base', basic('alice', alice.token));
      const { mounted } = await mountWithChallengedScopes(app, alice, 'alice/app', layerDigest);
      assert.equal(mounted.statusCode, 201, mounted.body);
      assert.equal(mounted.headers.location, `/v2/alice/app/blobs/${layerDigest}`);
    });

    it('a user who may not read the source gets a token without pull on it, and the mount becomes an upload (202)', async (t) => {
      const app = await authApp(t);
      const alice = await app.user('alice');
      const bob = await app.user('bob');
      const { layerDigest } = await pushImage(app.berth, 'alice/base', basic('alice', alice.token));
      const { mounted, access } = await mountWithChallengedScopes(app, bob, 'bob/app', layerDigest);
      assert.equal(mounted.statusCode, 202, mounted.body);
      assert.deepEqual(access.find((entry) => entry.name === 'alice/base')?.actions ?? [], []);
    });

    it('a from that is not a repository name is left out of the challenge', async (t) => {
      const { berth } = await authApp(t);
      const res = await berth.app.inject({ method: 'POST', url: `/v2/acme/app/blobs/uploads/?mount=${digest}&from=${encodeURIComponent('Bad"Name x')}` });
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers['www-authenticate'], `${realm},scope="repository:acme/app:push"`);
    });
  });
});
