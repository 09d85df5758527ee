import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authApp, sha256 } from './helpers.js';

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
});
