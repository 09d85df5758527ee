import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { type Digest, digestOf } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import type { ByteRange } from '../storage/blob-store.js';
import { FsBlobStore } from '../storage/fs/fs-blob-store.js';
import { ConfigLabels } from './config-labels.js';

const root = await mkdtemp(path.join(os.tmpdir(), 'berth-config-labels-'));
after(() => rm(root, { recursive: true, force: true }));

/** A filesystem store that counts the blob reads. */
class CountingStore extends FsBlobStore {
  reads = 0;
  override read(digest: Digest, range?: ByteRange): Readable {
    this.reads++;
    return super.read(digest, range);
  }
}

const store = new CountingStore(root);
await store.init();
let uploads = 0;

async function storeConfig(labels: Record<string, string>): Promise<Descriptor> {
  const content = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: labels } }));
  const digest = digestOf(content);
  const id = `upload-${uploads++}`;
  await store.createUpload(id);
  await store.appendUpload(id, Readable.from([content]));
  await store.commitUpload(id, digest);
  return { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: content.length };
}

describe('ConfigLabels', () => {
  it('reads a configuration once, keeping only the package labels, cut to their limits', async () => {
    const config = await storeConfig({
      'org.opencontainers.image.description': 'é'.repeat(600),
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'com.example.unrelated': 'x'.repeat(10_000),
    });
    const labels = new ConfigLabels(store);
    const before = store.reads;
    const first = await labels.of(config);
    assert.deepEqual(first, { 'org.opencontainers.image.description': 'é'.repeat(512), 'org.opencontainers.image.licenses': 'Apache-2.0' });
    assert.deepEqual(await labels.of(config), first);
    assert.equal(store.reads - before, 1);
  });

  it('does not remember a configuration that is not stored yet', async () => {
    const labels = new ConfigLabels(store);
    const content = Buffer.from('{"config":{"Labels":{"org.opencontainers.image.source":"https://example.com/a/b"}}}');
    const missing = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(content), size: content.length };
    assert.equal(await labels.of(missing), undefined);
    const id = `upload-${uploads++}`;
    await store.createUpload(id);
    await store.appendUpload(id, Readable.from([content]));
    await store.commitUpload(id, missing.digest);
    assert.deepEqual(await labels.of(missing), { 'org.opencontainers.image.source': 'https://example.com/a/b' });
  });

  it('forgets the least recently used configuration beyond its capacity', async () => {
    const [a, b, c] = [
      await storeConfig({ 'org.opencontainers.image.title': 'a' }),
      await storeConfig({ 'org.opencontainers.image.title': 'b' }),
      await storeConfig({ 'org.opencontainers.image.title': 'c' }),
    ] as [Descriptor, Descriptor, Descriptor];
    const labels = new ConfigLabels(store, 2);
    await labels.of(a);
    await labels.of(b);
    await labels.of(a);
    await labels.of(c);
    const before = store.reads;
    await labels.of(a);
    assert.equal(store.reads, before, 'a was used recently and is still known');
    await labels.of(b);
    assert.equal(store.reads, before + 1, 'b was the least recently used and was read again');
  });

  it('ignores configurations of other media types without reading them', async () => {
    const config = await storeConfig({ 'org.opencontainers.image.title': 'not a config' });
    const labels = new ConfigLabels(store);
    const before = store.reads;
    assert.equal(await labels.of({ ...config, mediaType: 'application/octet-stream' }), undefined);
    assert.equal(store.reads, before);
  });
});
