import { closeSync, mkdirSync, openSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type SqliteDatabase, type SqliteStatement, sql } from 'kysely';
import { privateDirMode, privateFileMode } from '../../private-files.js';
import { dialectOf } from '../dialect.js';
import type { DatabaseEngine } from '../engine.js';
import { LocalLocks } from '../local-locks.js';
import { migrateToLatest } from '../migrations.js';
import { oneColumnMarker } from '../prepared-query.js';
import type { Schema } from '../schema.js';
import { SqliteDataVersion } from './data-version.js';
import { DurableSqliteDialect, relaxedCommit } from './durable-dialect.js';
import { WalCheckpoints, workerCheckpointer } from './wal-checkpoints.js';
import { WalSync } from './wal-sync.js';

/** The embedded engine: one SQLite connection, and the thread that checkpoints its WAL. */
export interface SqliteEngine extends DatabaseEngine {
  readonly checkpoints: WalCheckpoints;
}

/**
 * Opens the embedded metadata database in `dataDir`. WAL lets the CLI read and write while the
 * server runs. Every committed transaction survives power loss before the query that committed
 * it resolves, which the registry promises for every acknowledged push; the WAL is synced in the
 * thread pool rather than inside COMMIT (see `WalSync`). `syncWal` replaces that sync (a test
 * counts them).
 */
export async function openSqlite(dataDir: string, options: { syncWal?: (wal: FileHandle) => Promise<void> } = {}): Promise<SqliteEngine> {
  mkdirSync(dataDir, { recursive: true, mode: privateDirMode });
  const file = path.join(dataDir, 'berth.db');
  // SQLite creates the database with mode 0644 (less the umask), and its -wal and -shm files with
  // the database's mode: created here first, all three are private.
  closeSync(openSync(file, 'a', privateFileMode));
  const connection = new SQLite(file);
  connection.pragma('journal_mode = WAL');
  connection.pragma('synchronous = NORMAL');
  connection.pragma('foreign_keys = ON');
  connection.pragma('busy_timeout = 5000');
  // The group commit gives each write a savepoint; their journals stay in memory instead of
  // temporary files (that halved the writes per manifest push).
  connection.pragma('temp_store = MEMORY');
  // Checkpoints run in a worker thread (see WalCheckpoints), not in the COMMIT that crosses a threshold.
  connection.pragma('wal_autocheckpoint = 0');
  connection.pragma(`cache_size = -${pageCacheKiB}`);
  const checkpoints = new WalCheckpoints({
    everyWrites: 4000,
    maxWalFrames: 16000,
    idleWrites: 1000,
    idleMs: 200,
    checkpointer: workerCheckpointer(file),
    onFailure: (error) => {
      if (!connection.open) return;
      connection.pragma(`wal_autocheckpoint = ${mainThreadCheckpointPages}`);
      process.emitWarning(`SQLite checkpoints are back in the server's main thread: ${error.message}`);
    },
  });
  const version = new SqliteDataVersion(connection);
  const wal = new WalSync(`${file}-wal`, options.syncWal);
  const database = withStatementCache(connection, () => {
    version.writing();
    wal.wrote();
    checkpoints.wrote();
  });
  const db = new Kysely<Schema>({ dialect: new DurableSqliteDialect(database, connection, wal, checkpoints) });
  await migrateToLatest(db as Kysely<unknown>);
  const locks = new LocalLocks();
  return {
    db,
    dialect: dialectOf(db),
    dataVersion: version,
    checkpoints,
    beforeWrites: () => checkpoints.beforeWrites(),
    relaxCommit: async (trx) => {
      await trx.executeQuery(relaxedCommit);
    },
    directRunner: (text, parameters) => {
      // What Kysely's SQLite driver answers, from the same cache of prepared statements.
      const statement = database.prepare(text);
      if (statement.reader) return { rows: statement.all(parameters) };
      const { changes, lastInsertRowid } = statement.run(parameters);
      return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
    },
    // One node: what must not run twice at once only needs keeping apart in this process.
    sharedByNodes: false,
    exclusively: (name, run) => locks.exclusively(name, run),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    // The driver ends the checkpoint thread and the WAL syncs before it closes the connection.
    close: () => db.destroy(),
  };
}

/**
 * If the checkpoint thread fails, the connection checkpoints again itself, every 4,000 WAL pages
 * (16 MiB) rather than SQLite's 1,000: a quarter as often, and a page rewritten by many commits
 * meanwhile is copied once.
 */
const mainThreadCheckpointPages = 4000;

/**
 * The connection's page cache, in KiB: SQLite's own default. better-sqlite3 builds SQLite with
 * 16 MiB, which a growing database fills and then holds for the life of the process, most of a
 * server's growth in resident memory under load. A page not held here is still in the kernel's
 * page cache, a read away.
 */
const pageCacheKiB = 2000;

/** Distinct statements kept prepared; queries with `in (...)` lists of varying length make more. */
const maxCachedStatements = 512;

/**
 * Kysely prepares every query afresh; preparing costs as much as running the small queries on the
 * registry's hot paths, so prepared statements are kept by their SQL text. Reuse is safe because
 * better-sqlite3 runs each statement to completion synchronously. Statements that may write call
 * `writing` before they run.
 */
function withStatementCache(connection: SQLite.Database, writing: () => void): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => connection.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size >= maxCachedStatements) statements.clear();
        const prepared = connection.prepare(sql);
        if (sql.endsWith(oneColumnMarker)) prepared.pluck();
        statement = prepared.readonly ? prepared : announcingWrites(prepared, writing);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

function announcingWrites(statement: SQLite.Statement, writing: () => void): SqliteStatement {
  return {
    reader: statement.reader,
    all(parameters) {
      writing();
      return statement.all(parameters);
    },
    run(parameters) {
      writing();
      return statement.run(parameters);
    },
    iterate(parameters) {
      writing();
      return statement.iterate(parameters);
    },
  };
}
