import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Digest } from '../../src/oci/digest.js';
import { FsBlobStore } from '../../src/storage/fs/fs-blob-store.js';
import { patternBytes, pushBlob, testApp } from './test-app.js';

/** A store that can hand out its blobs itself, as an object store with presigned URLs can. */
class RedirectingStore extends FsBlobStore {
  async redirectUrl(digest: Digest): Promise<string | undefined> {
    return `https://blobs.example/${digest}?signature=abc`;
  }
}

async function redirectingApp(t: Parameters<typeof testApp>[0]) {
  return testApp(t, {
    blobStore: async (dataDir) => {
      const store = new RedirectingStore(dataDir);
      await store.init();
      return store;
    },
  });
}

describe('blob pulls from a store that offers its own URLs', () => {
  it('a GET is a 307 to the store’s URL, not cached, with the digest; with a range too', async (t) => {
    const app = await redirectingApp(t);
    // Larger than the blobs kept in the metadata, so the bytes are in the store.
    const blob = await pushBlob(app, 'acme/big', patternBytes(200 * 1024));
    for (const headers of [{}, { range: 'bytes=0-99' }]) {
      const response = await app.inject({ method: 'GET', url: `/v2/acme/big/blobs/${blob.digest}`, headers });
      assert.equal(response.statusCode, 307);
      assert.equal(response.headers.location, `https://blobs.example/${blob.digest}?signature=abc`);
      assert.equal(response.headers['docker-content-digest'], blob.digest);
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.equal(response.headers['content-range'], undefined);
      assert.equal(response.body, '');
    }
  });

  it('a HEAD still answers the size itself, and a blob kept in the metadata is sent, not redirected', async (t) => {
    const app = await redirectingApp(t);
    const big = await pushBlob(app, 'acme/app', patternBytes(200 * 1024));
    const head = await app.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${big.digest}` });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], String(200 * 1024));
    const small = await pushBlob(app, 'acme/app', Buffer.from('a small config'));
    const get = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${small.digest}` });
    assert.equal(get.statusCode, 200);
    assert.equal(get.body, 'a small config');
  });

  it('a blob the repository cannot see is BLOB_UNKNOWN, never a redirect', async (t) => {
    const app = await redirectingApp(t);
    const blob = await pushBlob(app, 'acme/app', patternBytes(200 * 1024));
    const response = await app.inject({ method: 'GET', url: `/v2/acme/other/blobs/${blob.digest}` });
    assert.equal(response.statusCode, 404);
    assert.equal(response.headers.location, undefined);
    assert.equal(response.json().errors[0].code, 'BLOB_UNKNOWN');
  });
});
