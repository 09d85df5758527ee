import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { authApp } from '../auth/helpers.js';
import { RawConnection } from '../support/raw-http.js';
import { built, emptyConfig, imageManifest, mediaTypes, patternBytes, pushBlob, startUpload, testApp, withDigest } from './test-app.js';

// Short enough for a test, long enough that a client sending without pause never meets it.
const bodyTimeout = '300ms';

async function listening(t: TestContext) {
  // What a stalled body leaves is the filesystem store's: an object store keeps no part of an
  // append cut short, and the client resumes from the offset it is told.
  const app = await testApp(t, { config: { bodyTimeout }, filesystem: true });
  return { app, url: await app.listen() };
}

/** Sends a request head and the first part of its body, then nothing more. */
async function stall(t: TestContext, url: string, head: string, firstPart: Buffer | string): Promise<RawConnection> {
  const connection = await RawConnection.open(t, url);
  connection.write(`${head}\r\nHost: registry.test\r\n\r\n`);
  connection.write(firstPart);
  return connection;
}

/** The server answers 408 in the given envelope and closes the connection. */
async function assertTimedOut(connection: RawConnection): Promise<void> {
  const response = await connection.response();
  assert.equal(response.status, 408);
  assert.equal(response.headers.connection, 'close');
  await connection.closed();
}

describe('request body timeout', () => {
  it('a PATCH that stalls halfway answers 408 and closes; the upload keeps the bytes received and resumes with PATCH and PUT', async (t) => {
    const { app, url } = await listening(t);
    const blob = patternBytes(1000);
    const location = await startUpload(app, 'acme/app');
    const connection = await stall(t, url, `PATCH ${location} HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${blob.length}`, blob.subarray(0, 400));
    const response = await connection.response();
    assert.equal(response.status, 408);
    assert.equal(JSON.parse(response.body.toString()).errors[0].code, 'BLOB_UPLOAD_INVALID');
    await connection.closed();

    const status = await app.inject({ method: 'GET', url: location });
    assert.equal(status.statusCode, 204);
    assert.equal(status.headers.range, '0-399', 'the bytes received before the stall were kept');
    const patch = await app.inject({ method: 'PATCH', url: location, headers: { 'content-range': '400-999', 'content-type': 'application/octet-stream' }, payload: blob.subarray(400) });
    assert.equal(patch.statusCode, 202, 'the upload is no longer held by the stalled request');
    assert.equal(patch.headers.range, '0-999');
    const put = await app.inject({ method: 'PUT', url: withDigest(String(patch.headers.location), built(blob, '').digest) });
    assert.equal(put.statusCode, 201, put.body);
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${built(blob, '').digest}` });
    assert.deepEqual(get.rawPayload, blob);
  });

  it('a chunked PATCH that stalls answers 408 and closes, and keeps the bytes received', async (t) => {
    const { app, url } = await listening(t);
    const location = await startUpload(app, 'acme/app');
    const connection = await stall(t, url, `PATCH ${location} HTTP/1.1\r\nTransfer-Encoding: chunked`, '5\r\nhello\r\n');
    await assertTimedOut(connection);
    const status = await app.inject({ method: 'GET', url: location });
    assert.equal(status.headers.range, '0-4');
  });

  it('a PUT with a last chunk that stalls answers 408 and closes; a PUT with the rest completes the blob', async (t) => {
    const { app, url } = await listening(t);
    const blob = patternBytes(600, 7);
    const digest = built(blob, '').digest;
    const location = await startUpload(app, 'acme/app');
    const connection = await stall(t, url, `PUT ${withDigest(location, digest)} HTTP/1.1\r\nContent-Length: ${blob.length}`, blob.subarray(0, 250));
    await assertTimedOut(connection);
    assert.equal((await app.inject({ method: 'GET', url: location })).headers.range, '0-249');
    const put = await app.inject({ method: 'PUT', url: withDigest(location, digest), headers: { 'content-range': '250-599' }, payload: blob.subarray(250) });
    assert.equal(put.statusCode, 201, put.body);
  });

  for (const size of [1000, 200_000]) {
    it(`a monolithic POST ?digest= of ${size} bytes that stalls answers 408 and closes; the push then succeeds`, async (t) => {
      const { app, url } = await listening(t);
      const blob = patternBytes(size, 3);
      const digest = built(blob, '').digest;
      const connection = await stall(t, url, `POST /v2/acme/app/blobs/uploads/?digest=${digest} HTTP/1.1\r\nContent-Length: ${size}`, blob.subarray(0, size / 2));
      await assertTimedOut(connection);
      assert.equal((await app.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${digest}` })).statusCode, 404);
      await pushBlob(app, 'acme/app', blob);
    });
  }

  it('a manifest PUT that stalls answers 408 and closes; the push then succeeds', async (t) => {
    const { app, url } = await listening(t);
    await pushBlob(app, 'acme/app', emptyConfig.bytes, emptyConfig.mediaType);
    const manifest = imageManifest({ config: emptyConfig.descriptor() });
    const connection = await stall(
      t,
      url,
      `PUT /v2/acme/app/manifests/v1 HTTP/1.1\r\nContent-Type: ${mediaTypes.ociManifest}\r\nContent-Length: ${manifest.size}`,
      manifest.bytes.subarray(0, 20),
    );
    await assertTimedOut(connection);
    assert.equal((await app.inject({ method: 'GET', url: '/v2/acme/app/manifests/v1' })).statusCode, 404);
    const put = await app.inject({ method: 'PUT', url: '/v2/acme/app/manifests/v1', headers: { 'content-type': mediaTypes.ociManifest }, payload: manifest.bytes });
    assert.equal(put.statusCode, 201);
  });

  it('a JSON body to /api that stalls answers 408 with a message and closes', async (t) => {
    const app = await authApp(t, { bodyTimeout });
    const alice = await app.user('alice');
    await app.berth.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.berth.app.server.address() as { port: number };
    const body = JSON.stringify({ scopes: ['read:packages'], note: 'stalled' });
    const connection = await stall(
      t,
      `http://127.0.0.1:${port}`,
      `POST /api/user/tokens HTTP/1.1\r\nAuthorization: Bearer ${alice.token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}`,
      body.slice(0, 10),
    );
    const response = await connection.response();
    assert.equal(response.status, 408);
    assert.match(JSON.parse(response.body.toString()).message, /request body/);
    await connection.closed();
  });
});
