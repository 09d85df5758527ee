import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { DatabaseEngine } from '../../src/db/engine.js';
import { openDatabase } from '../../src/db/open-database.js';
import { type CollectorOptions, GarbageCollector } from '../../src/gc/garbage-collector.js';
import type { Digest } from '../../src/oci/digest.js';
import { FsBlobStore } from '../../src/storage/fs/fs-blob-store.js';
import { type AuthApp, authApp, basic } from '../auth/helpers.js';
import { imageManifest, pushBlob, putManifest } from '../support/berth-pushes.js';
import { profileDatabase } from '../support/profile-database.js';

/** Larger than the blobs kept in the database: its bytes are in the blob store. */
export const storedLayerBytes = 100 * 1024;

export interface GcApp extends AuthApp {
  engine: DatabaseEngine;
  store: FsBlobStore;
  /** Alice's Basic credentials, and her token for the REST API as Bearer. */
  auth: string;
  bearer: string;
  /**
   * A collector whose clock is `aheadMs` in the future: everything pushed so far is past the grace
   * period. It uses the app's database engine unless given another view of it.
   */
  collector(options?: Partial<CollectorOptions> & { aheadMs?: number; engine?: DatabaseEngine }): GarbageCollector;
}

/**
 * A Berth (auth on, on the suites' database profile) whose database and blob store the test holds
 * too; `settings` are its configuration's, as `authApp` takes them.
 */
export async function gcApp(t: TestContext, settings: Record<string, string> = {}): Promise<GcApp> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-gc-'));
  const engine = (await profileDatabase(dir)) ?? (await openDatabase(dir));
  const store = new FsBlobStore(path.join(dir, 'store'));
  await store.init();
  const app = await authApp(t, settings, { database: engine, blobStore: store });
  t.after(() => rm(dir, { recursive: true, force: true }));
  const alice = await app.user('alice');
  return {
    ...app,
    engine,
    store,
    auth: basic('alice', alice.token),
    bearer: `Bearer ${alice.token}`,
    collector: ({ aheadMs = 2 * graceMs, engine: view = engine, ...options } = {}) =>
      new GarbageCollector(view, store, { graceMs, now: () => new Date(Date.now() + aheadMs), ...options }),
  };
}

const graceMs = 60 * 60 * 1000;

export interface PushedImage {
  digest: string;
  config: Digest;
  layer: Digest;
}

/** An image whose layer is random and large enough to be in the blob store. */
export async function pushStoredImage(app: GcApp, repo: string, tag: string): Promise<PushedImage> {
  const config = await pushBlob(app.berth, repo, app.auth, JSON.stringify({ architecture: 'amd64', os: 'linux', tag }));
  const layer = await pushBlob(app.berth, repo, app.auth, randomBytes(storedLayerBytes));
  const pushed = await putManifest(app.berth, repo, app.auth, tag, imageManifest(config, layer));
  return { digest: pushed.digest, config: config.digest as Digest, layer: layer.digest as Digest };
}

/** Whether the repository still shows the blob, and whether its bytes are still in the store. */
export async function blobState(app: GcApp, repo: string, digest: Digest): Promise<{ linked: boolean; stored: boolean; row: boolean }> {
  const head = await app.berth.app.inject({ method: 'HEAD', url: `/v2/${repo}/blobs/${digest}`, headers: { authorization: app.auth } });
  const row = await app.engine.db.selectFrom('blobs').select('digest').where('digest', '=', digest).executeTakeFirst();
  return { linked: head.statusCode === 200, stored: (await app.store.stat(digest)) !== undefined, row: row !== undefined };
}
