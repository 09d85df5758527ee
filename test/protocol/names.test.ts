import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorCode, ociErrorCodes, pushImage, sha256, testApp } from './test-app.js';

describe('repository names', () => {
  const invalid: Array<[string, string]> = [
    ['uppercase', 'Acme/App'],
    ['a trailing slash', 'acme/app/'],
    ['a leading slash', '/acme'],
    ['an empty component', 'acme//app'],
    ['a leading separator', '-acme'],
    ['a trailing separator', 'acme-'],
    ['three underscores', 'a___b'],
    ['a space (encoded)', 'acme%20app'],
    ['a colon', 'acme:app'],
  ];
  for (const [what, name] of invalid) {
    it(`a name with ${what} ("${name}") answers 400 NAME_INVALID on tags, manifests, blobs and uploads`, async (t) => {
      const app = await testApp(t);
      for (const request of [
        { method: 'GET' as const, url: `/v2/${name}/tags/list` },
        { method: 'GET' as const, url: `/v2/${name}/manifests/latest` },
        { method: 'HEAD' as const, url: `/v2/${name}/blobs/${sha256('x')}` },
        { method: 'POST' as const, url: `/v2/${name}/blobs/uploads/` },
      ]) {
        const res = await app.inject(request);
        assert.equal(res.statusCode, 400, `${request.method} ${request.url}`);
        if (request.method !== 'HEAD') assert.equal(errorCode(res), 'NAME_INVALID');
      }
    });
  }

  it('a name of 256 characters answers 400 NAME_INVALID; one of 255 is accepted', async (t) => {
    const app = await testApp(t);
    const tooLong = `acme/${'a'.repeat(251)}`;
    assert.equal(tooLong.length, 256);
    const res = await app.inject({ method: 'POST', url: `/v2/${tooLong}/blobs/uploads/` });
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'NAME_INVALID');

    const longest = `acme/${'a'.repeat(250)}`;
    assert.equal(longest.length, 255);
    await pushImage(app, longest, { tag: 'v1' });
    assert.equal((await app.inject({ method: 'GET', url: `/v2/${longest}/manifests/v1` })).statusCode, 200);
  });

  it('names with several components and separators (., _, __, -, --) are accepted', async (t) => {
    const app = await testApp(t);
    for (const name of ['a', 'a/b/c/d', 'my.org/my_app', 'a__b/c--d', 'x-y-z/0.1_2']) {
      await pushImage(app, name, { tag: 'v1' });
      const res = await app.inject({ method: 'GET', url: `/v2/${name}/tags/list` });
      assert.equal(res.statusCode, 200, name);
      assert.deepEqual(res.json(), { name, tags: ['v1'] });
    }
  });

  it('names ending in an API keyword route on the last keyword: a repository named "x/blobs" or "manifests"', async (t) => {
    const app = await testApp(t);
    for (const name of ['x/blobs', 'manifests', 'tags/list/more', 'blobs/uploads']) {
      const manifest = await pushImage(app, name, { tag: 'v1' });
      const res = await app.inject({ method: 'GET', url: `/v2/${name}/manifests/${manifest.digest}` });
      assert.equal(res.statusCode, 200, name);
      assert.deepEqual((await app.inject({ method: 'GET', url: `/v2/${name}/tags/list` })).json(), { name, tags: ['v1'] });
    }
  });

  it('a malformed percent-encoding in the path answers 400 with an OCI error envelope', async (t) => {
    const app = await testApp(t);
    for (const url of ['/v2/acme%zz/tags/list', '/v2/acme/app/manifests/%E0%A4%A']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 400, url);
      assert.ok(ociErrorCodes.includes(errorCode(res)), url);
    }
  });
});
