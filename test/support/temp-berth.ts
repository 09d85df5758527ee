import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { type Berth, type BerthOptions, createBerth } from '../../src/server.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { profileBlobStore } from './profile-blob-store.js';
import { profileDatabase } from './profile-database.js';

export interface TempBerth {
  berth: Berth;
  dataDir: string;
}

/**
 * For tests: a Berth in process, on a new temporary data directory (or `dataDir`, which its owner
 * removes), with `settings` as command-line flags would give them, on the suites' database profile
 * (`profile-database.ts`), once its first sweep has run. Closed, and a temporary directory removed,
 * after the test.
 */
export async function tempBerth(
  t: TestContext,
  settings: Record<string, string>,
  options: Omit<BerthOptions, 'blobStore'> & { dataDir?: string; blobStoreAt?: (dataDir: string) => Promise<BlobStore> },
): Promise<TempBerth> {
  const { dataDir: given, blobStoreAt, ...berthOptions } = options;
  const dataDir = given ?? (await mkdtemp(path.join(os.tmpdir(), 'berth-test-')));
  const database = berthOptions.database ?? (await profileDatabase(dataDir));
  const blobStore = blobStoreAt ? await blobStoreAt(dataDir) : profileBlobStore(dataDir);
  const berth = await createBerth(loadConfig({ dataDir, ...settings }, {}), { ...berthOptions, database, blobStore });
  // Tests begin where the start's sweep has ended, so that it never races what they set up.
  await berth.firstSweep;
  t.after(async () => {
    await berth.close();
    if (given === undefined) await rm(dataDir, { recursive: true, force: true });
  });
  return { berth, dataDir };
}
