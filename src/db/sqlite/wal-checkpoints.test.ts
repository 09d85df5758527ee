import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { GroupCommit } from '../group-commit.js';
import { eventually } from '../../../test/support/eventually.js';
import { tempDatabase } from '../../../test/support/temp-database.js';
import { openSqlite } from './engine.js';
import { type CheckpointResult, type Checkpointer, type IdleTimer, type IdleTimers, WalCheckpoints, workerCheckpointer } from './wal-checkpoints.js';

/** A checkpointer whose runs the test finishes by hand. */
function manualCheckpointer() {
  const runs: Array<{ finish: (result: CheckpointResult) => void; fail: (error: Error) => void }> = [];
  const checkpointer: Checkpointer = {
    run: () => new Promise((resolve, reject) => runs.push({ finish: resolve, fail: reject })),
    close: async () => undefined,
  };
  return { runs, checkpointer };
}

/** Timers that fire only when the test moves their time on. */
function manualTimers() {
  let now = 0;
  /** When each timer is due; undefined once it fired or was cleared (a refresh sets it again). */
  const due = new Map<IdleTimer, { at: number | undefined; callback: () => void }>();
  const timers: IdleTimers = {
    set(callback, ms) {
      const timer: IdleTimer = {
        refresh: () => {
          due.get(timer)!.at = now + ms;
        },
        unref: () => undefined,
      };
      due.set(timer, { at: now + ms, callback });
      return timer;
    },
    clear(timer) {
      const entry = due.get(timer);
      if (entry) entry.at = undefined;
    },
  };
  return {
    timers,
    advance(ms: number) {
      now += ms;
      for (const entry of due.values()) {
        if (entry.at !== undefined && entry.at <= now) {
          entry.at = undefined;
          entry.callback();
        }
      }
    },
    pending: () => [...due.values()].filter((entry) => entry.at !== undefined).length,
  };
}

const noIdleCheckpoints = { idleWrites: Number.POSITIVE_INFINITY, idleMs: 1000 };

function write(checkpoints: WalCheckpoints, statements: number): void {
  for (let i = 0; i < statements; i++) checkpoints.wrote();
  checkpoints.committed();
}

const settled = (promise: Promise<unknown>) => Promise.race([promise.then(() => true), sleep(20).then(() => false)]);

describe('WalCheckpoints', () => {
  it('starts one checkpoint at a time, once enough was written', async () => {
    const { runs, checkpointer } = manualCheckpointer();
    const checkpoints = new WalCheckpoints({ everyWrites: 10, maxWalFrames: 1000, checkpointer, onFailure: assert.fail, ...noIdleCheckpoints });
    write(checkpoints, 9);
    assert.equal(runs.length, 0);
    write(checkpoints, 1);
    assert.equal(runs.length, 1);
    write(checkpoints, 25);
    assert.equal(runs.length, 1, 'a checkpoint is already running');
    runs[0]?.finish({ log: 40 });
    await sleep(0);
    assert.equal(checkpoints.completed, 1);
    write(checkpoints, 0);
    assert.equal(runs.length, 2, 'the writes made meanwhile are due');
    runs[1]?.finish({ log: 60 });
  });

  it('holds writes back while the WAL is over its limit, for one checkpoint that runs alone', async () => {
    const { runs, checkpointer } = manualCheckpointer();
    const checkpoints = new WalCheckpoints({ everyWrites: 10, maxWalFrames: 100, checkpointer, onFailure: assert.fail, ...noIdleCheckpoints });
    assert.equal(await settled(checkpoints.beforeWrites()), true, 'an empty WAL holds nothing back');
    /** Writes enough to start a checkpoint and `beside` more while it runs; it finds `log` frames. */
    const checkpointFinding = async (log: number, beside: number) => {
      write(checkpoints, 10);
      write(checkpoints, beside);
      runs.at(-1)?.finish({ log });
      await sleep(0);
    };
    // Writes went on beside the checkpoint: the WAL it found long did not start again.
    await checkpointFinding(500, 3);
    const held = checkpoints.beforeWrites();
    assert.equal(await settled(held), false);
    assert.equal(runs.length, 2, 'the checkpoint runs while writes wait');
    runs[1]?.finish({ log: 520 });
    assert.equal(await settled(held), true);
    assert.equal(await settled(checkpoints.beforeWrites()), true, 'caught up alone: the next write starts the WAL again');
    await checkpointFinding(30, 3);
    assert.equal(await settled(checkpoints.beforeWrites()), true, 'the WAL started again');
    await checkpointFinding(540, 0);
    assert.equal(await settled(checkpoints.beforeWrites()), true, 'a long WAL left with nothing written beside its checkpoint starts again at the next write');
    await checkpointFinding(560, 3);
    assert.equal(await settled(checkpoints.beforeWrites()), false, 'it did not start again: writes wait once more');
    assert.equal(runs.length, 6);
    runs[5]?.finish({ log: 560 });
  });

  it('checkpoints once the writes pause, after enough of them', async () => {
    const { runs, checkpointer } = manualCheckpointer();
    const time = manualTimers();
    const checkpoints = new WalCheckpoints({ everyWrites: 1000, maxWalFrames: 16000, idleWrites: 5, idleMs: 300, checkpointer, onFailure: assert.fail, timers: time.timers });
    write(checkpoints, 4);
    time.advance(1000);
    assert.equal(runs.length, 0, 'too few writes to be worth a checkpoint');
    for (let i = 0; i < 4; i++) {
      write(checkpoints, 1);
      time.advance(5);
    }
    time.advance(294);
    assert.equal(runs.length, 0, 'each write restarted the wait: 299 ms since the last one');
    time.advance(1);
    assert.equal(runs.length, 1, '300 ms after the last write');
    runs[0]?.finish({ log: 40 });
    await checkpoints.close();
    assert.equal(time.pending(), 0, 'close stops the timer');
  });

  it('reports a failed checkpoint once and runs no more', async () => {
    const { runs, checkpointer } = manualCheckpointer();
    const failures: Error[] = [];
    const checkpoints = new WalCheckpoints({ everyWrites: 1, maxWalFrames: 0, checkpointer, onFailure: (error) => failures.push(error), ...noIdleCheckpoints });
    write(checkpoints, 1);
    runs[0]?.fail(new Error('disk I/O error'));
    await sleep(0);
    write(checkpoints, 5);
    assert.equal(runs.length, 1);
    assert.deepEqual(failures.map((error) => error.message), ['disk I/O error']);
    assert.equal(await settled(checkpoints.beforeWrites()), true);
  });
});

describe('workerCheckpointer', () => {
  it('reports a checkpoint thread that cannot open the database as a failed checkpoint', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-checkpoint-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const failures: Error[] = [];
    // A directory is no database: the thread fails as it starts.
    const checkpoints = new WalCheckpoints({ everyWrites: 1, maxWalFrames: 100, checkpointer: workerCheckpointer(dir), onFailure: (error) => failures.push(error), ...noIdleCheckpoints });
    write(checkpoints, 1);
    await eventually(() => failures.length, (count) => count > 0);
    assert.equal(failures.length, 1);
    await checkpoints.close();
  });

  it('ends its thread once idle, and the next checkpoint starts another', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-checkpoint-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'wal.db');
    const connection = new SQLite(file);
    t.after(() => connection.close());
    connection.pragma('journal_mode = WAL');
    connection.exec('create table rows (value text)');
    const checkpointer = workerCheckpointer(file, 50);
    t.after(() => checkpointer.close());

    connection.prepare('insert into rows values (?)').run('first');
    await checkpointer.run();
    assert.equal(checkpointer.threadsStarted, 1);
    // Two checkpoints in a row share one thread.
    await checkpointer.run();
    assert.equal(checkpointer.threadsStarted, 1);

    await sleep(300);
    connection.prepare('insert into rows values (?)').run('second');
    const { log } = await checkpointer.run();
    assert.equal(checkpointer.threadsStarted, 2);
    assert.ok(log > 0, 'the new thread checkpointed the WAL');
  });
});

describe('the SQLite connection', () => {
  it('never checkpoints in its own thread; the checkpoint thread copies the WAL into the database', async (t) => {
    const engine = await tempDatabase(t, openSqlite);
    const { db, checkpoints } = engine;
    const { rows } = await sql<{ wal_autocheckpoint: number }>`PRAGMA wal_autocheckpoint`.execute(db);
    assert.equal(rows[0]?.wal_autocheckpoint, 0);
    const [{ file }] = (await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(db)).rows as [{ file: string }];
    const sizeBefore = (await stat(file)).size;

    const writes = new GroupCommit(engine);
    const now = new Date().toISOString();
    // More single-row writes than the 4,000 between checkpoints, in group commits of 100.
    for (let batch = 0; batch < 45; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          writes.run((trx) => trx.insertInto('repositories').values({ name: `acme/app-${batch}-${i}`, created_at: now }).execute()),
        ),
      );
    }
    await eventually(() => checkpoints.completed, (completed) => completed > 0);
    assert.ok(checkpoints.completed >= 1, 'a checkpoint ran');
    assert.ok((await stat(file)).size > sizeBefore + 100_000, 'the rows are now in the database file');
    const count = await db.selectFrom('repositories').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 4500);
  });

  it("holds SQLite's default page cache of 2 MiB, not better-sqlite3's 16", async (t) => {
    const { db } = await tempDatabase(t, openSqlite);
    const { rows } = await sql<{ cache_size: number }>`PRAGMA cache_size`.execute(db);
    assert.equal(rows[0]?.cache_size, -2000);
  });
});
