import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { errorCode, sha256, sha512, startUpload, testApp, withDigest } from './test-app.js';

// The conformance suite's testBlobB split in two chunks: 0-21 and 22-41.
const blob = Buffer.from('Hello, this is a chunked blob of 42 bytes!');
const chunk1 = blob.subarray(0, 22);
const chunk2 = blob.subarray(22);

function patch(location: string, body: Buffer, contentRange: string | undefined) {
  return {
    method: 'PATCH' as const,
    url: location,
    headers: {
      'content-type': 'application/octet-stream',
      ...(contentRange === undefined ? {} : { 'content-range': contentRange }),
    },
    payload: body,
  };
}

describe('chunked blob uploads (Content-Range)', () => {
  it('PATCH 0-21 answers 202 with Range: 0-21 and Location; PATCH 22-41 then PUT with no body answers 201', async (t) => {
    assert.equal(blob.length, 42);
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    const first = await app.inject(patch(location, chunk1, '0-21'));
    assert.equal(first.statusCode, 202);
    assert.equal(first.headers.range, '0-21');
    assert.equal(first.headers.location, location);
    const second = await app.inject(patch(String(first.headers.location), chunk2, '22-41'));
    assert.equal(second.statusCode, 202);
    assert.equal(second.headers.range, '0-41');
    const digest = sha256(blob);
    const put = await app.inject({ method: 'PUT', url: withDigest(String(second.headers.location), digest), headers: { 'content-length': '0' } });
    assert.equal(put.statusCode, 201);
    assert.equal(put.headers.location, `/v2/acme/app/blobs/${digest}`);
    assert.equal(put.headers['docker-content-digest'], digest);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${digest}` });
    assert.deepEqual(get.rawPayload, blob);
  });

  it('PATCH with an out-of-order Content-Range (22-41 first) answers 416 with Range: 0-0', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    const res = await app.inject(patch(location, chunk2, '22-41'));
    assert.equal(res.statusCode, 416);
    assert.equal(res.headers.range, '0-0');
    assert.equal(errorCode(res), 'BLOB_UPLOAD_INVALID');
    // Nothing was written.
    const status = await app.inject({ method: 'GET', url: location });
    assert.equal(status.headers.range, '0-0');
  });

  it('PATCH repeating an accepted chunk on the POST location answers 416 with Range: 0-21', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    assert.equal((await app.inject(patch(location, chunk1, '0-21'))).statusCode, 202);
    const repeat = await app.inject(patch(location, chunk1, '0-21'));
    assert.equal(repeat.statusCode, 416);
    assert.equal(repeat.headers.range, '0-21');
    assert.equal(errorCode(repeat), 'BLOB_UPLOAD_INVALID');
  });

  it('PATCH that leaves a gap (0-21, then 30-41) answers 416 with Range: 0-21', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    await app.inject(patch(location, chunk1, '0-21'));
    const res = await app.inject(patch(location, blob.subarray(30), '30-41'));
    assert.equal(res.statusCode, 416);
    assert.equal(res.headers.range, '0-21');
  });

  it('the conformance flow: 416, PATCH 0-21, repeat 416, GET on the POST location 204, PATCH 22-41 to its Location, PUT 201', async (t) => {
    const app = await testApp(t);
    const bad = await startUpload(app, 'acme/app');
    assert.equal((await app.inject(patch(bad, chunk2, '22-41'))).statusCode, 416);

    const prev = await startUpload(app, 'acme/app');
    const first = await app.inject(patch(prev, chunk1, '0-21'));
    assert.equal(first.statusCode, 202);
    assert.equal(first.headers.range, '0-21');
    assert.equal((await app.inject(patch(prev, chunk1, '0-21'))).statusCode, 416);

    const status = await app.inject({ method: 'GET', url: prev });
    assert.equal(status.statusCode, 204);
    assert.ok(status.headers.location);
    assert.equal(status.headers.range, '0-21');

    const second = await app.inject(patch(String(status.headers.location), chunk2, '22-41'));
    assert.equal(second.statusCode, 202);
    assert.ok(second.headers.location);

    const put = await app.inject({ method: 'PUT', url: withDigest(String(second.headers.location), sha256(blob)), headers: { 'content-length': '0' } });
    assert.equal(put.statusCode, 201);
    assert.ok(put.headers.location);
  });

  it('PUT carrying the last chunk with Content-Range answers 201', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    await app.inject(patch(location, chunk1, '0-21'));
    const digest = sha256(blob);
    const put = await app.inject({
      method: 'PUT',
      url: withDigest(location, digest),
      headers: { 'content-type': 'application/octet-stream', 'content-range': '22-41' },
      payload: chunk2,
    });
    assert.equal(put.statusCode, 201);
    assert.deepEqual((await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${digest}` })).rawPayload, blob);
  });

  it('PUT carrying a last chunk at the wrong offset answers 416 with Range', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    await app.inject(patch(location, chunk1, '0-21'));
    const put = await app.inject({
      method: 'PUT',
      url: withDigest(location, sha256(blob)),
      headers: { 'content-range': '0-19' },
      payload: chunk2,
    });
    assert.equal(put.statusCode, 416);
    assert.equal(put.headers.range, '0-21');
  });

  it('a streamed PATCH after a chunk appends at the current offset', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    await app.inject(patch(location, chunk1, '0-21'));
    const res = await app.inject(patch(location, chunk2, undefined));
    assert.equal(res.statusCode, 202);
    assert.equal(res.headers.range, '0-41');
    const put = await app.inject({ method: 'PUT', url: withDigest(location, sha256(blob)) });
    assert.equal(put.statusCode, 201);
  });

  it('PATCH whose Content-Length differs from its Content-Range answers 400 SIZE_INVALID', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    const res = await app.inject(patch(location, chunk1, '0-29'));
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'SIZE_INVALID');
    const status = await app.inject({ method: 'GET', url: location });
    assert.equal(status.headers.range, '0-0');
  });

  for (const contentRange of ['garbage', '5-2', '-5', 'bytes=0-21']) {
    it(`PATCH with a malformed Content-Range "${contentRange}" answers 416 BLOB_UPLOAD_INVALID`, async (t) => {
      const app = await testApp(t);
      const location = await startUpload(app, 'acme/app');
      const res = await app.inject(patch(location, chunk1, contentRange));
      assert.equal(res.statusCode, 416);
      assert.equal(errorCode(res), 'BLOB_UPLOAD_INVALID');
    });
  }

  it('chunks of 6 MiB, whose background flushes outlive their PATCH, commit to the same bytes', async (t) => {
    const app = await testApp(t, { filesystem: true });
    const data = randomBytes(18 * 1024 * 1024);
    let location = await startUpload(app, 'acme/app');
    for (let start = 0; start < data.length; start += 6 * 1024 * 1024) {
      const end = start + 6 * 1024 * 1024 - 1;
      const res = await app.inject(patch(location, data.subarray(start, end + 1), `${start}-${end}`));
      assert.equal(res.statusCode, 202);
      assert.equal(res.headers.range, `0-${end}`);
      location = String(res.headers.location);
    }
    const digest = sha256(data);
    const put = await app.inject({ method: 'PUT', url: withDigest(location, digest) });
    assert.equal(put.statusCode, 201);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${digest}` });
    assert.equal(sha256(get.rawPayload), digest);
    assert.deepEqual(await readdir(path.join(app.dataDir, 'uploads')), []);
  });

  it('DELETE right after a 6 MiB chunk ends the upload and leaves no file behind', async (t) => {
    const app = await testApp(t, { filesystem: true });
    const location = await startUpload(app, 'acme/app');
    const chunk = randomBytes(6 * 1024 * 1024);
    assert.equal((await app.inject(patch(location, chunk, `0-${chunk.length - 1}`))).statusCode, 202);
    assert.equal((await app.inject({ method: 'DELETE', url: location })).statusCode, 204);
    assert.deepEqual(await readdir(path.join(app.dataDir, 'uploads')), []);
    const again = await app.inject(patch(location, chunk, `0-${chunk.length - 1}`));
    assert.equal(again.statusCode, 404);
    assert.equal(errorCode(again), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('chunked upload with a sha512 digest answers 201', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    await app.inject(patch(location, chunk1, '0-21'));
    await app.inject(patch(location, chunk2, '22-41'));
    const put = await app.inject({ method: 'PUT', url: withDigest(location, sha512(blob)) });
    assert.equal(put.statusCode, 201);
    assert.equal(put.headers.location, `/v2/acme/app/blobs/${sha512(blob)}`);
  });
});
