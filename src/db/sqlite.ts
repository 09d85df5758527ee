import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';
import { SqliteDataVersion, registerDataVersion } from './data-version.js';
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
  const version = new SqliteDataVersion(connection);
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(connection, version) }) });
  registerDataVersion(db, version);
  await migrateToLatest(db as Kysely<unknown>);
  return db;
}

/** Distinct statements kept prepared; queries with `in (...)` lists of varying length make more. */
const maxCachedStatements = 512;

/**
 * Kysely prepares every query afresh; preparing costs as much as running the small queries on the
 * registry's hot paths, so prepared statements are kept by their SQL text. Reuse is safe because
 * better-sqlite3 runs each statement to completion synchronously. Statements that may write tell
 * the data version before they run.
 */
function withStatementCache(connection: SQLite.Database, version: SqliteDataVersion): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => connection.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size >= maxCachedStatements) statements.clear();
        const prepared = connection.prepare(sql);
        statement = prepared.readonly ? prepared : countingWrites(prepared, version);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

function countingWrites(statement: SQLite.Statement, version: SqliteDataVersion): SqliteStatement {
  return {
    reader: statement.reader,
    all(parameters) {
      version.writing();
      return statement.all(parameters);
    },
    run(parameters) {
      version.writing();
      return statement.run(parameters);
    },
    iterate(parameters) {
      version.writing();
      return statement.iterate(parameters);
    },
  };
}
