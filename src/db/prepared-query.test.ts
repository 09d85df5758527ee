import assert from 'node:assert/strict';
import { it } from 'node:test';
import { preparedQuery } from './prepared-query.js';
import { tempDatabase } from './temp-database.js';

it('a prepared query runs with each call’s arguments and keeps its constant parameters', async (t) => {
  const db = await tempDatabase(t);
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
  const db = await tempDatabase(t);
  assert.throws(
    () => preparedQuery(db, (_unused) => db.selectFrom('repositories').select('name')),
    /does not use all its arguments/,
  );
});
