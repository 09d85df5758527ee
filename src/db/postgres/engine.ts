import { type CompiledQuery, type DatabaseConnection, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { dialectOf } from '../dialect.js';
import type { DatabaseEngine } from '../engine.js';
import { migrateToLatest } from '../migrations.js';
import type { Schema } from '../schema.js';
import { ChangeListener } from './change-listener.js';
import { namePreparedStatements } from './named-statements.js';
import { NodeLocks } from './node-locks.js';
import { NotifiedDataVersion } from './notified-data-version.js';

/**
 * Opens and migrates a PostgreSQL database through a connection pool. COMMIT is durable when it
 * returns (the server's `synchronous_commit`), so writes need no help from Berth; group commit
 * still saves round trips.
 */
export async function openPostgres(connection: pg.PoolConfig): Promise<DatabaseEngine> {
  const version = new NotifiedDataVersion();
  const ownBackends = new Set<number>();
  const pool = new pg.Pool(connection);
  // A connection the server ends (a restart, a failover, an administrator) is reported to the
  // next query made on it, which fails; the event itself must not end the process.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    namePreparedStatements(client);
    ownBackends.add(backendOf(client));
  });
  pool.on('remove', (client) => ownBackends.delete(backendOf(client)));
  const db = new Kysely<Schema>({
    dialect: new PostgresDialect({ pool, onCreateConnection: async (connection) => countWrites(connection, version) }),
  });
  const locks = new NodeLocks(connection);
  let listener: ChangeListener;
  try {
    await migrateToLatest(db as Kysely<unknown>);
    listener = await ChangeListener.start({ connection, version, ownBackend: (id) => ownBackends.has(id) });
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    db,
    dialect: dialectOf(db),
    dataVersion: version,
    beforeWrites: async () => {},
    // The server acknowledges such a commit before its WAL is flushed; a crash loses at most the
    // last few of them, never a part of one, and never one a later durable commit depended on.
    relaxCommit: async (trx) => {
      await sql`set local synchronous_commit = off`.execute(trx);
    },
    sharedByNodes: true,
    exclusively: (name, run) => locks.exclusively(name, run),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: async () => {
      await listener.close();
      await locks.close();
      await db.destroy();
    },
  };
}

/** The server process of a pooled client, which a notification names as its sender. */
function backendOf(client: pg.PoolClient): number {
  return (client as pg.PoolClient & { processID: number }).processID;
}

/**
 * Moves the data version after each statement of the connection that may have written, its
 * COMMIT included: the notification of this node's own commit arrives later, and a read that
 * follows the write must not meet a result cached before it.
 */
function countWrites(connection: DatabaseConnection, version: NotifiedDataVersion): void {
  const execute = connection.executeQuery.bind(connection);
  connection.executeQuery = async <R>(query: CompiledQuery) => {
    const result = await execute<R>(query);
    if (!readOnly.test(query.sql)) version.wrote();
    return result;
  };
}

const readOnly = /^\s*select\b/i;
