import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDatabase } from '../../../test/support/temp-database.js';
import { openSqlite } from './engine.js';

const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3');

describe('SQLite transactions beside another process', () => {
  it('a transaction that read before another process wrote still writes: the other waits for it', async (t) => {
    let file = '';
    const { db } = await tempDatabase(t, (dir) => {
      file = path.join(dir, 'berth.db');
      return openSqlite(dir);
    });
    const now = new Date().toISOString();
    let exited: Promise<unknown[]> | undefined;

    await db.transaction().execute(async (trx) => {
      await trx.selectFrom('repositories').selectAll().execute();
      // Another process (as the CLI beside a server) writes while this transaction is open.
      const script = `const db = new (require(${JSON.stringify(betterSqlite)}))(${JSON.stringify(file)});
        db.pragma('busy_timeout = 10000');
        console.log('writing');
        db.prepare("insert into repositories (name, created_at) values ('acme/other', ?)").run(${JSON.stringify(now)});`;
      const other = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      t.after(() => other.kill());
      exited = once(other, 'exit');
      await once(other.stdout, 'data');
      // Long enough for its insert to have committed, had it not had to wait.
      await sleep(200);
      await trx.insertInto('repositories').values({ name: 'acme/this', created_at: now }).execute();
    });

    assert.deepEqual(await exited, [0, null], 'the other process wrote once this transaction ended');

    const names = await db.selectFrom('repositories').select('name').orderBy('name').execute();
    assert.deepEqual(names.map((row) => row.name), ['acme/other', 'acme/this']);
  });
});
