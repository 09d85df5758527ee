import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { dialectOf } from '../dialect.js';
import type { DataVersion, DatabaseEngine } from '../engine.js';
import { migrateToLatest } from '../migrations.js';
import type { Schema } from '../schema.js';

/**
 * Other processes (other Berth nodes) commit to the same database without this one hearing of it,
 * so every read must go to the database: a version that is new at every call keeps the caches of
 * query results from ever reusing an entry.
 */
class UntrackedDataVersion implements DataVersion {
  private version = 0;

  current(): number {
    return ++this.version;
  }

  external(): number {
    return ++this.version;
  }
}

/**
 * Opens and migrates a PostgreSQL database through a connection pool. COMMIT is durable when it
 * returns (the server's `synchronous_commit`), so writes need no help from Berth; group commit
 * still saves round trips.
 */
export async function openPostgres(connection: pg.PoolConfig): Promise<DatabaseEngine> {
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool: new pg.Pool(connection) }) });
  try {
    await migrateToLatest(db as Kysely<unknown>);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    db,
    dialect: dialectOf(db),
    dataVersion: new UntrackedDataVersion(),
    beforeWrites: async () => {},
    close: () => db.destroy(),
  };
}
