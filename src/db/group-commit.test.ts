import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommit } from './group-commit.js';
import { tempDatabase } from '../../test/support/temp-database.js';

const now = new Date().toISOString();

describe('GroupCommit', () => {
  it('commits writes queued together, and a failing one alone rolls back', async (t) => {
    const engine = await tempDatabase(t);
    const { db } = engine;
    const writes = new GroupCommit(engine);
    const insert = (name: string) => writes.run((trx) => trx.insertInto('repositories').values({ name, created_at: now }).execute());
    const results = await Promise.allSettled([
      insert('one'),
      writes.run(async (trx) => {
        await trx.insertInto('repositories').values({ name: 'half-done', created_at: now }).execute();
        throw new Error('second write fails after inserting');
      }),
      insert('three'),
      insert('one'),
    ]);
    assert.deepEqual(
      results.map((result) => result.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected'],
    );
    assert.match(String((results[1] as PromiseRejectedResult).reason), /second write fails/);
    assert.match(String((results[3] as PromiseRejectedResult).reason), /UNIQUE/);
    const names = await db.selectFrom('repositories').select('name').orderBy('name').execute();
    assert.deepEqual(
      names.map((row) => row.name),
      ['one', 'three'],
    );
  });

  it('settles a lone write with its value, and keeps working after a batch', async (t) => {
    const engine = await tempDatabase(t);
    const { db } = engine;
    const writes = new GroupCommit(engine);
    const id = await writes.run(async (trx) => {
      await trx.insertInto('repositories').values({ name: 'alone', created_at: now }).execute();
      const row = await trx.selectFrom('repositories').select('id').where('name', '=', 'alone').executeTakeFirstOrThrow();
      return row.id;
    });
    assert.equal(typeof id, 'number');
    await Promise.all(['a', 'b', 'c'].map((name) => writes.run((trx) => trx.insertInto('repositories').values({ name, created_at: now }).execute())));
    const count = await db.selectFrom('repositories').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 4);
  });
});
