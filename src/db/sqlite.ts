import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase } from 'kysely';
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
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(connection) }) });
  await migrateToLatest(db as Kysely<unknown>);
  return db;
}

/** Distinct statements kept prepared; queries with `in (...)` lists of varying length make more. */
const maxCachedStatements = 512;

/**
 * Kysely prepares every query afresh; preparing costs as much as running the small queries on the
 * registry's hot paths, so prepared statements are kept by their SQL text. Reuse is safe because
 * better-sqlite3 runs each statement to completion synchronously.
 */
function withStatementCache(connection: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => connection.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size >= maxCachedStatements) statements.clear();
        statement = connection.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}
