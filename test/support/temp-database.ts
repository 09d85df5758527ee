import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { DatabaseEngine } from '../../src/db/engine.js';
import { openDatabase } from '../../src/db/open-database.js';

/**
 * For tests: the migrated database of a temporary data directory, closed and removed after the
 * test. `open` is the server's own by default; an engine's tests pass that engine's.
 */
export async function tempDatabase<Engine extends DatabaseEngine = DatabaseEngine>(
  t: TestContext,
  open: (dataDir: string) => Promise<Engine> = openDatabase as (dataDir: string) => Promise<Engine>,
): Promise<Engine> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-db-'));
  const engine = await open(dir);
  t.after(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });
  return engine;
}

/**
 * Two connections to the database of one temporary data directory, as a running server and the
 * CLI have; closed and removed after the test.
 */
export async function twoConnections(t: TestContext): Promise<[DatabaseEngine, DatabaseEngine]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-db-'));
  const server = await openDatabase(dir);
  const cli = await openDatabase(dir);
  t.after(async () => {
    await server.close();
    await cli.close();
    await rm(dir, { recursive: true, force: true });
  });
  return [server, cli];
}
