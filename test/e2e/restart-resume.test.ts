// Uploads and content survive a server restart: a chunked upload started before SIGTERM resumes
// on the same data dir afterwards (distribution-spec "Pushing a blob in chunks", upload status).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { buildImage, deterministicBytes, sha256 } from '../support/oci-layout.js';
import { absoluteLocation, bodyOf, getBlob, getManifest, pushImage, registryFetch, withQuery } from '../support/registry-http.js';
import { startRegistry } from '../support/registry-process.js';
import type { RegistryHandle } from '../support/registry-process.js';

async function registryFor(t: TestContext): Promise<RegistryHandle> {
  const registry = await startRegistry();
  t.after(() => registry.close());
  return registry;
}

/** PATCHes one chunk at `offset`; returns the response (body consumed). */
async function patchChunk(registry: RegistryHandle, location: string, chunk: Buffer, offset: number): Promise<Response> {
  const res = await registryFetch(registry, location, {
    method: 'PATCH',
    headers: {
      'Content-Type': 'application/octet-stream',
      'Content-Range': `${offset}-${offset + chunk.length - 1}`,
      'Content-Length': String(chunk.length),
    },
    body: bodyOf(chunk),
  });
  await res.arrayBuffer();
  return res;
}

describe('restart and resume', { timeout: 300_000 }, () => {
  it('PATCH, SIGTERM and restart, GET upload status 204 with Range, PATCH the rest, PUT ?digest=, GET blob', async (t) => {
    const registry = await registryFor(t);
    const repo = 'e2e/restart/upload';
    const blob = deterministicBytes('restart-resume', 3 * 1024 * 1024 + 123);
    const digest = sha256(blob);
    const first = blob.subarray(0, 1024 * 1024 + 7);
    const rest = blob.subarray(first.length);

    const start = await registryFetch(registry, `/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    await start.arrayBuffer();
    assert.equal(start.status, 202, 'POST /blobs/uploads/');
    let location = absoluteLocation(registry, start);

    const patched = await patchChunk(registry, location, first, 0);
    assert.equal(patched.status, 202, 'PATCH first chunk');
    assert.equal(patched.headers.get('range'), `0-${first.length - 1}`);
    location = absoluteLocation(registry, patched);

    const pidBefore = registry.pid();
    await registry.restart();
    assert.notEqual(registry.pid(), pidBefore, 'a new server process');

    const status = await registryFetch(registry, location);
    await status.arrayBuffer();
    assert.equal(status.status, 204, 'GET upload status after restart');
    assert.equal(status.headers.get('range'), `0-${first.length - 1}`);
    if (status.headers.has('location')) location = absoluteLocation(registry, status);

    const patchedRest = await patchChunk(registry, location, rest, first.length);
    assert.equal(patchedRest.status, 202, 'PATCH second chunk after restart');
    assert.equal(patchedRest.headers.get('range'), `0-${blob.length - 1}`);
    location = absoluteLocation(registry, patchedRest);

    const put = await registryFetch(registry, withQuery(location, 'digest', digest), { method: 'PUT' });
    await put.arrayBuffer();
    assert.equal(put.status, 201, 'PUT ?digest= closes the upload');
    assert.equal(put.headers.get('docker-content-digest'), digest);

    assert.deepEqual(await getBlob(registry, repo, digest), blob);
    const head = await registryFetch(registry, `/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(blob.length));
  });

  it('after a restart, an out-of-order PATCH is 416 and the upload still completes', async (t) => {
    const registry = await registryFor(t);
    if (registry.kind === 'distribution') {
      t.skip('Distribution 2.8 does not answer 416 for out-of-order chunks (Berth follows the spec)');
      return;
    }
    const repo = 'e2e/restart/out-of-order';
    const blob = deterministicBytes('out-of-order', 256 * 1024);
    const digest = sha256(blob);
    const half = blob.length / 2;

    const start = await registryFetch(registry, `/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    await start.arrayBuffer();
    assert.equal(start.status, 202);
    let location = absoluteLocation(registry, start);
    const first = await patchChunk(registry, location, blob.subarray(0, half), 0);
    assert.equal(first.status, 202);
    location = absoluteLocation(registry, first);

    await registry.restart();

    const repeated = await patchChunk(registry, location, blob.subarray(0, half), 0);
    assert.equal(repeated.status, 416, 'a repeated chunk is 416 Range Not Satisfiable');
    const status = await registryFetch(registry, location);
    await status.arrayBuffer();
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${half - 1}`, 'the refused chunk changed nothing');

    const second = await patchChunk(registry, location, blob.subarray(half), half);
    assert.equal(second.status, 202);
    location = absoluteLocation(registry, second);
    const put = await registryFetch(registry, withQuery(location, 'digest', digest), { method: 'PUT' });
    await put.arrayBuffer();
    assert.equal(put.status, 201);
    assert.deepEqual(await getBlob(registry, repo, digest), blob);
  });

  it('a pushed image, its tag and its blobs are served unchanged after a restart', async (t) => {
    const registry = await registryFor(t);
    const repo = 'e2e/restart/image';
    const image = buildImage({ layers: [{ 'etc/restart': 'before\n' }, { 'srv/blob': deterministicBytes('layer', 50_000) }] });
    await pushImage(registry, repo, image, 'v1');

    await registry.restart();

    const fetched = await getManifest(registry, repo, 'v1');
    assert.deepEqual(fetched.bytes, image.manifest.bytes);
    assert.equal(fetched.digest, image.manifest.descriptor.digest);
    for (const blob of image.blobs) assert.deepEqual(await getBlob(registry, repo, blob.descriptor.digest), blob.bytes);
    const tags = await registryFetch(registry, `/v2/${repo}/tags/list`);
    assert.equal(tags.status, 200);
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['v1']);
  });
});
