import { createHash } from 'node:crypto';
import pg from 'pg';
import type { DatabaseEngine } from '../../src/db/engine.js';
import { openPostgres } from '../../src/db/postgres/engine.js';

/**
 * The variable that runs the in-process suites on PostgreSQL instead of SQLite: the connection
 * settings of a server as JSON (`pg.PoolConfig`; `scripts/test-on-postgres.ts` starts one and sets it).
 */
export const postgresProfileVariable = 'BERTH_TEST_POSTGRES';

/**
 * For a Berth made on `dataDir` by a test: a PostgreSQL database of its own when the suites run
 * on the PostgreSQL profile, else undefined (the data directory's SQLite). The database is named
 * after the data directory, so a test that starts Berth again on the same directory finds its data.
 */
export async function profileDatabase(dataDir: string): Promise<DatabaseEngine | undefined> {
  const settings = await profileDatabaseSettings(dataDir);
  return settings && openPostgres(settings);
}

/** The environment that points the `berth` CLI at the same database as a Berth on `dataDir`. */
export async function profileCliEnv(dataDir: string): Promise<NodeJS.ProcessEnv> {
  const settings = await profileDatabaseSettings(dataDir);
  return settings ? { BERTH_DATABASE_URL: databaseUrl(settings) } : {};
}

/** The connection settings as a `postgres://` URL, as an operator gives Berth (a socket dir goes in `host=`). */
export function databaseUrl(connection: pg.PoolConfig): string {
  const query = new URLSearchParams({ host: String(connection.host), port: String(connection.port ?? 5432) });
  return `postgresql://${encodeURIComponent(String(connection.user))}@/${encodeURIComponent(String(connection.database))}?${query}`;
}

async function profileDatabaseSettings(dataDir: string): Promise<pg.PoolConfig | undefined> {
  const settings = process.env[postgresProfileVariable];
  if (!settings) return undefined;
  const server = JSON.parse(settings) as pg.PoolConfig;
  const name = `berth_${createHash('sha256').update(dataDir).digest('hex').slice(0, 24)}`;
  const admin = new pg.Client(server);
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return { ...server, database: name };
}
