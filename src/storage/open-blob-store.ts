import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs/fs-blob-store.js';

/** Opens the blob store of a data directory: the one way the server reaches one. */
export async function openBlobStore(dataDir: string): Promise<BlobStore> {
  const store = new FsBlobStore(dataDir);
  await store.init();
  return store;
}
