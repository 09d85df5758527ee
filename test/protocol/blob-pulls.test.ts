import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readlink } from 'node:fs/promises';
import http from 'node:http';
import { describe, it } from 'node:test';
import { eventually } from '../support/eventually.js';
import { patternBytes, pushBlob, testApp } from './test-app.js';

const MiB = 1024 * 1024;

function get(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => http.get(url, { headers, agent: false }, resolve).on('error', reject));
}

async function digestOfBody(response: http.IncomingMessage): Promise<{ digest: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, bytes };
}

/** Files of this process whose path contains `part` (Linux /proc). */
async function openFiles(part: string): Promise<string[]> {
  const links = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return links.filter((link) => link.includes(part));
}

describe('blob pulls over a real socket', () => {
  it('GET of a 9 MiB blob delivers every byte, and a ranged GET the exact slice', async (t) => {
    const app = await testApp(t);
    const data = patternBytes(9 * MiB + 123);
    const blob = await pushBlob(app, 'acme/big', data);
    const base = await app.listen();
    const whole = await get(`${base}/v2/acme/big/blobs/${blob.digest}`);
    assert.equal(whole.statusCode, 200);
    assert.equal(whole.headers['content-length'], String(data.length));
    assert.equal(whole.headers['docker-content-digest'], blob.digest);
    assert.ok(whole.headers['x-request-id'], 'the headers set before the body is sent are there');
    assert.deepEqual(await digestOfBody(whole), { digest: blob.digest, bytes: data.length });
    // The body is written past Fastify's reply; the request is still counted once it finishes,
    // which is after the client has the last byte.
    const counted = /berth_http_requests_total\{route="blob_get",method="GET",status="200"\} 1\n/;
    const metrics = await eventually(() => app.inject({ method: 'GET', url: '/metrics' }), (res) => counted.test(res.body));
    assert.match(metrics.body, counted);

    const start = 3 * MiB - 7;
    const end = 7 * MiB + 11;
    const ranged = await get(`${base}/v2/acme/big/blobs/${blob.digest}`, { Range: `bytes=${start}-${end}` });
    assert.equal(ranged.statusCode, 206);
    assert.equal(ranged.headers['content-range'], `bytes ${start}-${end}/${data.length}`);
    const expected = createHash('sha256').update(data.subarray(start, end + 1)).digest('hex');
    assert.deepEqual(await digestOfBody(ranged), { digest: `sha256:${expected}`, bytes: end - start + 1 });
  });

  it('a client that goes away mid-pull leaves the server serving the next pull in full', async (t) => {
    const app = await testApp(t);
    const data = patternBytes(24 * MiB, 7);
    const blob = await pushBlob(app, 'acme/big', data);
    const base = await app.listen();
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await get(`${base}/v2/acme/big/blobs/${blob.digest}`);
      assert.equal(response.statusCode, 200);
      await new Promise<void>((resolve) => response.once('data', () => resolve()));
      response.destroy();
    }
    const hex = blob.digest.slice('sha256:'.length);
    assert.deepEqual(await eventually(() => openFiles(hex), (open) => open.length === 0), [], 'the aborted pulls closed the blob file');
    const complete = await get(`${base}/v2/acme/big/blobs/${blob.digest}`);
    assert.deepEqual(await digestOfBody(complete), { digest: blob.digest, bytes: data.length });
    const health = await get(`${base}/healthz`);
    assert.equal(health.statusCode, 200);
    health.resume();
  });
});
