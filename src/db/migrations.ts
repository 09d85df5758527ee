import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { dialectOf } from './dialect.js';

/**
 * Schema migrations, in order. Written with Kysely's schema builder, and what differs between
 * SQLite and PostgreSQL taken from `dialectOf` (./dialect.ts), so the same steps create the
 * schema on both. Never change what a released migration does to a database; add a new one. A
 * migration that creates a table also calls `notifyChangesOf` for it, or the caches of PostgreSQL
 * nodes would not hear of the table's changes.
 */
export const migrations: Record<string, Migration> = {
  '0001-registry': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('repositories')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('blobs')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('repository_blobs')
        .addColumn('repository_id', 'integer', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
        .addColumn('digest', 'text', (c) => c.notNull().references('blobs.digest'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('repository_blobs_pk', ['repository_id', 'digest'])
        .execute();
      await db.schema.createIndex('repository_blobs_digest').on('repository_blobs').column('digest').execute();
      await db.schema
        .createTable('manifests')
        .addColumn('repository_id', 'integer', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('artifact_type', 'text')
        .addColumn('subject_digest', 'text')
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('content', dialectOf(db).binary, (c) => c.notNull())
        .addColumn('annotations', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('manifests_pk', ['repository_id', 'digest'])
        .execute();
      await db.schema
        .createIndex('manifests_subject')
        .on('manifests')
        .columns(['repository_id', 'subject_digest'])
        .execute();
      await db.schema
        .createTable('manifest_references')
        .addColumn('repository_id', 'integer', (c) => c.notNull())
        .addColumn('manifest_digest', 'text', (c) => c.notNull())
        .addColumn('referenced_digest', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('manifest_references_pk', ['repository_id', 'manifest_digest', 'referenced_digest'])
        .addForeignKeyConstraint('manifest_references_manifest', ['repository_id', 'manifest_digest'], 'manifests', ['repository_id', 'digest'], (c) => c.onDelete('cascade'))
        .execute();
      await db.schema
        .createIndex('manifest_references_referenced')
        .on('manifest_references')
        .columns(['repository_id', 'referenced_digest'])
        .execute();
      await db.schema
        .createTable('tags')
        .addColumn('repository_id', 'integer', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tags_pk', ['repository_id', 'name'])
        .addForeignKeyConstraint('tags_manifest', ['repository_id', 'digest'], 'manifests', ['repository_id', 'digest'], (c) => c.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('tags_digest').on('tags').columns(['repository_id', 'digest']).execute();
      await db.schema
        .createTable('uploads')
        .addColumn('id', 'text', (c) => c.primaryKey())
        // A name, not a repositories row: starting an upload does not create the repository.
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('uploads_updated_at').on('uploads').column('updated_at').execute();
    },
  },
  '0002-accounts': {
    async up(db: Kysely<unknown>) {
      // Users and organizations share one namespace of names; `name_key` is the lowercased name
      // that makes them unique regardless of case.
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_key', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('org_members')
        .addColumn('org_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('user_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('org_members_pk', ['org_id', 'user_id'])
        .execute();
      await db.schema.createIndex('org_members_user').on('org_members').column('user_id').execute();
      await db.schema
        .createTable('teams')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('org_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('teams_org_name', ['org_id', 'name_key'])
        .execute();
      await db.schema
        .createTable('team_members')
        .addColumn('team_id', 'integer', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('user_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'user_id'])
        .execute();
      await db.schema
        .createTable('access_tokens')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('user_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        // sha256 of the whole token, hex; the token itself is never stored.
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        // The first characters after the prefix, to recognise a token in lists.
        .addColumn('hint', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('expires_at', 'text')
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('access_tokens_user').on('access_tokens').column('user_id').execute();
    },
  },
  '0003-packages': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('source_repositories')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('owner_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('source_repositories_owner_name', ['owner_id', 'name_key'])
        .execute();
      // A package is a repository owned by the account its first path component names. Deleted
      // packages keep their row (restorable for 30 days), so the name is unique among live ones only.
      await db.schema
        .createTable('packages')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('visibility', 'text', (c) => c.notNull())
        .addColumn('inherit_access', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('source_repository_id', 'integer', (c) => c.references('source_repositories.id').onDelete('set null'))
        .addColumn('metadata', 'text')
        .addColumn('download_count', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        // When a manifest was first tagged: pushes before it (a multi-arch image's platform
        // images) belong to the first publish.
        .addColumn('published_at', 'text')
        .execute();
      await db.schema.createIndex('packages_live_name').on('packages').column('name').unique().where(sql.ref('deleted_at'), 'is', null).execute();
      await db.schema.createIndex('packages_owner').on('packages').column('owner_id').execute();
      await db.schema
        .createTable('package_versions')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('artifact_type', 'text')
        .addColumn('subject_digest', 'text')
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('platforms', 'text')
        .addColumn('download_count', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .addColumn('deleted_with_package', 'integer', (c) => c.notNull().defaultTo(0))
        // What a deleted version needs to be restored: the manifest bytes and the tags it had.
        .addColumn('content', dialectOf(db).binary)
        .addColumn('tags', 'text')
        .execute();
      await db.schema
        .createIndex('package_versions_live_digest')
        .on('package_versions')
        .columns(['package_id', 'digest'])
        .unique()
        .where(sql.ref('deleted_at'), 'is', null)
        .execute();
      await db.schema
        .createTable('package_roles')
        .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
        .addColumn('principal_kind', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'integer', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('package_roles_pk', ['package_id', 'principal_kind', 'principal_id'])
        .execute();
      await db.schema.createIndex('package_roles_principal').on('package_roles').columns(['principal_kind', 'principal_id']).execute();
      await db.schema
        .createTable('org_package_settings')
        .addColumn('org_id', 'integer', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
        .addColumn('members_can_create', 'integer', (c) => c.notNull().defaultTo(1))
        // Space-separated visibilities members may give packages.
        .addColumn('visibilities', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('source_repository_roles')
        .addColumn('repository_id', 'integer', (c) => c.notNull().references('source_repositories.id').onDelete('cascade'))
        .addColumn('principal_kind', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'integer', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('source_repository_roles_pk', ['repository_id', 'principal_kind', 'principal_id'])
        .execute();
      // The repositories whose tokens may use a package (ghcr.io's "Manage Actions access").
      await db.schema
        .createTable('package_repository_access')
        .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
        .addColumn('repository_id', 'integer', (c) => c.notNull().references('source_repositories.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('package_repository_access_pk', ['package_id', 'repository_id'])
        .execute();
      await db.schema
        .createTable('repository_tokens')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('repository_id', 'integer', (c) => c.notNull().references('source_repositories.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('hint', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // Repositories pushed before packages existed become private packages of the account their
      // namespace names, with a version per manifest (sizes of the manifests alone).
      await sql`
        insert into packages (name, owner_id, visibility, inherit_access, created_at, updated_at, published_at)
        select r.name, a.id, 'private', 0, r.created_at, r.created_at, r.created_at
        from repositories r
        join accounts a on a.name_key = ${dialectOf(db).firstPathSegment('r.name')}
        where exists (select 1 from manifests m where m.repository_id = r.id)`.execute(db);
      await sql`
        insert into package_versions (package_id, digest, media_type, artifact_type, subject_digest, size, created_at, updated_at)
        select p.id, m.digest, m.media_type, m.artifact_type, m.subject_digest, m.size, m.created_at, m.created_at
        from manifests m
        join repositories r on r.id = m.repository_id
        join packages p on p.name = r.name`.execute(db);
    },
  },
  '0004-inline-blobs': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('blobs').addColumn('content', dialectOf(db).binary).execute();
    },
  },
  '0005-repository-token-origin': {
    async up(db: Kysely<unknown>) {
      // Who minted a repository token, with which personal access token and scopes: the token
      // gets at most those scopes and ends with that token or with its user's access to the
      // repository. All null for a token an operator made with the CLI. One column per statement:
      // SQLite adds columns one at a time.
      await db.schema.alterTable('repository_tokens').addColumn('user_id', 'integer', (c) => c.references('accounts.id').onDelete('cascade')).execute();
      await db.schema
        .alterTable('repository_tokens')
        .addColumn('access_token_id', 'integer', (c) => c.references('access_tokens.id').onDelete('cascade'))
        .execute();
      await db.schema.alterTable('repository_tokens').addColumn('scopes', 'text').execute();
      await db.schema.createIndex('repository_tokens_repository').on('repository_tokens').column('repository_id').execute();
      // Tokens minted before carry every scope whatever minted them; they live a day at most.
      await sql`delete from repository_tokens`.execute(db);
    },
  },
  '0006-web-sessions': {
    async up(db: Kysely<unknown>) {
      // Signed-in browsers. The cookie holds a secret; the row holds its sha256, as for tokens.
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('user_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('user_agent', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
    },
  },
  '0007-shared-node-state': {
    async up(db: Kysely<unknown>) {
      // Signing keys in the database rather than a node's data directory, so that every node signs
      // and verifies with the same keys.
      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // Failed sign-ins per client address, for nodes that share the database (one node counts in memory).
      await db.schema
        .createTable('sign_in_failures')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('reset_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0008-suspended-users': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('accounts').addColumn('suspended_at', 'text').execute();
    },
  },
  '0009-live-versions-by-time': {
    async up(db: Kysely<unknown>) {
      // A package's pages list its live versions newest first and show when the last was pushed:
      // with thousands of versions, both would otherwise read every version of the package.
      await db.schema
        .createIndex('package_versions_live_created')
        .on('package_versions')
        .columns(['package_id', 'created_at'])
        .where(sql.ref('deleted_at'), 'is', null)
        .execute();
    },
  },
  '0010-change-notifications': {
    async up(db: Kysely<unknown>) {
      if (dialectOf(db).name !== 'postgres') return;
      // Nodes cache query results while nothing changes (src/db/postgres/change-listener.ts). A
      // trigger rather than Berth's own statements announces each change, so that a change made
      // by any client of the database, an operator's psql included, reaches every node's caches.
      await sql`
        create function berth_data_changed() returns trigger language plpgsql as $$
        begin
          perform pg_notify(${sql.lit(changeNotificationChannel)}, '');
          return null;
        end $$`.execute(db);
      const tables = await sql<{ name: string }>`
        select table_name as name from information_schema.tables
        where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name not like 'kysely_%'`.execute(db);
      for (const { name } of tables.rows) await notifyChangesOf(db, name);
    },
  },
  '0011-blob-collection': {
    async up(db: Kysely<unknown>) {
      // Set by garbage collection, in a transaction of its own, before it removes a blob's bytes:
      // from then on the blob cannot be linked to a repository again until its row is gone.
      await db.schema.alterTable('blobs').addColumn('deleting', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.createIndex('blobs_deleting').on('blobs').column('digest').where(sql.ref('deleting'), '=', 1).execute();
    },
  },
  '0012-immutable-tags': {
    async up(db: Kysely<unknown>) {
      // Tag patterns a package's tags (or, as the owner's default, every package's tags) may not
      // move or be deleted by. Two tables rather than one with a nullable owner or package, so
      // that each has a plain primary key.
      await db.schema
        .createTable('package_immutable_tags')
        .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
        .addColumn('pattern', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('package_immutable_tags_pk', ['package_id', 'pattern'])
        .execute();
      await db.schema
        .createTable('account_immutable_tags')
        .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('pattern', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('account_immutable_tags_pk', ['account_id', 'pattern'])
        .execute();
      await notifyChangesOf(db, 'package_immutable_tags');
      await notifyChangesOf(db, 'account_immutable_tags');
    },
  },
  '0013-storage-quotas': {
    async up(db: Kysely<unknown>) {
      // The most bytes an account's namespace may hold, set by a site administrator; null for no limit.
      await db.schema.alterTable('accounts').addColumn('storage_quota_bytes', 'bigint').execute();
    },
  },
  '0014-retention-policies': {
    async up(db: Kysely<unknown>) {
      // Which versions a package keeps (src/packages/retention-policy.ts): a package's own policy,
      // and the default a user or organization sets for its packages. Rules are columns, null
      // when unset; pattern lists are JSON arrays of strings.
      for (const [table, key, references] of [
        ['package_retention_policies', 'package_id', 'packages.id'],
        ['account_retention_policies', 'account_id', 'accounts.id'],
      ] as const) {
        await db.schema
          .createTable(table)
          .addColumn(key, 'integer', (c) => c.primaryKey().references(references).onDelete('cascade'))
          .addColumn('keep_newest', 'integer')
          .addColumn('keep_tags', 'text')
          .addColumn('delete_untagged_days', 'integer')
          .addColumn('delete_tagged_days', 'integer')
          .addColumn('delete_tags', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await notifyChangesOf(db, table);
      }
      // The policy (`package:<name>`, `org:<name>`, `user:<name>`) that soft-deleted a version.
      await db.schema.alterTable('package_versions').addColumn('deleted_by_policy', 'text').execute();
    },
  },
  '0015-webhooks': {
    async up(db: Kysely<unknown>) {
      // A hook belongs to an account (every package of that user or organization) or to one
      // package: exactly one of the two is set.
      await db.schema
        .createTable('hooks')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('account_id', 'integer', (c) => c.references('accounts.id').onDelete('cascade'))
        .addColumn('package_id', 'integer', (c) => c.references('packages.id').onDelete('cascade'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('insecure_ssl', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('hooks_account').on('hooks').column('account_id').execute();
      await db.schema.createIndex('hooks_package').on('hooks').column('package_id').execute();
      // The outbox and the delivery history in one: a row is written in the transaction of the
      // change it reports, then sent (and retried) by the deliverer, which records each attempt.
      await db.schema
        .createTable('hook_deliveries')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('guid', 'text', (c) => c.notNull().unique())
        .addColumn('hook_id', 'integer', (c) => c.notNull().references('hooks.id').onDelete('cascade'))
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('action', 'text')
        .addColumn('ordering_key', 'text', (c) => c.notNull())
        .addColumn('package_id', 'integer')
        .addColumn('redelivery', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('request_headers', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('facts', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'text')
        .addColumn('status_code', 'integer')
        .addColumn('status', 'text')
        .addColumn('response_headers', 'text')
        .addColumn('response_body', 'text')
        .addColumn('duration_ms', 'integer')
        .execute();
      await db.schema.createIndex('hook_deliveries_due').on('hook_deliveries').columns(['state', 'next_attempt_at']).execute();
      await db.schema.createIndex('hook_deliveries_order').on('hook_deliveries').columns(['hook_id', 'ordering_key', 'id']).execute();
      await notifyChangesOf(db, 'hooks');
      await notifyChangesOf(db, 'hook_deliveries');
    },
  },
  '0016-audit-log': {
    async up(db: Kysely<unknown>) {
      // Append-only: no foreign keys, so that deleting an account, package or token keeps the
      // entries that name it (by id and by name, as text).
      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('actor_kind', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'integer')
        .addColumn('actor_name', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'integer')
        .addColumn('owner_name', 'text')
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('details', 'text')
        .addColumn('client_address', 'text')
        .addColumn('request_id', 'text')
        .execute();
      // An organization's owners read their organization's entries, newest first.
      await db.schema.createIndex('audit_log_owner').on('audit_log').columns(['owner_id', 'id']).execute();
      await db.schema.createIndex('audit_log_created').on('audit_log').column('created_at').execute();
      // The sweep records each expired personal access token once.
      await db.schema.alterTable('access_tokens').addColumn('expiry_recorded', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      // Every insert then wakes the other nodes' caches. Entries come with changes that already
      // do (a session, a token's first use, a package change); those that come alone are sign-in
      // failures, which the failure limit bounds per client address.
      await notifyChangesOf(db, 'audit_log');
    },
  },
  '0017-held-uploads': {
    async up(db: Kysely<unknown>) {
      // The bytes of an upload while they are few enough to become a blob kept in the metadata:
      // such an upload never touches the blob store. Null once they are in the store (and for
      // every upload begun before this column).
      await db.schema.alterTable('uploads').addColumn('held', dialectOf(db).binary).execute();
    },
  },
  '0018-hook-changes': {
    async up(db: Kysely<unknown>) {
      // The outbox proper: one row per package change that active hooks want, written in the
      // change's transaction; the deliverer turns it into a delivery per hook and removes it.
      await db.schema
        .createTable('hook_changes')
        .addColumn('id', 'integer', (c) => dialectOf(db).identity(c))
        .addColumn('hooks', 'text', (c) => c.notNull())
        .addColumn('facts', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await notifyChangesOf(db, 'hook_changes');
    },
  },
  '0019-deleted-versions-by-digest': {
    async up(db: Kysely<unknown>) {
      // A version looked up by digest whether live or deleted (a webhook's body, a restore) read
      // every version of the package: only the live ones had an index by digest. A full index
      // would make SQLite count a package's live versions through it rather than the live index.
      await db.schema
        .createIndex('package_versions_deleted_digest')
        .on('package_versions')
        .columns(['package_id', 'digest', 'id'])
        .where(sql.ref('deleted_at'), 'is not', null)
        .execute();
    },
  },
  '0020-pending-deliveries': {
    async up(db: Kysely<unknown>) {
      // The deliverer's look for each lane's oldest pending delivery reads only the pending ones,
      // in lane order, rather than sorting them: a backlog of thousands is read at every look.
      // The index by state that it replaces served only that look, and SQLite preferred it.
      await db.schema.dropIndex('hook_deliveries_due').execute();
      await db.schema
        .createIndex('hook_deliveries_pending')
        .on('hook_deliveries')
        .columns(['hook_id', 'ordering_key', 'id'])
        .where(sql.ref('state'), '=', 'pending')
        .execute();
    },
  },
  '0021-deleted-packages': {
    async up(db: Kysely<unknown>) {
      // The purge, run at every start and sweep, looks for packages deleted before the restore
      // window: without an index it read every package. Only deleted ones are indexed.
      await db.schema
        .createIndex('packages_deleted')
        .on('packages')
        .column('deleted_at')
        .where(sql.ref('deleted_at'), 'is not', null)
        .execute();
    },
  },
  '0022-deleted-versions': {
    async up(db: Kysely<unknown>) {
      // The purge's delete of versions deleted before the restore window read every version, live
      // or deleted, at every sweep, holding the database meanwhile. Only deleted ones are indexed.
      await db.schema
        .createIndex('package_versions_deleted')
        .on('package_versions')
        .column('deleted_at')
        .where(sql.ref('deleted_at'), 'is not', null)
        .execute();
    },
  },
};

/** The PostgreSQL channel on which every committed change to Berth's tables is announced. */
export const changeNotificationChannel = 'berth_data_changed';

/**
 * On PostgreSQL, makes every committed change to the table announce itself to the nodes' caches.
 * A migration that creates a table calls this for it.
 */
async function notifyChangesOf(db: Kysely<unknown>, table: string): Promise<void> {
  if (dialectOf(db).name !== 'postgres') return;
  await sql`
    create trigger ${sql.id(`${table}_changed`)} after insert or update or delete or truncate on ${sql.table(table)}
    for each statement execute function berth_data_changed()`.execute(db);
}

const provider: MigrationProvider = {
  getMigrations: async () => migrations,
};

export async function migrateToLatest(db: Kysely<unknown>): Promise<void> {
  if (await isUpToDate(db)) return;
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (failed) throw new Error(`database migration ${failed.migrationName} failed`, { cause: error });
  // Kysely refuses before running anything, e.g. when a newer Berth has already migrated this
  // database: its message names the migration this version does not know.
  if (error) throw new Error(`database migrations cannot run: ${(error as Error).message}`, { cause: error });
}

/**
 * Whether the database has run exactly Berth's migrations. Kysely's Migrator, even with nothing to
 * do, finds its own tables by reading the columns of every table, twice: on SQLite that was most
 * of the time to open a database. Anything else (a new database, a migration missing or unknown)
 * goes to the Migrator, which takes its lock and decides.
 */
async function isUpToDate(db: Kysely<unknown>): Promise<boolean> {
  let applied: Set<string>;
  try {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    applied = new Set(rows.map((row) => row.name));
  } catch {
    return false;
  }
  const known = Object.keys(migrations);
  return applied.size === known.length && known.every((name) => applied.has(name));
}
