import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inlineBlobBytes } from '../../src/registry/upload-service.js';
import { errorCode, patternBytes, pushBlob, sha256, startUpload, testApp, withDigest } from './test-app.js';

/** Every file under the data directory's blob and upload areas. */
async function storedFiles(dataDir: string): Promise<string[]> {
  const entries = await readdir(dataDir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dataDir, path.join(entry.parentPath, entry.name)))
    .filter((file) => file.startsWith('blobs') || file.startsWith('uploads'));
}

describe('small blobs, kept in the metadata database', () => {
  it(`a monolithic POST of ${inlineBlobBytes} bytes writes no file, and GET, HEAD and ranges serve it`, async (t) => {
    const app = await testApp(t);
    const data = patternBytes(inlineBlobBytes, 3);
    const blob = await pushBlob(app, 'acme/app', data);
    assert.deepEqual(await storedFiles(app.dataDir), []);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${blob.digest}` });
    assert.equal(get.statusCode, 200);
    assert.deepEqual(get.rawPayload, data);
    const head = await app.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${blob.digest}` });
    assert.equal(head.headers['content-length'], String(data.length));
    assert.equal(head.body, '');
    const ranged = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${blob.digest}`, headers: { range: 'bytes=100-199' } });
    assert.equal(ranged.statusCode, 206);
    assert.deepEqual(ranged.rawPayload, data.subarray(100, 200));
  });

  it('one byte more is stored as a file', async (t) => {
    const app = await testApp(t, { filesystem: true });
    const blob = await pushBlob(app, 'acme/app', patternBytes(inlineBlobBytes + 1, 4));
    const files = await storedFiles(app.dataDir);
    assert.deepEqual(files, [path.join('blobs', 'sha256', blob.digest.slice(7, 9), blob.digest.slice(7))]);
  });

  it('an empty blob is served as 0 bytes', async (t) => {
    const app = await testApp(t);
    const blob = await pushBlob(app, 'acme/app', Buffer.alloc(0));
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${blob.digest}` });
    assert.equal(get.statusCode, 200);
    assert.equal(get.headers['content-length'], '0');
    assert.equal(get.rawPayload.length, 0);
  });

  it('a small POST with the wrong digest answers 400 DIGEST_INVALID and stores nothing', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'POST', url: `/v2/acme/app/blobs/uploads/?digest=${sha256('other')}`, payload: 'these bytes' });
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'DIGEST_INVALID');
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${sha256('these bytes')}` });
    assert.equal(get.statusCode, 404);
    assert.deepEqual(await storedFiles(app.dataDir), []);
  });

  it('a small monolithic POST sent without Content-Length (chunked) is kept in the metadata too', async (t) => {
    const app = await testApp(t);
    const base = await app.listen();
    const data = Buffer.from('a configuration sent in pieces');
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(new URL(`/v2/acme/app/blobs/uploads/?digest=${sha256(data)}`, base), { method: 'POST', headers: { 'content-type': 'application/octet-stream' } });
      request.on('error', reject);
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.write(data.subarray(0, 5));
      request.end(data.subarray(5));
    });
    assert.equal(status, 201);
    assert.deepEqual(await storedFiles(app.dataDir), []);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${sha256(data)}` });
    assert.deepEqual(get.rawPayload, data);
  });

  it('a small POST whose body is cut off stores nothing, and the same push then succeeds', async (t) => {
    const app = await testApp(t);
    const base = await app.listen();
    const data = patternBytes(8 * 1024, 6);
    const url = new URL(`/v2/acme/app/blobs/uploads/?digest=${sha256(data)}`, base);
    await new Promise<void>((resolve) => {
      const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) } });
      request.on('error', () => resolve());
      request.on('response', () => resolve());
      request.write(data.subarray(0, 1000), () => {
        setTimeout(() => {
          request.destroy();
          resolve();
        }, 50);
      });
    });
    for (let i = 0; i < 100 && (await app.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${sha256(data)}` })).statusCode !== 404; i++) await sleep(10);
    assert.equal((await app.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${sha256(data)}` })).statusCode, 404);
    assert.deepEqual(await storedFiles(app.dataDir), []);
    await pushBlob(app, 'acme/app', data);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${sha256(data)}` });
    assert.deepEqual(get.rawPayload, data);
  });

  it('concurrent pushes of the same small blob, to one repository and to another, all answer 201', async (t) => {
    const app = await testApp(t);
    const data = Buffer.from('one configuration pushed by several clients at once');
    const pushes = ['acme/one', 'acme/one', 'acme/two', 'acme/one', 'acme/two'].map((name) =>
      app.inject({ method: 'POST', url: `/v2/${name}/blobs/uploads/?digest=${sha256(data)}`, headers: { 'content-type': 'application/octet-stream' }, payload: data }),
    );
    assert.deepEqual((await Promise.all(pushes)).map((res) => res.statusCode), [201, 201, 201, 201, 201]);
    for (const name of ['acme/one', 'acme/two']) {
      const get = await app.inject({ method: 'GET', url: `/v2/${name}/blobs/${sha256(data)}` });
      assert.deepEqual(get.rawPayload, data);
    }
  });

  it('an upload session finished with PUT keeps a small blob in the metadata and removes its upload file', async (t) => {
    const app = await testApp(t);
    const data = Buffer.from('config bytes, pushed in two chunks');
    const location = await startUpload(app, 'acme/app');
    const first = await app.inject({ method: 'PATCH', url: location, headers: { 'content-range': '0-9' }, payload: data.subarray(0, 10) });
    assert.equal(first.statusCode, 202);
    const put = await app.inject({ method: 'PUT', url: withDigest(location, sha256(data)), headers: { 'content-range': `10-${data.length - 1}` }, payload: data.subarray(10) });
    assert.equal(put.statusCode, 201);
    assert.deepEqual(await storedFiles(app.dataDir), []);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${sha256(data)}` });
    assert.deepEqual(get.rawPayload, data);
  });

  it('mounts into another repository, and survives a restart', async (t) => {
    const first = await testApp(t);
    const blob = await pushBlob(first, 'acme/one', 'a small layer');
    const mount = await first.inject({ method: 'POST', url: `/v2/acme/two/blobs/uploads/?mount=${blob.digest}&from=acme/one` });
    assert.equal(mount.statusCode, 201);
    await first.close();
    const second = await testApp(t, { dataDir: first.dataDir });
    for (const name of ['acme/one', 'acme/two']) {
      const get = await second.inject({ method: 'GET', url: `/v2/${name}/blobs/${blob.digest}` });
      assert.equal(get.statusCode, 200);
      assert.equal(get.body, 'a small layer');
    }
  });
});

describe('uploads whose bytes the metadata holds until they outgrow a small blob', () => {
  it('the clients\' flow (POST, PATCH, PUT ?digest=) of a small blob never writes an upload file, and GET status reports its bytes', async (t) => {
    const app = await testApp(t, { filesystem: true });
    const data = patternBytes(4096, 7);
    const location = await startUpload(app, 'acme/app');
    const patch = await app.inject({ method: 'PATCH', url: location, headers: { 'content-type': 'application/octet-stream' }, payload: data });
    assert.equal(patch.statusCode, 202);
    assert.equal(patch.headers.range, '0-4095');
    assert.deepEqual(await storedFiles(app.dataDir), []);
    const status = await app.inject({ method: 'GET', url: location });
    assert.equal(status.statusCode, 204);
    assert.equal(status.headers.range, '0-4095');
    const put = await app.inject({ method: 'PUT', url: withDigest(location, sha256(data)) });
    assert.equal(put.statusCode, 201);
    assert.deepEqual(await storedFiles(app.dataDir), []);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${sha256(data)}` });
    assert.deepEqual(get.rawPayload, data);
    const ended = await app.inject({ method: 'GET', url: location });
    assert.equal(ended.statusCode, 404);
    assert.equal(errorCode(ended), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('a POST then one PUT with the whole small blob (containerd\'s flow) keeps it in the metadata', async (t) => {
    const app = await testApp(t, { filesystem: true });
    const data = Buffer.from('a configuration sent with the PUT');
    const location = await startUpload(app, 'acme/app');
    const put = await app.inject({ method: 'PUT', url: withDigest(location, sha256(data)), headers: { 'content-type': 'application/octet-stream' }, payload: data });
    assert.equal(put.statusCode, 201);
    assert.deepEqual(await storedFiles(app.dataDir), []);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${sha256(data)}` });
    assert.deepEqual(get.rawPayload, data);
  });

  it('chunks that together outgrow a small blob move to the store, and the blob is verified and stored whole', async (t) => {
    const app = await testApp(t, { filesystem: true });
    const data = patternBytes(inlineBlobBytes + 5000, 8);
    const half = 40 * 1024;
    const location = await startUpload(app, 'acme/app');
    const first = await app.inject({ method: 'PATCH', url: location, headers: { 'content-range': `0-${half - 1}` }, payload: data.subarray(0, half) });
    assert.equal(first.statusCode, 202);
    assert.deepEqual(await storedFiles(app.dataDir), []);
    const second = await app.inject({ method: 'PATCH', url: location, headers: { 'content-range': `${half}-${data.length - 1}` }, payload: data.subarray(half) });
    assert.equal(second.statusCode, 202);
    assert.equal(second.headers.range, `0-${data.length - 1}`);
    assert.deepEqual(await storedFiles(app.dataDir), [path.join('uploads', location.split('/').pop() as string)]);
    const wrong = await app.inject({ method: 'PUT', url: withDigest(location, sha256('other bytes')) });
    assert.equal(wrong.statusCode, 400);
    assert.equal(errorCode(wrong), 'DIGEST_INVALID');
    const put = await app.inject({ method: 'PUT', url: withDigest(location, sha256(data)) });
    assert.equal(put.statusCode, 201);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${sha256(data)}` });
    assert.deepEqual(get.rawPayload, data);
  });

  it('a PATCH without Content-Length (chunked) is held when small and streamed to the store when not', async (t) => {
    const app = await testApp(t, { filesystem: true });
    const base = await app.listen();
    const patchChunked = (location: string, data: Buffer) =>
      new Promise<{ status: number; range: string | undefined }>((resolve, reject) => {
        const request = http.request(new URL(location, base), { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' } });
        request.on('error', reject);
        request.on('response', (response) => {
          response.resume();
          resolve({ status: response.statusCode ?? 0, range: response.headers.range });
        });
        for (let offset = 0; offset < data.length; offset += 16 * 1024) request.write(data.subarray(offset, offset + 16 * 1024));
        request.end();
      });
    for (const size of [3000, inlineBlobBytes + 1]) {
      const data = patternBytes(size, size);
      const location = await startUpload(app, 'acme/app');
      assert.deepEqual(await patchChunked(location, data), { status: 202, range: `0-${size - 1}` });
      const uploadFiles = (await storedFiles(app.dataDir)).filter((file) => file.startsWith('uploads'));
      assert.deepEqual(uploadFiles, size > inlineBlobBytes ? [path.join('uploads', location.split('/').pop() as string)] : []);
      const put = await app.inject({ method: 'PUT', url: withDigest(location, sha256(data)) });
      assert.equal(put.statusCode, 201);
      const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${sha256(data)}` });
      assert.deepEqual(get.rawPayload, data);
    }
  });

  it('a held upload survives a restart and completes on the new process', async (t) => {
    const first = await testApp(t);
    const data = Buffer.from('bytes held across a restart');
    const location = await startUpload(first, 'acme/app');
    const patch = await first.inject({ method: 'PATCH', url: location, payload: data.subarray(0, 10) });
    assert.equal(patch.statusCode, 202);
    await first.close();
    const second = await testApp(t, { dataDir: first.dataDir });
    const status = await second.inject({ method: 'GET', url: location });
    assert.equal(status.headers.range, '0-9');
    const put = await second.inject({ method: 'PUT', url: withDigest(location, sha256(data)), headers: { 'content-range': `10-${data.length - 1}` }, payload: data.subarray(10) });
    assert.equal(put.statusCode, 201);
    const get = await second.inject({ method: 'GET', url: `/v2/acme/app/blobs/${sha256(data)}` });
    assert.deepEqual(get.rawPayload, data);
  });
});
