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
