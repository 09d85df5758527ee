import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { authApp, basic, pushImage } from '../auth/helpers.js';
import { RawConnection, chunk, lastChunk } from '../support/raw-http.js';
import { built, mediaTypes, patternBytes, testApp } from './test-app.js';

const MiB = 1024 * 1024;

/** Sends a request with a chunked body (no Content-Length), in 64 KiB chunks. */
async function sendChunked(t: TestContext, url: string, head: string, body: Buffer): Promise<RawConnection> {
  const connection = await RawConnection.open(t, url);
  connection.write(`${head}\r\nHost: registry.test\r\nTransfer-Encoding: chunked\r\n\r\n`);
  for (let offset = 0; offset < body.length; offset += 64 * 1024) connection.write(chunk(body.subarray(offset, offset + 64 * 1024)));
  connection.write(lastChunk);
  return connection;
}

async function listeningAuthApp(t: TestContext) {
  const app = await authApp(t);
  await app.berth.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.berth.app.server.address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}` };
}

describe('bodies over a limit sent without Content-Length', () => {
  it('a chunked manifest PUT over 4 MiB answers 413 SIZE_INVALID in the OCI envelope', async (t) => {
    const app = await testApp(t);
    const url = await app.listen();
    const connection = await sendChunked(t, url, `PUT /v2/acme/app/manifests/v1 HTTP/1.1\r\nContent-Type: ${mediaTypes.ociManifest}`, Buffer.alloc(4 * MiB + 1, 0x20));
    const response = await connection.response();
    assert.equal(response.status, 413);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.equal(JSON.parse(response.body.toString()).errors[0].code, 'SIZE_INVALID');
  });

  it('a chunked blob far over maxBlobBytes answers 413 SIZE_INVALID in the OCI envelope (POST ?digest= and PATCH)', async (t) => {
    const app = await testApp(t, { config: { maxBlobBytes: String(256 * 1024) } });
    const url = await app.listen();
    const blob = patternBytes(8 * MiB);
    const post = await sendChunked(t, url, `POST /v2/acme/app/blobs/uploads/?digest=${built(blob, '').digest} HTTP/1.1`, blob);
    const posted = await post.response();
    assert.equal(posted.status, 413);
    assert.equal(JSON.parse(posted.body.toString()).errors[0].code, 'SIZE_INVALID');

    const start = await app.inject({ method: 'POST', url: '/v2/acme/app/blobs/uploads/' });
    const patch = await sendChunked(t, url, `PATCH ${start.headers.location} HTTP/1.1`, blob);
    const patched = await patch.response();
    assert.equal(patched.status, 413);
    assert.equal(JSON.parse(patched.body.toString()).errors[0].code, 'SIZE_INVALID');
  });

  it('a chunked 70 KB form to POST /token answers 413 in the OCI envelope', async (t) => {
    const { url } = await listeningAuthApp(t);
    const form = Buffer.from(`grant_type=password&username=alice&password=x&scope=${'a'.repeat(70 * 1024)}`);
    const connection = await sendChunked(t, url, 'POST /token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded', form);
    const response = await connection.response();
    assert.equal(response.status, 413);
    assert.equal(JSON.parse(response.body.toString()).errors[0].code, 'SIZE_INVALID');
  });

  it('a chunked JSON body over 64 KiB to PUT .../roles answers 413 with a message', async (t) => {
    const { app, url } = await listeningAuthApp(t);
    const alice = await app.user('alice');
    await pushImage(app.berth, 'alice/app', basic('alice', alice.token));
    const body = Buffer.from(JSON.stringify({ user: 'bob', role: 'read', padding: 'x'.repeat(100 * 1024) }));
    const connection = await sendChunked(
      t,
      url,
      `PUT /api/user/packages/container/app/roles HTTP/1.1\r\nAuthorization: Bearer ${alice.token}\r\nContent-Type: application/json`,
      body,
    );
    const response = await connection.response();
    assert.equal(response.status, 413, response.body.toString());
    assert.match(JSON.parse(response.body.toString()).message, /larger than/);
  });
});
