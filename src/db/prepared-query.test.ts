import assert from 'node:assert/strict';
import { it } from 'node:test';
import { preparedColumn, preparedQuery, preparedStatement, statementPerDialect } from './prepared-query.js';
import { tempDatabase } from '../../test/support/temp-database.js';

it('a prepared query runs with each call’s arguments and keeps its constant parameters', async (t) => {
  const { db } = await tempDatabase(t);
  for (const name of ['acme/app', 'acme/web', 'other/app']) {
    await db.insertInto('repositories').values({ name, created_at: '2026-01-01T00:00:00.000Z' }).execute();
  }
  const byPrefix = preparedQuery<{ name: string }, [string, string]>(db, (low, high) =>
    db
      .selectFrom('repositories')
      .select('name')
      .where('name', '>=', low)
      .where('name', '<', high)
      .where('created_at', '=', '2026-01-01T00:00:00.000Z')
      .orderBy('name'),
  );
  assert.deepEqual((await byPrefix('acme/', 'acme0')).map((row) => row.name), ['acme/app', 'acme/web']);
  assert.deepEqual((await byPrefix('other/', 'other0')).map((row) => row.name), ['other/app']);
  assert.deepEqual(await byPrefix('none/', 'none0'), []);
});

it('refuses a query that ignores one of its arguments', async (t) => {
  const { db } = await tempDatabase(t);
  assert.throws(
    () => preparedQuery(db, (_unused) => db.selectFrom('repositories').select('name')),
    /does not use all its arguments/,
  );
});

it('refuses a statement that answers all of a table\'s columns, whose plan a migration would change, and takes a count of them', async (t) => {
  const { db } = await tempDatabase(t);
  const statements = [
    () => db.selectFrom('repositories').selectAll(),
    () => db.selectFrom('repositories').select('id').selectAll('repositories'),
    (name: never) => db.insertInto('repositories').values({ name, created_at: '2026-01-01T00:00:00.000Z' }).returningAll(),
  ];
  for (const build of statements) assert.throws(() => preparedStatement(build), /names the columns it answers/);
  const count = preparedQuery<{ count: number }, []>(db, () => db.selectFrom('repositories').select((eb) => eb.fn.countAll<number>().as('count')));
  assert.equal(Number((await count())[0]?.count), 0);
});

it('a prepared statement runs inside the transaction it is given, with its affected rows', async (t) => {
  const { db } = await tempDatabase(t);
  const insert = preparedStatement<never, [string, string]>((name, now) =>
    db.insertInto('repositories').values({ name, created_at: now }).onConflict((c) => c.column('name').doNothing()),
  );
  const now = '2026-01-01T00:00:00.000Z';
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      await insert(trx, 'rolled/back', now);
      throw new Error('abandon the transaction');
    }),
    /abandon/,
  );
  const first = await db.transaction().execute((trx) => insert(trx, 'kept/app', now));
  const again = await insert(db, 'kept/app', now);
  assert.equal(first.numAffectedRows, 1n);
  assert.equal(again.numAffectedRows, 0n);
  const names = await db.selectFrom('repositories').select('name').execute();
  assert.deepEqual(names.map((row) => row.name), ['kept/app']);
});

it('a prepared column answers the values of its one column, in order', async (t) => {
  const { db } = await tempDatabase(t);
  for (const name of ['b/app', 'a/app', 'c/app']) await db.insertInto('repositories').values({ name, created_at: '2026-01-01T00:00:00.000Z' }).execute();
  const names = preparedColumn<string, [string, number]>(db, (after, limit) =>
    db.selectFrom('repositories').select('name').where('name', '>', after).orderBy('name').limit(limit),
  );
  assert.deepEqual(await names('', 10), ['a/app', 'b/app', 'c/app']);
  assert.deepEqual(await names('a/app', 1), ['b/app']);
  assert.deepEqual(await names('z', 10), []);
});

it('a statement per dialect is built once, and runs on the database and inside a transaction', async (t) => {
  const { db } = await tempDatabase(t);
  let builds = 0;
  const byName = statementPerDialect<{ name: string }, [string]>((executor) => {
    builds++;
    return (name: never) => executor.selectFrom('repositories').select('name').where('name', '=', name);
  });
  await db.insertInto('repositories').values({ name: 'acme/app', created_at: '2026-01-01T00:00:00.000Z' }).execute();
  assert.deepEqual((await byName(db, 'acme/app')).rows, [{ name: 'acme/app' }]);
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('repositories').values({ name: 'acme/web', created_at: '2026-01-01T00:00:00.000Z' }).execute();
    assert.deepEqual((await byName(trx, 'acme/web')).rows, [{ name: 'acme/web' }], 'sees the transaction’s own row');
  });
  assert.deepEqual((await byName(db, 'other/app')).rows, []);
  assert.equal(builds, 1);
});
