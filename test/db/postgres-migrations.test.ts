import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { dialectOf } from '../../src/db/dialect.js';
import { migrateToLatest } from '../../src/db/migrations.js';
import { type PostgresHandle, startPostgres } from '../support/postgres-process.js';
import { skipWithoutPostgres } from '../support/postgres-suite.js';
import { tempDatabase } from '../support/temp-database.js';

/** Each table's columns, in order, as the database describes them after migration. */
async function postgresColumns(db: Kysely<unknown>): Promise<Map<string, string[]>> {
  const rows = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns
    where table_schema = 'public' and table_name not like 'kysely_%'
    order by table_name, ordinal_position`.execute(db);
  return group(rows.rows.map((row) => [row.table_name, row.column_name]));
}

async function sqliteColumns(db: Kysely<unknown>): Promise<Map<string, string[]>> {
  const rows = await sql<{ table_name: string; column_name: string }>`
    select m.name as table_name, p.name as column_name from sqlite_master m join pragma_table_info(m.name) p
    where m.type = 'table' and m.name not like 'kysely_%' and m.name not like 'sqlite_%'
    order by m.name, p.cid`.execute(db);
  return group(rows.rows.map((row) => [row.table_name, row.column_name]));
}

function group(pairs: Array<[string, string]>): Map<string, string[]> {
  const tables = new Map<string, string[]>();
  for (const [table, column] of pairs) tables.set(table, [...(tables.get(table) ?? []), column]);
  return tables;
}

/**
 * The migrations on a real PostgreSQL 15: the same tables and columns as on SQLite, and the
 * statements whose form differs between the two (./src/db/dialect.ts) answering alike.
 */
describe('migrations on PostgreSQL', { skip: await skipWithoutPostgres() }, () => {
  let server: PostgresHandle;
  let db: Kysely<unknown>;

  before(async () => {
    server = await startPostgres();
    db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool(server.connection) }) });
  });
  after(async () => {
    await db?.destroy();
    await server?.close();
  });

  it('create the same tables, with the same columns in the same order, as on SQLite', async (t) => {
    await migrateToLatest(db);
    await migrateToLatest(db);
    const onSqlite = await sqliteColumns((await tempDatabase(t)).db as unknown as Kysely<unknown>);
    const onPostgres = await postgresColumns(db);
    assert.ok(onSqlite.size >= 10, `${onSqlite.size} tables`);
    assert.deepEqual([...onPostgres.entries()].sort(), [...onSqlite.entries()].sort());
  });

  it('give every table a trigger that announces its changes to every node', async () => {
    await migrateToLatest(db);
    const tables = await sql<{ name: string }>`
      select table_name as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not like 'kysely_%'`.execute(db);
    const announced = await sql<{ name: string }>`
      select distinct event_object_table as name from information_schema.triggers
      where trigger_schema = 'public' and action_statement = 'EXECUTE FUNCTION berth_data_changed()'`.execute(db);
    const silent = tables.rows.map((row) => row.name).filter((name) => !announced.rows.some((row) => row.name === name));
    assert.ok(tables.rows.length >= 10);
    assert.deepEqual(silent, [], 'tables whose changes no node would hear of (call notifyChangesOf in their migration)');
  });

  it('number identity columns, store bytes, and read namespaces and JSON arrays as SQLite does', async (t) => {
    const dialect = dialectOf(db);
    assert.equal(dialect.name, 'postgres');
    const sqlite = (await tempDatabase(t)).db as unknown as Kysely<unknown>;
    assert.equal(dialectOf(sqlite).name, 'sqlite');

    for (const [name, target] of [['postgres', db], ['sqlite', sqlite]] as const) {
      const on = dialectOf(target);
      const now = new Date().toISOString();
      const first = await sql<{ id: number }>`insert into repositories (name, created_at) values ('alice/app', ${now}) returning id`.execute(target);
      const second = await sql<{ id: number }>`insert into repositories (name, created_at) values ('bob/tools/cli', ${now}) returning id`.execute(target);
      assert.equal(Number(second.rows[0]!.id), Number(first.rows[0]!.id) + 1, name);

      const bytes = Buffer.from([0, 1, 2, 250, 255]);
      await sql`insert into manifests (repository_id, digest, media_type, size, content, created_at)
        values (${first.rows[0]!.id}, 'sha256:aa', 'application/vnd.oci.image.index.v1+json', 5, ${bytes}, ${now})`.execute(target);
      const stored = await sql<{ content: Uint8Array }>`select content from manifests where digest = 'sha256:aa'`.execute(target);
      assert.deepEqual(Buffer.from(stored.rows[0]!.content), bytes, name);

      const namespaces = await sql<{ namespace: string }>`select ${on.firstPathSegment('name')} as namespace from repositories order by id`.execute(target);
      assert.deepEqual(namespaces.rows.map((row) => row.namespace), ['alice', 'bob'], name);

      const digests = JSON.stringify(['sha256:aa', 'sha256:bb', 'sha256:cc']);
      const elements = await sql<{ value: string }>`select value from ${on.jsonArrayElements(digests)} as elements order by value`.execute(target);
      assert.deepEqual(elements.rows.map((row) => row.value), ['sha256:aa', 'sha256:bb', 'sha256:cc'], name);
      const among = await sql<{ digest: string }>`select digest from manifests where digest in (select value from ${on.jsonArrayElements(digests)} as elements)`.execute(target);
      assert.deepEqual(among.rows.map((row) => row.digest), ['sha256:aa'], name);
    }
  });
});
