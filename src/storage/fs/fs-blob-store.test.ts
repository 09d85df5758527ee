import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { blobStoreContract } from '../../../test/storage/blob-store-contract.js';
import { FsBlobStore } from './fs-blob-store.js';

const roots: string[] = [];
after(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

blobStoreContract('filesystem', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'berth-fs-store-'));
  roots.push(root);
  const store = new FsBlobStore(root);
  await store.init();
  return store;
});
