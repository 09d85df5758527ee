import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrateToLatest } from './migrations.js';
import type { Database, Schema } from './schema.js';

/**
 * Opens the embedded metadata database in `dataDir`. WAL lets the CLI read and write while the
 * server runs; `synchronous = FULL` makes a committed transaction survive power loss, which the
 * registry promises for every acknowledged push.
 */
export async function openSqlite(dataDir: string): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  const connection = new SQLite(path.join(dataDir, 'berth.db'));
  connection.pragma('journal_mode = WAL');
  connection.pragma('synchronous = FULL');
  connection.pragma('foreign_keys = ON');
  connection.pragma('busy_timeout = 5000');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: connection }) });
  await migrateToLatest(db as Kysely<unknown>);
  return db;
}
