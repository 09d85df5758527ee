import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type TestContext, after, describe, it } from 'node:test';
import { type Transaction, sql } from 'kysely';
import { eventually } from '../../../test/support/eventually.js';
import { tempDatabase } from '../../../test/support/temp-database.js';
import { digestOf } from '../../oci/digest.js';
import type { RepositoryName } from '../../oci/names.js';
import { RegistryMetadata } from '../../registry/metadata.js';
import { GroupCommit } from '../group-commit.js';
import type { Schema } from '../schema.js';
import { openSqlite } from './engine.js';
import { WalSync } from './wal-sync.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-wal-sync-'));
after(() => rm(dir, { recursive: true, force: true }));
const wal = path.join(dir, 'test.db-wal');
await writeFile(wal, 'frames');

/** A sync that waits until released; `started` holds the release of each sync begun. */
function controlledSync() {
  const started: Array<() => void> = [];
  const sync = () => new Promise<void>((resolve) => started.push(resolve));
  return { sync, started };
}

/** Lets the event loop run until `count` syncs have begun (the WAL is opened first). */
async function syncsBegun(started: unknown[], count: number): Promise<void> {
  await eventually(() => started.length, (begun) => begun >= count);
}

describe('WalSync', () => {
  it('resolves a waiter only after a sync that began after its write', async () => {
    const { sync, started } = controlledSync();
    const durability = new WalSync(wal, sync);
    durability.wrote();
    let firstDone = false;
    const first = durability.sync().then(() => {
      firstDone = true;
    });
    await syncsBegun(started, 1);
    assert.equal(started.length, 1);
    durability.wrote();
    let secondDone = false;
    const second = durability.sync().then(() => {
      secondDone = true;
    });
    started[0]?.();
    await first;
    assert.equal(firstDone, true);
    await syncsBegun(started, 2);
    assert.equal(secondDone, false, 'the first sync began before the second write');
    assert.equal(started.length, 2);
    started[1]?.();
    await second;
    assert.equal(durability.pending, false);
    await durability.close();
  });

  it('lets concurrent waiters for the same writes share one sync', async () => {
    const { sync, started } = controlledSync();
    const durability = new WalSync(wal, sync);
    durability.wrote();
    durability.wrote();
    const waiters = [durability.sync(), durability.sync(), durability.sync()];
    await syncsBegun(started, 1);
    assert.equal(started.length, 1, 'one sync for the three waiters');
    started[0]?.();
    await Promise.all(waiters);
    await durability.sync();
    assert.equal(started.length, 1, 'nothing new was written, so nothing more is synced');
    await durability.close();
  });

  it('fails the waiters of a failed sync, and every later sync', async () => {
    let calls = 0;
    const durability = new WalSync(wal, async () => {
      calls++;
      throw Object.assign(new Error('write-back failed'), { code: 'EIO' });
    });
    durability.wrote();
    await assert.rejects(durability.sync(), { code: 'EIO' });
    durability.wrote();
    await assert.rejects(durability.sync(), { code: 'EIO' });
    assert.equal(calls, 1, 'after a failure nothing is promised, so no sync is tried again');
    await durability.close();
  });
});

describe('the SQLite connection', () => {
  it('commits with synchronous = NORMAL, leaving the WAL sync to WalSync', async (t) => {
    const { db } = await tempDatabase(t);
    const { rows } = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(db);
    assert.equal(rows[0]?.synchronous, 1);
    await db.insertInto('repositories').values({ name: 'acme/app', created_at: new Date().toISOString() }).execute();
    const inserted = await db.transaction().execute(async (trx) => {
      await trx.insertInto('repositories').values({ name: 'acme/other', created_at: new Date().toISOString() }).execute();
      return trx.selectFrom('repositories').select('name').orderBy('name').execute();
    });
    assert.deepEqual(inserted.map((row) => row.name), ['acme/app', 'acme/other']);
  });
});

describe('commits that need not wait for the WAL sync', () => {
  /** An engine whose WAL syncs are counted. */
  async function countingEngine(t: TestContext) {
    const counted = { syncs: 0 };
    const engine = await tempDatabase(t, (dataDir) =>
      openSqlite(dataDir, {
        syncWal: async (handle) => {
          counted.syncs++;
          await handle.datasync();
        },
      }),
    );
    return { engine, counted };
  }

  it('a relaxed transaction resolves without a sync, the next durable commit syncs, and the relaxing lasts one transaction', async (t) => {
    const { engine, counted } = await countingEngine(t);
    const { db } = engine;
    const insert = (trx: Transaction<Schema>, name: string) => trx.insertInto('repositories').values({ name, created_at: new Date().toISOString() }).execute();
    const before = counted.syncs;
    await db.transaction().execute(async (trx) => {
      await engine.relaxCommit(trx);
      await insert(trx, 'acme/relaxed');
    });
    assert.equal(counted.syncs, before, 'the relaxed commit did not sync');
    await db.transaction().execute((trx) => insert(trx, 'acme/durable'));
    assert.equal(counted.syncs, before + 1, 'the next commit synced (the WAL keeps the relaxed one before it)');
    const names = await db.selectFrom('repositories').select('name').orderBy('name').execute();
    assert.deepEqual(names.map((row) => row.name), ['acme/durable', 'acme/relaxed']);
  });

  it('group commit relaxes a batch only when none of its writes is durable', async (t) => {
    const { engine, counted } = await countingEngine(t);
    const writes = new GroupCommit(engine);
    const insert = (name: string, durable: boolean) => writes.run((trx) => trx.insertInto('repositories').values({ name, created_at: new Date().toISOString() }).execute(), { durable });
    let before = counted.syncs;
    await Promise.all([insert('a/one', false), insert('a/two', false)]);
    assert.equal(counted.syncs, before, 'a batch of relaxed writes');
    await insert('a/three', false);
    assert.equal(counted.syncs, before, 'a relaxed write alone');
    before = counted.syncs;
    await Promise.all([insert('b/one', false), insert('b/two', true)]);
    assert.equal(counted.syncs, before + 1, 'a batch with a durable write waits for the sync');
  });

  it('an upload session\'s progress commits without a sync; what it stores waits for one', async (t) => {
    const { engine, counted } = await countingEngine(t);
    const metadata = new RegistryMetadata(engine);
    const before = counted.syncs;
    await metadata.createUpload('a0f3d1e2-0000-4000-8000-000000000001', 'acme/app' as RepositoryName);
    await metadata.holdUploadBytes('a0f3d1e2-0000-4000-8000-000000000001', Buffer.from('four kilobytes, or fewer'));
    assert.equal(counted.syncs, before);
    assert.deepEqual((await metadata.upload('a0f3d1e2-0000-4000-8000-000000000001'))?.held, Buffer.from('four kilobytes, or fewer'));
    await metadata.releaseUploadBytes('a0f3d1e2-0000-4000-8000-000000000001');
    assert.equal(counted.syncs, before, 'moving the bytes to the store is progress too');
    await metadata.linkBlob('acme/app' as RepositoryName, digestOf(Buffer.from('a blob')), 6, { completedUpload: 'a0f3d1e2-0000-4000-8000-000000000001' });
    assert.equal(counted.syncs, before + 1, 'the blob the session stores waits for the sync');
  });
});

describe('after a failed WAL sync', () => {
  it('refuses reads as well as writes: what the database holds is no longer vouched for', async (t) => {
    const failing = { now: false };
    const engine = await tempDatabase(t, (dataDir) =>
      openSqlite(dataDir, {
        syncWal: async (handle) => {
          if (failing.now) throw new Error('EIO: write-back failed');
          await handle.datasync();
        },
      }),
    );
    const { db } = engine;
    const insert = (name: string) => db.insertInto('repositories').values({ name, created_at: new Date().toISOString() }).execute();
    await insert('acme/before');
    assert.equal((await db.selectFrom('repositories').select('name').execute()).length, 1);
    failing.now = true;
    await assert.rejects(insert('acme/during'), /EIO/);
    failing.now = false;
    await assert.rejects(db.selectFrom('repositories').select('name').execute(), /EIO/, 'a read fails too');
    await assert.rejects(insert('acme/after'), /EIO/);
  });
});
