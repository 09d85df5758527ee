import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { describe, it } from 'node:test';
import { eventually } from '../support/eventually.js';
import { patternBytes, sha256, testApp, withDigest } from './test-app.js';

const MiB = 1024 * 1024;

/** Sends `body` in 64 KiB writes with chunked transfer coding (no Content-Length), as docker does. */
function streamRequest(
  base: string,
  method: string,
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(new URL(path, base), { method, headers: { 'content-type': 'application/octet-stream', ...headers } });
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }));
    });
    let offset = 0;
    const writeMore = () => {
      while (offset < body.length) {
        const piece = body.subarray(offset, offset + 64 * 1024);
        offset += piece.length;
        if (!request.write(piece)) {
          request.once('drain', writeMore);
          return;
        }
      }
      request.end();
    };
    writeMore();
  });
}

async function waitForIdle(uploads: { inProgress: number }): Promise<void> {
  assert.equal(await eventually(() => uploads.inProgress, (count) => count === 0), 0, 'the aborted PATCH should have finished on the server');
}

describe('streamed uploads on a real socket', () => {
  it('POST, a streamed 8 MiB PATCH without Content-Length (202, Range: 0-8388607), PUT empty body 201, GET returns the same bytes', async (t) => {
    const app = await testApp(t);
    const base = await app.listen();
    const data = patternBytes(8 * MiB, 7);
    const digest = sha256(data);

    const post = await fetch(`${base}/v2/acme/big/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } });
    assert.equal(post.status, 202);
    const location = post.headers.get('location') as string;

    const patch = await streamRequest(base, 'PATCH', location, data);
    assert.equal(patch.status, 202, patch.body);
    assert.equal(patch.headers.range, `0-${8 * MiB - 1}`);
    assert.equal(patch.headers.location, location);

    const put = await fetch(`${base}${withDigest(location, digest)}`, { method: 'PUT', headers: { 'content-length': '0' } });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('location'), `/v2/acme/big/blobs/${digest}`);

    const get = await fetch(`${base}/v2/acme/big/blobs/${digest}`);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-length'), String(8 * MiB));
    const hash = createHash('sha256');
    for await (const chunk of get.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
    assert.equal(`sha256:${hash.digest('hex')}`, digest);
  });

  it('POST ?digest= streaming 4 MiB with chunked transfer coding answers 201', async (t) => {
    const app = await testApp(t);
    const base = await app.listen();
    const data = patternBytes(4 * MiB, 11);
    const res = await streamRequest(base, 'POST', `/v2/acme/big/blobs/uploads/?digest=${sha256(data)}`, data);
    assert.equal(res.status, 201, res.body);
    assert.equal(res.headers.location, `/v2/acme/big/blobs/${sha256(data)}`);
    const head = await fetch(`${base}/v2/acme/big/blobs/${sha256(data)}`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(4 * MiB));
  });

  it('PUT with the whole 3 MiB blob streamed in the body (containerd style) answers 201', async (t) => {
    const app = await testApp(t);
    const base = await app.listen();
    const data = patternBytes(3 * MiB, 3);
    const post = await fetch(`${base}/v2/acme/big/blobs/uploads/`, { method: 'POST' });
    const location = post.headers.get('location') as string;
    const res = await streamRequest(base, 'PUT', withDigest(location, sha256(data)), data, { 'content-length': String(data.length) });
    assert.equal(res.status, 201, res.body);
    assert.equal(res.headers['docker-content-digest'], sha256(data));
  });

  it('a client that aborts mid-PATCH resumes from the Range the server reports, and PUT verifies the whole blob', async (t) => {
    const app = await testApp(t, { filesystem: true });
    const base = await app.listen();
    const data = patternBytes(6 * MiB, 5);
    const digest = sha256(data);

    const post = await fetch(`${base}/v2/acme/resume/blobs/uploads/`, { method: 'POST' });
    const location = post.headers.get('location') as string;

    // Announce the whole blob, send 2 MiB, and drop the connection once the server has stored some.
    const uploadFile = path.join(app.dataDir, 'uploads', location.split('/').pop() as string);
    const request = http.request(new URL(location, base), {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    });
    request.on('error', () => undefined);
    request.write(data.subarray(0, 2 * MiB));
    // The store's upload is made when the first bytes too many for the metadata to hold arrive.
    const stored = await eventually(() => stat(uploadFile).then((info) => info.size, () => 0), (size) => size > 0);
    assert.ok(stored > 0, 'the server wrote some of the chunk before the client went away');
    request.destroy();
    await waitForIdle(app.services.uploads);

    const status = await fetch(`${base}${location}`);
    assert.equal(status.status, 204);
    const range = status.headers.get('range') as string;
    const match = /^0-(\d+)$/.exec(range);
    assert.ok(match, `Range ${range}`);
    const received = Number(match[1]) + 1;
    assert.ok(received > 0 && received <= 2 * MiB, `received ${received} bytes`);

    const rest = data.subarray(received);
    const resumed = await streamRequest(base, 'PATCH', status.headers.get('location') as string, rest, {
      'content-range': `${received}-${data.length - 1}`,
      'content-length': String(rest.length),
    });
    assert.equal(resumed.status, 202, resumed.body);
    assert.equal(resumed.headers.range, `0-${data.length - 1}`);

    const put = await fetch(`${base}${withDigest(location, digest)}`, { method: 'PUT' });
    assert.equal(put.status, 201, await put.text());
    const head = await fetch(`${base}/v2/acme/resume/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(data.length));
  });

  it('HEAD of a blob on a real socket answers its Content-Length with no body', async (t) => {
    const app = await testApp(t);
    const base = await app.listen();
    const data = patternBytes(100_000, 9);
    const post = await fetch(`${base}/v2/acme/head/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: new Uint8Array(data) });
    assert.equal(post.status, 201);
    const head = await fetch(`${base}/v2/acme/head/blobs/${sha256(data)}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '100000');
    assert.equal(head.headers.get('docker-content-digest'), sha256(data));
  });
});
