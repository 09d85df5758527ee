import { after, before, type TestContext } from 'node:test';
import type pg from 'pg';
import type { DatabaseEngine } from '../../src/db/engine.js';
import { openPostgres } from '../../src/db/postgres/engine.js';
import { type PostgresHandle, newDatabase, postgresInstalled, startPostgres } from './postgres-process.js';
import { requiredTools } from './required-tools.js';

/** Why a suite that needs PostgreSQL is skipped here (see `requiredTools`), or false when it runs. */
export async function skipWithoutPostgres(): Promise<string | false> {
  return requiredTools((await postgresInstalled()) ? [] : ['postgresql']);
}

export interface PostgresSuite {
  readonly server: PostgresHandle;
  /** A new database on the server and two nodes' engines on it, closed after the test. */
  twoNodes(t: TestContext): Promise<{ database: pg.PoolConfig; nodes: [DatabaseEngine, DatabaseEngine] }>;
}

/**
 * For a suite on PostgreSQL: one server, started before its first test and stopped after its
 * last. Read `server` inside tests, once it is started.
 */
export function postgresSuite(): PostgresSuite {
  let started: PostgresHandle | undefined;
  before(async () => {
    started = await startPostgres();
  });
  after(async () => {
    await started?.close();
  });
  const suite: PostgresSuite = {
    get server() {
      if (!started) throw new Error('the server is started before the first test of the suite');
      return started;
    },
    async twoNodes(t) {
      const database = await newDatabase(suite.server);
      const nodes = await Promise.all([openPostgres(database), openPostgres(database)]);
      t.after(() => Promise.all(nodes.map((node) => node.close())));
      return { database, nodes };
    },
  };
  return suite;
}
