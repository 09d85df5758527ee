import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorCode, imageManifest, pushBlob, pushManifest, sha256, testApp } from './test-app.js';

const data = 'The quick brown fox jumps over the lazy dog'; // 43 bytes

describe('blobs: GET, HEAD, ranges, DELETE', () => {
  it('GET /v2/<name>/blobs/<digest> answers 200 with the bytes, Docker-Content-Digest and Content-Length', async (t) => {
    const app = await testApp(t);
    const blob = await pushBlob(app, 'acme/app', data);
    const res = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${blob.digest}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, data);
    assert.equal(res.headers['docker-content-digest'], blob.digest);
    assert.equal(res.headers['content-length'], '43');
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.equal(res.headers['accept-ranges'], 'bytes');
    assert.equal(sha256(res.rawPayload), blob.digest);
  });

  it('HEAD /v2/<name>/blobs/<digest> answers 200 with Content-Length and Docker-Content-Digest and no body', async (t) => {
    const app = await testApp(t);
    const blob = await pushBlob(app, 'acme/app', data);
    const res = await app.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${blob.digest}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], '43');
    assert.equal(res.headers['docker-content-digest'], blob.digest);
    assert.equal(res.rawPayload.length, 0);
  });

  it('GET and HEAD of a blob never pushed answer 404 BLOB_UNKNOWN', async (t) => {
    const app = await testApp(t);
    await pushBlob(app, 'acme/app', data);
    const missing = sha256('hello world');
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${missing}` });
    assert.equal(get.statusCode, 404);
    assert.equal(errorCode(get), 'BLOB_UNKNOWN');
    assert.deepEqual(get.json().errors[0].detail, { digest: missing });
    const head = await app.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${missing}` });
    assert.equal(head.statusCode, 404);
    assert.equal(head.rawPayload.length, 0);
  });

  it('GET of a blob in a repository that does not exist answers 404 BLOB_UNKNOWN', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'GET', url: `/v2/no/such/repo/blobs/${sha256('x')}` });
    assert.equal(res.statusCode, 404);
    assert.ok(['BLOB_UNKNOWN', 'NAME_UNKNOWN'].includes(errorCode(res)));
  });

  it('GET /v2/<name>/blobs/<malformed digest> answers 400 DIGEST_INVALID', async (t) => {
    const app = await testApp(t);
    for (const digest of ['sha256:totallywrong', 'sha256:' + 'A'.repeat(64), 'nodigest', 'sha256:' + 'a'.repeat(63)]) {
      const res = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${digest}` });
      assert.equal(res.statusCode, 400, digest);
      assert.equal(errorCode(res), 'DIGEST_INVALID');
    }
  });

  it('a blob pushed to repository A is 404 in repository B', async (t) => {
    const app = await testApp(t);
    const blob = await pushBlob(app, 'team/a', data);
    await pushBlob(app, 'team/b', 'something else');
    const res = await app.inject({ method: 'GET', url: `/v2/team/b/blobs/${blob.digest}` });
    assert.equal(res.statusCode, 404);
    assert.equal(errorCode(res), 'BLOB_UNKNOWN');
    const head = await app.inject({ method: 'HEAD', url: `/v2/team/b/blobs/${blob.digest}` });
    assert.equal(head.statusCode, 404);
  });

  describe('Range requests (RFC 9110)', () => {
    const cases: Array<[string, number, string, string]> = [
      ['bytes=0-3', 206, 'The ', 'bytes 0-3/43'],
      ['bytes=4-8', 206, 'quick', 'bytes 4-8/43'],
      ['bytes=40-', 206, 'dog', 'bytes 40-42/43'],
      ['bytes=-3', 206, 'dog', 'bytes 40-42/43'],
      ['bytes=-100', 206, data, 'bytes 0-42/43'],
      ['bytes=40-1000', 206, 'dog', 'bytes 40-42/43'],
      ['bytes=42-42', 206, 'g', 'bytes 42-42/43'],
    ];
    for (const [range, status, body, contentRange] of cases) {
      it(`GET with Range: ${range} answers ${status} with Content-Range: ${contentRange}`, async (t) => {
        const app = await testApp(t);
        const blob = await pushBlob(app, 'acme/app', data);
        const res = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${blob.digest}`, headers: { range } });
        assert.equal(res.statusCode, status);
        assert.equal(res.body, body);
        assert.equal(res.headers['content-range'], contentRange);
        assert.equal(res.headers['content-length'], String(body.length));
        assert.equal(res.headers['docker-content-digest'], blob.digest);
      });
    }

    for (const range of ['bytes=43-', 'bytes=100-200', 'bytes=-0']) {
      it(`GET with an unsatisfiable Range: ${range} answers 416 with Content-Range: bytes */43`, async (t) => {
        const app = await testApp(t);
        const blob = await pushBlob(app, 'acme/app', data);
        const res = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${blob.digest}`, headers: { range } });
        assert.equal(res.statusCode, 416);
        assert.equal(res.headers['content-range'], 'bytes */43');
        errorCode(res);
      });
    }

    it('GET with a Range in an unknown unit, several ranges, or an invalid range (bytes=abc, bytes=5-3) answers 200 with the whole blob (RFC 9110 14.2)', async (t) => {
      const app = await testApp(t);
      const blob = await pushBlob(app, 'acme/app', data);
      for (const range of ['items=0-3', 'bytes=0-1,3-4', 'bytes=abc', 'bytes=5-3', 'bytes=-']) {
        const res = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${blob.digest}`, headers: { range } });
        assert.equal(res.statusCode, 200, range);
        assert.equal(res.body, data);
        assert.equal(res.headers['content-range'], undefined);
      }
    });

    it('HEAD with Range: bytes=0-9 answers 206 with Content-Length: 10 and no body', async (t) => {
      const app = await testApp(t);
      const blob = await pushBlob(app, 'acme/app', data);
      const res = await app.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${blob.digest}`, headers: { range: 'bytes=0-9' } });
      assert.equal(res.statusCode, 206);
      assert.equal(res.headers['content-range'], 'bytes 0-9/43');
      assert.equal(res.headers['content-length'], '10');
      assert.equal(res.rawPayload.length, 0);
    });
  });

  describe('DELETE /v2/<name>/blobs/<digest>', () => {
    it('answers 202, after which GET and HEAD answer 404 BLOB_UNKNOWN', async (t) => {
      const app = await testApp(t);
      const blob = await pushBlob(app, 'acme/app', data);
      const res = await app.inject({ method: 'DELETE', url: `/v2/acme/app/blobs/${blob.digest}` });
      assert.equal(res.statusCode, 202);
      assert.equal(res.headers['content-length'], '0');
      const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${blob.digest}` });
      assert.equal(get.statusCode, 404);
      assert.equal(errorCode(get), 'BLOB_UNKNOWN');
      assert.equal((await app.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${blob.digest}` })).statusCode, 404);
    });

    it('of a blob not in the repository answers 404 BLOB_UNKNOWN', async (t) => {
      const app = await testApp(t);
      await pushBlob(app, 'acme/app', data);
      const res = await app.inject({ method: 'DELETE', url: `/v2/acme/app/blobs/${sha256('other')}` });
      assert.equal(res.statusCode, 404);
      assert.equal(errorCode(res), 'BLOB_UNKNOWN');
    });

    it('twice answers 202 then 404', async (t) => {
      const app = await testApp(t);
      const blob = await pushBlob(app, 'acme/app', data);
      assert.equal((await app.inject({ method: 'DELETE', url: `/v2/acme/app/blobs/${blob.digest}` })).statusCode, 202);
      assert.equal((await app.inject({ method: 'DELETE', url: `/v2/acme/app/blobs/${blob.digest}` })).statusCode, 404);
    });

    it('with a malformed digest answers 400 DIGEST_INVALID', async (t) => {
      const app = await testApp(t);
      const res = await app.inject({ method: 'DELETE', url: '/v2/acme/app/blobs/sha256:nothex' });
      assert.equal(res.statusCode, 400);
      assert.equal(errorCode(res), 'DIGEST_INVALID');
    });

    it('in repository A leaves the same blob readable in repository B', async (t) => {
      const app = await testApp(t);
      const blob = await pushBlob(app, 'team/a', data);
      await pushBlob(app, 'team/b', data);
      assert.equal((await app.inject({ method: 'DELETE', url: `/v2/team/a/blobs/${blob.digest}` })).statusCode, 202);
      assert.equal((await app.inject({ method: 'GET', url: `/v2/team/a/blobs/${blob.digest}` })).statusCode, 404);
      const res = await app.inject({ method: 'GET', url: `/v2/team/b/blobs/${blob.digest}` });
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, data);
    });

    it('of a blob a manifest still uses answers 202 (never 409), and the manifest stays readable', async (t) => {
      const app = await testApp(t);
      const config = await pushBlob(app, 'acme/app', '{}');
      const manifest = imageManifest({ config: config.descriptor({ mediaType: 'application/vnd.oci.image.config.v1+json' }) });
      await pushManifest(app, 'acme/app', 'v1', manifest);
      const res = await app.inject({ method: 'DELETE', url: `/v2/acme/app/blobs/${config.digest}` });
      assert.equal(res.statusCode, 202);
      assert.equal((await app.inject({ method: 'GET', url: '/v2/acme/app/manifests/v1' })).statusCode, 200);
    });
  });
});
