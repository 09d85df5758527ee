import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { tempDatabase } from '../../test/support/temp-database.js';
import { type Digest, digestOf } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest-shape.js';
import type { RepositoryName } from '../oci/names.js';
import { BlobService } from '../registry/blob-service.js';
import { RegistryMetadata } from '../registry/metadata.js';
import { FsBlobStore } from '../storage/fs/fs-blob-store.js';
import { ConfigLabels } from './config-labels.js';

/** A blob service that counts the blob reads. */
class CountingBlobs extends BlobService {
  reads = 0;
  override content(digest: Digest, maxBytes: number): Promise<Buffer | undefined> {
    this.reads++;
    return super.content(digest, maxBytes);
  }
}

const configType = 'application/vnd.oci.image.config.v1+json';

async function setup(t: TestContext) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'berth-config-labels-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const store = new FsBlobStore(root);
  await store.init();
  const metadata = new RegistryMetadata(await tempDatabase(t));
  const blobs = new CountingBlobs(store, metadata);
  let uploads = 0;
  /** Stores a configuration in the blob store, or kept in the metadata when `inline`. */
  const storeConfig = async (labels: Record<string, string>, inline = false): Promise<Descriptor> => {
    const content = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: labels } }));
    const digest = digestOf(content);
    if (inline) {
      await metadata.linkBlob('acme/app' as RepositoryName, digest, content.length, { content });
    } else {
      const id = `upload-${uploads++}`;
      await store.createUpload(id);
      await store.appendUpload(id, 0, Readable.from([content]));
      await store.commitUpload(id, digest);
    }
    return { mediaType: configType, digest, size: content.length };
  };
  return { blobs, metadata, storeConfig };
}

describe('ConfigLabels', () => {
  it('reads a configuration once, keeping only the package labels, cut to their limits', async (t) => {
    const { blobs, storeConfig } = await setup(t);
    const config = await storeConfig({
      'org.opencontainers.image.description': 'é'.repeat(600),
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'com.example.unrelated': 'x'.repeat(10_000),
    });
    const labels = new ConfigLabels(blobs);
    const first = await labels.of(config);
    assert.deepEqual(first, { 'org.opencontainers.image.description': 'é'.repeat(512), 'org.opencontainers.image.licenses': 'Apache-2.0' });
    assert.deepEqual(await labels.of(config), first);
    assert.equal(blobs.reads, 1);
  });

  it('reads a small configuration kept in the metadata', async (t) => {
    const { blobs, storeConfig } = await setup(t);
    const config = await storeConfig({ 'org.opencontainers.image.source': 'https://example.com/acme/app' }, true);
    assert.deepEqual(await new ConfigLabels(blobs).of(config), { 'org.opencontainers.image.source': 'https://example.com/acme/app' });
  });

  it('does not remember a configuration that is not stored yet', async (t) => {
    const { blobs, metadata } = await setup(t);
    const labels = new ConfigLabels(blobs);
    const content = Buffer.from('{"config":{"Labels":{"org.opencontainers.image.source":"https://example.com/a/b"}}}');
    const missing = { mediaType: configType, digest: digestOf(content), size: content.length };
    assert.equal(await labels.of(missing), undefined);
    await metadata.linkBlob('acme/app' as RepositoryName, missing.digest, content.length, { content });
    assert.deepEqual(await labels.of(missing), { 'org.opencontainers.image.source': 'https://example.com/a/b' });
  });

  it('forgets the least recently used configuration beyond its capacity', async (t) => {
    const { blobs, storeConfig } = await setup(t);
    const [a, b, c] = [
      await storeConfig({ 'org.opencontainers.image.title': 'a' }),
      await storeConfig({ 'org.opencontainers.image.title': 'b' }),
      await storeConfig({ 'org.opencontainers.image.title': 'c' }),
    ] as [Descriptor, Descriptor, Descriptor];
    const labels = new ConfigLabels(blobs, 2);
    await labels.of(a);
    await labels.of(b);
    await labels.of(a);
    await labels.of(c);
    const before = blobs.reads;
    await labels.of(a);
    assert.equal(blobs.reads, before, 'a was used recently and is still known');
    await labels.of(b);
    assert.equal(blobs.reads, before + 1, 'b was the least recently used and was read again');
  });

  it('ignores configurations of other media types without reading them', async (t) => {
    const { blobs, storeConfig } = await setup(t);
    const config = await storeConfig({ 'org.opencontainers.image.title': 'not a config' });
    assert.equal(await new ConfigLabels(blobs).of({ ...config, mediaType: 'application/octet-stream' }), undefined);
    assert.equal(blobs.reads, 0);
  });
});
