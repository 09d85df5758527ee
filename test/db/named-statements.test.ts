import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openPostgres } from '../../src/db/postgres/engine.js';
import { preparedStatement } from '../../src/db/prepared-query.js';
import { newDatabase } from '../support/postgres-process.js';
import { postgresSuite, skipWithoutPostgres } from '../support/postgres-suite.js';

const now = '2026-01-01T00:00:00.000Z';

/**
 * On PostgreSQL the statements compiled once are prepared on the server, once per connection, and
 * run from then on with their arguments alone; every other query is parsed each time it runs.
 */
describe('prepared statements on PostgreSQL', { skip: await skipWithoutPostgres() }, () => {
  const postgres = postgresSuite();

  async function engine(t: import('node:test').TestContext) {
    const node = await openPostgres(await newDatabase(postgres.server));
    t.after(() => node.close());
    for (const name of ['acme/app', 'acme/web', 'other/app']) await node.db.insertInto('repositories').values({ name, created_at: now }).execute();
    return node;
  }

  it('a statement compiled once is prepared on the connection once, and a query built each time is not', async (t) => {
    const { db } = await engine(t);
    const byPrefix = preparedStatement<{ name: string }, [string, string]>((low, high) =>
      db.selectFrom('repositories').select('name').where('name', '>=', low).where('name', '<', high).orderBy('name'),
    );
    const prepared = await db.connection().execute(async (connection) => {
      assert.deepEqual((await byPrefix(connection, 'acme/', 'acme0')).rows, [{ name: 'acme/app' }, { name: 'acme/web' }]);
      assert.deepEqual((await byPrefix(connection, 'other/', 'other0')).rows, [{ name: 'other/app' }]);
      const adHoc = connection.selectFrom('repositories').select('id').where('name', 'in', ['acme/app', 'other/app']);
      assert.equal((await adHoc.execute()).length, 2);
      return (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(connection)).rows.map((row) => row.statement);
    });
    const ofRepositories = prepared.filter((text) => text.includes('from "repositories"'));
    assert.equal(ofRepositories.length, 1, `only the statement compiled once is prepared: ${JSON.stringify(prepared)}`);
    assert.match(ofRepositories[0] ?? '', /"name" >= \$1 and "name" < \$2/);
  });
});
