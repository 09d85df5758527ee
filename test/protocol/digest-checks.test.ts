import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  type TestApp,
  emptyConfig,
  errorCode,
  imageManifest,
  mediaTypes,
  patternBytes,
  pushBlob,
  sha256,
  startUpload,
  testApp,
  withDigest,
} from './test-app.js';

/** Larger than what is kept in the metadata (64 KiB), so the bytes stream to the blob store. */
const KiB = 1024;
const large = patternBytes(100 * KiB, 20);
const wrong = sha256('not the bytes that were sent');

/** Every file under the data directory, relative to it. */
async function files(app: TestApp): Promise<string[]> {
  const entries = await readdir(app.dataDir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(app.dataDir, path.join(entry.parentPath, entry.name)));
}

/**
 * A refused push leaves no trace: neither digest is served, no blob file is named by either, and
 * no upload file is left behind (a session the client still holds is left to the caller to count).
 */
async function assertNothingStored(app: TestApp, digests: string[], kind: 'blobs' | 'manifests', uploadsLeft = 0): Promise<void> {
  for (const digest of digests) {
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/${kind}/${digest}` });
    assert.equal(get.statusCode, 404, `GET ${kind}/${digest}`);
  }
  const stored = await files(app);
  const hexes = digests.map((digest) => digest.split(':')[1]!);
  assert.deepEqual(stored.filter((file) => file.startsWith(`blobs${path.sep}`) && hexes.includes(path.basename(file))), []);
  assert.equal(stored.filter((file) => file.startsWith(`uploads${path.sep}`)).length, uploadsLeft, `upload files: ${stored.join(', ')}`);
}

function assertDigestInvalid(status: number, body: string, contentType: string | null): void {
  assert.equal(status, 400, body);
  assert.equal(contentType, 'application/json');
  assert.equal((JSON.parse(body) as { errors: Array<{ code: string }> }).errors[0]?.code, 'DIGEST_INVALID');
}

describe('content is stored only under its own digest', () => {
  it('POST ?digest=<wrong> with 100 KiB and a Content-Length answers 400 DIGEST_INVALID and stores nothing', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({
      method: 'POST',
      url: `/v2/acme/app/blobs/uploads/?digest=${wrong}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: large,
    });
    assertDigestInvalid(res.statusCode, res.body, String(res.headers['content-type']));
    await assertNothingStored(app, [wrong, sha256(large)], 'blobs');
  });

  it('POST ?digest=<wrong> with 100 KiB in chunked transfer coding (no Content-Length) answers 400 DIGEST_INVALID and stores nothing', async (t) => {
    const app = await testApp(t);
    const base = await app.listen();
    let offset = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= large.length) return controller.close();
        controller.enqueue(new Uint8Array(large.subarray(offset, offset + 16 * KiB)));
        offset += 16 * KiB;
      },
    });
    const res = await fetch(`${base}/v2/acme/app/blobs/uploads/?digest=${wrong}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body,
      duplex: 'half',
    } as RequestInit);
    assertDigestInvalid(res.status, await res.text(), res.headers.get('content-type'));
    assert.equal(offset >= large.length, true, 'the whole body was sent');
    await assertNothingStored(app, [wrong, sha256(large)], 'blobs');
  });

  it("PATCH then PUT ?digest=<wrong> on a session (100 KiB, last chunk in the PUT) answers 400 DIGEST_INVALID and commits nothing", async (t) => {
    const app = await testApp(t, { filesystem: true });
    const location = await startUpload(app, 'acme/app');
    const half = 50 * KiB;
    const patch = await app.inject({
      method: 'PATCH',
      url: location,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${half - 1}` },
      payload: large.subarray(0, half),
    });
    assert.equal(patch.statusCode, 202, patch.body);
    const put = await app.inject({
      method: 'PUT',
      url: withDigest(location, wrong),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${half}-${large.length - 1}` },
      payload: large.subarray(half),
    });
    assertDigestInvalid(put.statusCode, put.body, String(put.headers['content-type']));
    // The session stays for the client to retry or cancel (its bytes are not a blob).
    await assertNothingStored(app, [wrong, sha256(large)], 'blobs', 1);
    assert.equal((await app.inject({ method: 'DELETE', url: location })).statusCode, 204);
    await assertNothingStored(app, [wrong, sha256(large)], 'blobs');
  });

  it('PUT /v2/<name>/manifests/<wrong digest> answers 400 DIGEST_INVALID and stores no manifest under either digest', async (t) => {
    const app = await testApp(t);
    await pushBlob(app, 'acme/app', emptyConfig.bytes, mediaTypes.ociEmpty);
    const manifest = imageManifest({ config: emptyConfig.descriptor(), annotations: { purpose: 'digest check' } });
    const res = await app.inject({
      method: 'PUT',
      url: `/v2/acme/app/manifests/${wrong}`,
      headers: { 'content-type': manifest.mediaType },
      payload: manifest.bytes,
    });
    assertDigestInvalid(res.statusCode, res.body, String(res.headers['content-type']));
    assert.equal(errorCode(res), 'DIGEST_INVALID');
    await assertNothingStored(app, [wrong, manifest.digest], 'manifests');
    const tags = await app.inject({ method: 'GET', url: '/v2/acme/app/tags/list' });
    assert.deepEqual(tags.json().tags ?? [], []);
  });
});
