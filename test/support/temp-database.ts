import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { Database } from '../../src/db/schema.js';
import { openSqlite } from '../../src/db/sqlite.js';

/** For tests: a migrated SQLite database in a temporary directory, removed after the test. */
export async function tempDatabase(t: TestContext): Promise<Database> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-db-'));
  const db = await openSqlite(dir);
  t.after(async () => {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });
  return db;
}
