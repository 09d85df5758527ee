import type { Schema } from '../db/schema.js';
import { maxManifestBytes } from '../oci/manifest.js';
import { inlineBlobBytes } from '../registry/upload-service.js';

/** How one table is copied. */
export interface CopiedTable {
  readonly name: keyof Schema;
  /** Its primary key: the order rows are read in, and what makes a row already there. */
  readonly key: readonly string[];
  /** Whether `id` is numbered by the database, whose counter must then pass the copied ids. */
  readonly generatedId: boolean;
  /** The largest a row's binary columns can be, which bounds how many rows a batch holds. */
  readonly maxBinaryBytes: number;
}

type AnyTableSettings = { key: readonly string[]; generatedId?: true; maxBinaryBytes?: number };

type TableSettings<T extends keyof Schema> = AnyTableSettings & { key: ReadonlyArray<keyof Schema[T] & string> };

/**
 * Every table of the schema, each after the tables its foreign keys point at, so that rows can be
 * inserted in this order with the target's constraints on. The type makes a table added to
 * `Schema` a compile error here until it is placed; the order of the keys is the copy's order.
 */
const settings = {
  accounts: { key: ['id'], generatedId: true },
  repositories: { key: ['id'], generatedId: true },
  blobs: { key: ['digest'], maxBinaryBytes: inlineBlobBytes },
  repository_blobs: { key: ['repository_id', 'digest'] },
  manifests: { key: ['repository_id', 'digest'], maxBinaryBytes: maxManifestBytes },
  manifest_references: { key: ['repository_id', 'manifest_digest', 'referenced_digest'] },
  tags: { key: ['repository_id', 'name'] },
  uploads: { key: ['id'] },
  org_members: { key: ['org_id', 'user_id'] },
  teams: { key: ['id'], generatedId: true },
  team_members: { key: ['team_id', 'user_id'] },
  access_tokens: { key: ['id'], generatedId: true },
  source_repositories: { key: ['id'], generatedId: true },
  packages: { key: ['id'], generatedId: true },
  package_versions: { key: ['id'], generatedId: true, maxBinaryBytes: maxManifestBytes },
  package_roles: { key: ['package_id', 'principal_kind', 'principal_id'] },
  org_package_settings: { key: ['org_id'] },
  source_repository_roles: { key: ['repository_id', 'principal_kind', 'principal_id'] },
  package_repository_access: { key: ['package_id', 'repository_id'] },
  repository_tokens: { key: ['id'], generatedId: true },
  sessions: { key: ['id'], generatedId: true },
  signing_keys: { key: ['kid'] },
  sign_in_failures: { key: ['key'] },
  package_immutable_tags: { key: ['package_id', 'pattern'] },
  account_immutable_tags: { key: ['account_id', 'pattern'] },
  package_retention_policies: { key: ['package_id'] },
  account_retention_policies: { key: ['account_id'] },
  audit_log: { key: ['id'], generatedId: true },
  hooks: { key: ['id'], generatedId: true },
  hook_changes: { key: ['id'], generatedId: true },
  hook_deliveries: { key: ['id'], generatedId: true },
} satisfies { [T in keyof Schema]: TableSettings<T> };

export const copiedTables: readonly CopiedTable[] = Object.entries(settings).map(([name, table]: [string, AnyTableSettings]) => ({
  name: name as keyof Schema,
  key: table.key,
  generatedId: table.generatedId ?? false,
  maxBinaryBytes: table.maxBinaryBytes ?? 0,
}));
