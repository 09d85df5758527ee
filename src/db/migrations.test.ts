import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { type CompiledQuery, Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { migrateToLatest, migrations } from './migrations.js';
import type { Schema } from './schema.js';

describe('migration 0003-packages', () => {
  it('turns repositories pushed before packages existed into private packages of their namespace, one version per manifest', async () => {
    const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
    try {
      const before = { '0001-registry': migrations['0001-registry']!, '0002-accounts': migrations['0002-accounts']! };
      await new Migrator({ db: db as Kysely<unknown>, provider: { getMigrations: async () => before } }).migrateToLatest();
      const now = new Date().toISOString();
      await db.insertInto('accounts').values({ name: 'Alice', name_key: 'alice', kind: 'user', password_hash: null, created_at: now }).execute();
      for (const name of ['alice/app', 'nobody/app', 'alice/empty']) await db.insertInto('repositories').values({ name, created_at: now }).execute();
      const repos = await db.selectFrom('repositories').select(['id', 'name']).execute();
      for (const repo of repos.filter((r) => r.name !== 'alice/empty')) {
        await db
          .insertInto('manifests')
          .values({ repository_id: repo.id, digest: `sha256:${'a'.repeat(64)}`, media_type: 'application/vnd.oci.image.manifest.v1+json', artifact_type: null, subject_digest: null, size: 123, content: Buffer.from('{}'), annotations: null, created_at: now })
          .execute();
      }
      await migrateToLatest(db as Kysely<unknown>);
      const packages = await db.selectFrom('packages').select(['name', 'visibility', 'owner_id']).execute();
      assert.deepEqual(packages.map((p) => [p.name, p.visibility]), [['alice/app', 'private']]);
      const versions = await db.selectFrom('package_versions').select(['digest', 'size']).execute();
      assert.deepEqual(versions, [{ digest: `sha256:${'a'.repeat(64)}`, size: 123 }]);
    } finally {
      await db.destroy();
    }
  });
});

describe('migration 0005-repository-token-origin', () => {
  it('adds who minted a repository token and with which scopes, and removes the tokens minted before, which recorded neither', async () => {
    const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
    try {
      const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0005'));
      await new Migrator({ db: db as Kysely<unknown>, provider: { getMigrations: async () => before } }).migrateToLatest();
      const now = new Date().toISOString();
      const owner = await db.insertInto('accounts').values({ name: 'acme', name_key: 'acme', kind: 'org', password_hash: null, created_at: now }).returning('id').executeTakeFirstOrThrow();
      const repo = await db.insertInto('source_repositories').values({ owner_id: owner.id, name: 'widget', name_key: 'widget', created_at: now }).returning('id').executeTakeFirstOrThrow();
      await sql`insert into repository_tokens (repository_id, token_hash, hint, expires_at, created_at) values (${repo.id}, 'hash', 'berth_rpt_abcd', ${now}, ${now})`.execute(db);
      await migrateToLatest(db as Kysely<unknown>);
      assert.deepEqual(await db.selectFrom('repository_tokens').selectAll().execute(), []);
      await db
        .insertInto('repository_tokens')
        .values({ repository_id: repo.id, token_hash: 'h2', hint: 'berth_rpt_efgh', expires_at: now, created_at: now, user_id: null, access_token_id: null, scopes: 'read:packages' })
        .execute();
      assert.deepEqual(await db.selectFrom('repository_tokens').select(['user_id', 'access_token_id', 'scopes']).execute(), [{ user_id: null, access_token_id: null, scopes: 'read:packages' }]);
    } finally {
      await db.destroy();
    }
  });
});


describe('migrateToLatest', () => {
  const open = (queries: string[] = []) =>
    new Kysely<Schema>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }), log: (event) => void queries.push(event.query.sql) });

  it('on a database that has run every migration, reads the list of migrations and nothing else', async () => {
    const queries: string[] = [];
    const db = open(queries);
    try {
      await migrateToLatest(db as Kysely<unknown>);
      queries.length = 0;
      await migrateToLatest(db as Kysely<unknown>);
      assert.deepEqual(queries, ['select name from kysely_migration']);
    } finally {
      await db.destroy();
    }
  });

  it('runs the migrations a database lacks', async () => {
    const db = open();
    try {
      const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0005'));
      await new Migrator({ db: db as Kysely<unknown>, provider: { getMigrations: async () => before } }).migrateToLatest();
      await migrateToLatest(db as Kysely<unknown>);
      const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
      assert.deepEqual(
        applied.rows.map((row) => row.name),
        Object.keys(migrations).sort(),
      );
    } finally {
      await db.destroy();
    }
  });

  it('refuses a database that ran a migration this version does not know, as the Migrator does', async () => {
    const db = open();
    try {
      await migrateToLatest(db as Kysely<unknown>);
      await sql`insert into kysely_migration (name, timestamp) values ('9999-from-a-newer-berth', '2030-01-01T00:00:00.000Z')`.execute(db);
      await assert.rejects(migrateToLatest(db as Kysely<unknown>), /migration 9999-from-a-newer-berth is missing/);
    } finally {
      await db.destroy();
    }
  });
});

/** SQLite's plan for a query compiled against the latest schema: the `detail` of each step. */
async function planOnLatestSchema(compile: (db: Kysely<Schema>) => CompiledQuery, ...parameters: unknown[]): Promise<string[]> {
  const database = new SQLite(':memory:');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database }) });
  try {
    await migrateToLatest(db as Kysely<unknown>);
    const { sql: text } = compile(db);
    return (database.prepare(`explain query plan ${text}`).all(...parameters) as Array<{ detail: string }>).map((row) => row.detail);
  } finally {
    await db.destroy();
  }
}

describe('the indexes of the purge (PackageService.purge), as Kysely compiles its statements', () => {
  const cutoff = '2026-01-01T00:00:00.000Z';

  it('finds deleted packages through an index of the deleted ones rather than reading every package (0021)', async () => {
    const plan = await planOnLatestSchema((db) => db.selectFrom('packages').select('name').where('deleted_at', '<', cutoff).compile(), cutoff);
    assert.deepEqual(plan, ['SEARCH packages USING INDEX packages_deleted (deleted_at<?)']);
  });

  it('finds deleted versions through an index of the deleted ones rather than reading every version (0022)', async () => {
    const plan = await planOnLatestSchema((db) => db.deleteFrom('package_versions').where('deleted_at', '<', cutoff).compile(), cutoff);
    assert.deepEqual(plan, ['SEARCH package_versions USING COVERING INDEX package_versions_deleted (deleted_at<?)']);
  });
});
