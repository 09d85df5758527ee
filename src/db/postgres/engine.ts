import { Kysely, PostgresDialect, sql } from 'kysely';
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
  const pool = new pg.Pool(connection);
  // A connection the server ends (a restart, a failover, an administrator) is reported to the
  // next query made on it, which fails; the event itself must not end the process.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
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
    sharedByNodes: true,
    exclusively: (job, run) => exclusively(db, job, run),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

/**
 * A transaction-level advisory lock named by the job: taken without waiting, held while the job
 * runs, and released by PostgreSQL when the transaction ends or its connection drops with a dead node.
 */
async function exclusively<T>(db: Kysely<Schema>, job: string, run: () => Promise<T>): Promise<T | undefined> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtext(${`berth:${job}`})) as locked`.execute(trx);
    return rows[0]?.locked ? run() : undefined;
  });
}
