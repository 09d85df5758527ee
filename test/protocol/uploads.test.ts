import http from 'node:http';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorCode, pushBlob, sha256, sha512, startUpload, testApp, withDigest } from './test-app.js';

const uploadLocation = /^\/v2\/acme\/app\/blobs\/uploads\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const blobA = Buffer.from('a blob pushed in the protocol tests, 42 b.');

describe('blob uploads: sessions, monolithic and streamed', () => {
  it('POST /v2/<name>/blobs/uploads/ answers 202 with a session Location, Range: 0-0 and Docker-Upload-UUID', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'POST', url: '/v2/acme/app/blobs/uploads/' });
    assert.equal(res.statusCode, 202);
    assert.match(String(res.headers.location), uploadLocation);
    assert.equal(res.headers.range, '0-0');
    assert.equal(res.headers['content-length'], '0');
    assert.equal(res.headers['docker-upload-uuid'], String(res.headers.location).split('/').pop());
  });

  it('POST /v2/<name>/blobs/uploads (without the trailing slash) also starts a session', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'POST', url: '/v2/acme/app/blobs/uploads' });
    assert.equal(res.statusCode, 202);
    assert.match(String(res.headers.location), uploadLocation);
  });

  it('POST ?digest= with the whole blob answers 201 with Location /v2/<name>/blobs/<digest> and Docker-Content-Digest', async (t) => {
    const app = await testApp(t);
    const digest = sha256(blobA);
    const res = await app.inject({
      method: 'POST',
      url: `/v2/acme/app/blobs/uploads/?digest=${digest}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: blobA,
    });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers.location, `/v2/acme/app/blobs/${digest}`);
    assert.equal(res.headers['docker-content-digest'], digest);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${digest}` });
    assert.equal(get.statusCode, 200);
    assert.deepEqual(get.rawPayload, blobA);
  });

  it('POST ?digest= with a body of another digest answers 400 DIGEST_INVALID and stores nothing', async (t) => {
    const app = await testApp(t);
    const wrong = sha256('something else');
    const res = await app.inject({ method: 'POST', url: `/v2/acme/app/blobs/uploads/?digest=${wrong}`, payload: blobA });
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'DIGEST_INVALID');
    for (const digest of [wrong, sha256(blobA)]) {
      assert.equal((await app.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${digest}` })).statusCode, 404);
    }
  });

  it('POST ?digest= with a sha512 digest answers 201 and the blob is readable under it', async (t) => {
    const app = await testApp(t);
    const digest = sha512(blobA);
    const res = await app.inject({ method: 'POST', url: `/v2/acme/app/blobs/uploads/?digest=${digest}`, payload: blobA });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers.location, `/v2/acme/app/blobs/${digest}`);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${digest}` });
    assert.equal(get.statusCode, 200);
    assert.equal(get.headers['docker-content-digest'], digest);
    assert.deepEqual(get.rawPayload, blobA);
  });

  it('POST then PUT <location>?digest= with the whole body answers 201 with the blob Location', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    const digest = sha256(blobA);
    const res = await app.inject({
      method: 'PUT',
      url: withDigest(location, digest),
      headers: { 'content-type': 'application/octet-stream' },
      payload: blobA,
    });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers.location, `/v2/acme/app/blobs/${digest}`);
    assert.equal(res.headers['docker-content-digest'], digest);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${digest}` });
    assert.deepEqual(get.rawPayload, blobA);
    // The session is over.
    const status = await app.inject({ method: 'GET', url: location });
    assert.equal(status.statusCode, 404);
    assert.equal(errorCode(status), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('POST, streamed PATCH without Content-Range (202, Range: 0-41), then PUT with an empty body answers 201', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    const patch = await app.inject({
      method: 'PATCH',
      url: location,
      headers: { 'content-type': 'application/octet-stream' },
      payload: blobA,
    });
    assert.equal(patch.statusCode, 202);
    assert.equal(patch.headers.location, location);
    assert.equal(patch.headers.range, '0-41');
    const digest = sha256(blobA);
    const put = await app.inject({
      method: 'PUT',
      url: withDigest(String(patch.headers.location), digest),
      headers: { 'content-length': '0' },
    });
    assert.equal(put.statusCode, 201);
    assert.equal(put.headers.location, `/v2/acme/app/blobs/${digest}`);
    assert.deepEqual((await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${digest}` })).rawPayload, blobA);
  });

  it('two streamed PATCHes append in order; PUT with a sha512 digest verifies the whole blob', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    const first = await app.inject({ method: 'PATCH', url: location, payload: blobA.subarray(0, 10) });
    assert.equal(first.headers.range, '0-9');
    const second = await app.inject({ method: 'PATCH', url: location, payload: blobA.subarray(10) });
    assert.equal(second.statusCode, 202);
    assert.equal(second.headers.range, '0-41');
    const put = await app.inject({ method: 'PUT', url: withDigest(location, sha512(blobA)) });
    assert.equal(put.statusCode, 201);
    assert.equal(put.headers['docker-content-digest'], sha512(blobA));
  });

  it('GET <location> of a live upload answers 204 with Location and Range', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    const empty = await app.inject({ method: 'GET', url: location });
    assert.equal(empty.statusCode, 204);
    assert.equal(empty.headers.location, location);
    assert.equal(empty.headers.range, '0-0');
    await app.inject({ method: 'PATCH', url: location, payload: blobA });
    const res = await app.inject({ method: 'GET', url: location });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers.location, location);
    assert.equal(res.headers.range, '0-41');
    assert.equal(res.rawPayload.length, 0);
  });

  it('PUT with a digest that does not match the content answers 400 DIGEST_INVALID and commits nothing', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    const wrong = sha256('other');
    const res = await app.inject({ method: 'PUT', url: withDigest(location, wrong), payload: blobA });
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'DIGEST_INVALID');
    assert.match(res.json().errors[0].message, /does not match/);
    assert.equal((await app.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${wrong}` })).statusCode, 404);
    assert.equal((await app.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${sha256(blobA)}` })).statusCode, 404);
  });

  it('PUT <location> without the digest parameter answers 400 DIGEST_INVALID and keeps the session', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    await app.inject({ method: 'PATCH', url: location, payload: blobA });
    const res = await app.inject({ method: 'PUT', url: location });
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'DIGEST_INVALID');
    assert.match(res.json().errors[0].message, /digest query parameter is required/);
    const retry = await app.inject({ method: 'PUT', url: withDigest(location, sha256(blobA)) });
    assert.equal(retry.statusCode, 201);
  });

  it('PUT ?digest=md5:... answers 400 DIGEST_INVALID naming the unsupported algorithm', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    const res = await app.inject({ method: 'PUT', url: withDigest(location, 'md5:9e107d9d372bb6826bd81d3542a419d6'), payload: blobA });
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'DIGEST_INVALID');
    assert.match(res.json().errors[0].message, /unsupported digest algorithm "md5"/);
  });

  it('POST ?digest=md5:... answers 400 DIGEST_INVALID naming the unsupported algorithm', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'POST', url: '/v2/acme/app/blobs/uploads/?digest=md5:9e107d9d372bb6826bd81d3542a419d6', payload: blobA });
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'DIGEST_INVALID');
    assert.match(res.json().errors[0].message, /unsupported digest algorithm "md5": use sha256 or sha512/);
  });

  it('PUT ?digest=sha256:totallywrong answers 400 DIGEST_INVALID', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    const res = await app.inject({ method: 'PUT', url: withDigest(location, 'sha256:totallywrong'), payload: blobA });
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'DIGEST_INVALID');
  });

  it('DELETE <location> answers 204; GET, PATCH and PUT on it then answer 404 BLOB_UPLOAD_UNKNOWN', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    await app.inject({ method: 'PATCH', url: location, payload: blobA });
    const res = await app.inject({ method: 'DELETE', url: location });
    assert.equal(res.statusCode, 204);
    assert.equal(res.rawPayload.length, 0);
    for (const request of [
      { method: 'GET' as const, url: location },
      { method: 'PATCH' as const, url: location, payload: blobA },
      { method: 'PUT' as const, url: withDigest(location, sha256(blobA)) },
      { method: 'DELETE' as const, url: location },
    ]) {
      const after = await app.inject(request);
      assert.equal(after.statusCode, 404, request.method);
      assert.equal(errorCode(after), 'BLOB_UPLOAD_UNKNOWN');
    }
  });

  it('GET, PATCH, PUT and DELETE on an upload id that was never issued answer 404 BLOB_UPLOAD_UNKNOWN', async (t) => {
    const app = await testApp(t);
    await startUpload(app, 'acme/app');
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', 'ZZZZ', 'a'.repeat(300)]) {
      for (const method of ['GET', 'PATCH', 'PUT', 'DELETE'] as const) {
        const url = `/v2/acme/app/blobs/uploads/${id}${method === 'PUT' ? `?digest=${sha256(blobA)}` : ''}`;
        const res = await app.inject({ method, url, ...(method === 'PATCH' ? { payload: blobA } : {}) });
        assert.equal(res.statusCode, 404, `${method} ${id}`);
        assert.equal(errorCode(res), 'BLOB_UPLOAD_UNKNOWN');
      }
    }
  });

  it("an upload addressed under another repository's URL answers 404 BLOB_UPLOAD_UNKNOWN", async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'team/a');
    const id = location.split('/').pop() as string;
    await startUpload(app, 'team/b');
    const foreign = `/v2/team/b/blobs/uploads/${id}`;
    for (const request of [
      { method: 'GET' as const, url: foreign },
      { method: 'PATCH' as const, url: foreign, payload: blobA },
      { method: 'PUT' as const, url: `${foreign}?digest=${sha256(blobA)}`, payload: blobA },
      { method: 'DELETE' as const, url: foreign },
    ]) {
      const res = await app.inject(request);
      assert.equal(res.statusCode, 404, request.method);
      assert.equal(errorCode(res), 'BLOB_UPLOAD_UNKNOWN');
    }
    // The session in team/a is untouched.
    const status = await app.inject({ method: 'GET', url: location });
    assert.equal(status.statusCode, 204);
    assert.equal(status.headers.range, '0-0');
  });

  it('pushing a blob that already exists in the repository answers 201 again', async (t) => {
    const app = await testApp(t);
    await pushBlob(app, 'acme/app', blobA);
    await pushBlob(app, 'acme/app', blobA);
    const location = await startUpload(app, 'acme/app');
    const res = await app.inject({ method: 'PUT', url: withDigest(location, sha256(blobA)), payload: blobA });
    assert.equal(res.statusCode, 201);
  });

  it('an empty blob can be pushed with POST ?digest= and read back with Content-Length: 0', async (t) => {
    const app = await testApp(t);
    const digest = sha256('');
    const res = await app.inject({ method: 'POST', url: `/v2/acme/app/blobs/uploads/?digest=${digest}`, headers: { 'content-length': '0' } });
    assert.equal(res.statusCode, 201);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${digest}` });
    assert.equal(get.statusCode, 200);
    assert.equal(get.headers['content-length'], '0');
  });

  describe('maxBlobBytes', () => {
    it('POST ?digest= with a Content-Length over the limit answers 413 SIZE_INVALID', async (t) => {
      const app = await testApp(t, { config: { maxBlobBytes: '32' } });
      const res = await app.inject({ method: 'POST', url: `/v2/acme/app/blobs/uploads/?digest=${sha256(blobA)}`, payload: blobA });
      assert.equal(res.statusCode, 413);
      assert.equal(errorCode(res), 'SIZE_INVALID');
    });

    it('PATCH that takes an upload over the limit answers 413 SIZE_INVALID', async (t) => {
      const app = await testApp(t, { config: { maxBlobBytes: '50' } });
      const location = await startUpload(app, 'acme/app');
      const first = await app.inject({ method: 'PATCH', url: location, payload: blobA });
      assert.equal(first.statusCode, 202);
      const second = await app.inject({ method: 'PATCH', url: location, payload: blobA });
      assert.equal(second.statusCode, 413);
      assert.equal(errorCode(second), 'SIZE_INVALID');
      const status = await app.inject({ method: 'GET', url: location });
      assert.equal(status.headers.range, '0-41');
    });

    it('a PATCH without Content-Length (chunked) that takes an upload over the limit answers 413 SIZE_INVALID, and the upload keeps no more than the limit', async (t) => {
      const app = await testApp(t, { config: { maxBlobBytes: '50' } });
      const base = await app.listen();
      const location = await startUpload(app, 'acme/app');
      const status = await new Promise<number>((resolve, reject) => {
        const request = http.request(new URL(location, base), { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' } });
        request.on('error', reject);
        request.on('response', (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.write(Buffer.alloc(40, 'a'));
        request.end(Buffer.alloc(40, 'b'));
      });
      assert.equal(status, 413);
      const after = await app.inject({ method: 'GET', url: location });
      const kept = after.statusCode === 204 ? Number(/^0-(\d+)$/.exec(String(after.headers.range))?.[1]) + 1 : 0;
      assert.ok(kept <= 50, `the upload keeps at most the limit, not ${kept} bytes`);
    });

    it('an upload of exactly the limit is accepted: two PATCHes up to it, then PUT answers 201', async (t) => {
      const whole = Buffer.concat([Buffer.from(blobA), Buffer.from(blobA)]);
      const app = await testApp(t, { config: { maxBlobBytes: String(whole.length) } });
      const location = await startUpload(app, 'acme/app');
      assert.equal((await app.inject({ method: 'PATCH', url: location, payload: blobA })).statusCode, 202);
      const second = await app.inject({ method: 'PATCH', url: location, payload: blobA });
      assert.equal(second.statusCode, 202, second.body);
      assert.equal(second.headers.range, `0-${whole.length - 1}`);
      const put = await app.inject({ method: 'PUT', url: withDigest(location, sha256(whole)) });
      assert.equal(put.statusCode, 201, put.body);
    });
  });
});
