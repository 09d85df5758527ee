import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Transaction } from 'kysely';
import { GroupCommit } from './group-commit.js';
import { preparedStatement } from './prepared-query.js';
import type { Schema } from './schema.js';
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

  it("prepared statements in a write answer as through Kysely's executor: rows, affected rows, insert ids", async (t) => {
    const engine = await tempDatabase(t);
    const { db } = engine;
    const writes = new GroupCommit(engine);
    const insert = preparedStatement<never, [string]>((name) => db.insertInto('repositories').values({ name, created_at: now }).onConflict((c) => c.column('name').doNothing()));
    const idOf = preparedStatement<{ id: number }, [string]>((name) => db.selectFrom('repositories').select('id').where('name', '=', name));
    const inWrite = await Promise.all(
      ['x/one', 'x/two', 'x/one'].map((name) => writes.run(async (trx) => ({ inserted: await insert(trx, name), found: await idOf(trx, name) }))),
    );
    const throughKysely = await db.transaction().execute(async (trx) => ({ inserted: await insert(trx, 'y/one'), found: await idOf(trx, 'y/one') }));
    assert.deepEqual(
      inWrite.map(({ inserted }) => [inserted.numAffectedRows, typeof inserted.insertId, inserted.rows]),
      [
        [1n, 'bigint', []],
        [1n, 'bigint', []],
        [0n, 'bigint', []],
      ],
    );
    assert.deepEqual(Object.keys(inWrite[0]!.inserted).sort(), Object.keys(throughKysely.inserted).sort());
    assert.equal(inWrite[1]!.inserted.insertId, BigInt(inWrite[1]!.found.rows[0]!.id));
    assert.deepEqual(inWrite[0]!.found.rows, inWrite[2]!.found.rows);
    assert.equal(throughKysely.inserted.insertId, BigInt(throughKysely.found.rows[0]!.id));
  });

  it('a prepared statement on the transaction of a write that has ended fails, and stores nothing', async (t) => {
    const engine = await tempDatabase(t);
    const { db } = engine;
    const writes = new GroupCommit(engine);
    const insert = preparedStatement<never, [string]>((name) => db.insertInto('repositories').values({ name, created_at: now }));
    const kept: Transaction<Schema>[] = [];
    // Together (a batch) and alone: the two ways a write gets its transaction.
    const write = (name: string) =>
      writes.run(async (trx) => {
        kept.push(trx);
        await insert(trx, name);
      });
    await Promise.all([write('a/one'), write('a/two')]);
    await write('a/three');
    assert.equal(kept.length, 3);
    for (const trx of kept) await assert.rejects(async () => insert(trx, `late/${kept.indexOf(trx)}`));
    const names = await db.selectFrom('repositories').select('name').orderBy('name').execute();
    assert.deepEqual(
      names.map((row) => row.name),
      ['a/one', 'a/three', 'a/two'],
    );
  });
});
