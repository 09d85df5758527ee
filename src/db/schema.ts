import type { Generated, Kysely } from 'kysely';
import type { Flag } from './flags.js';

/** Timestamps are ISO-8601 UTC strings, which sort and compare the same in SQLite and PostgreSQL. */
type Timestamp = string;

export interface RepositoriesTable {
  id: Generated<number>;
  name: string;
  created_at: Timestamp;
}

/**
 * One row per stored blob. The bytes of a small blob are kept here (`content`), committed with
 * the row; those of the others live in the blob store under the digest.
 */
export interface BlobsTable {
  digest: string;
  size: number;
  created_at: Timestamp;
  content: Generated<Uint8Array | null>;
  /** Garbage collection is removing the blob's bytes: it may not be linked again (`Flag`). */
  deleting: Generated<Flag>;
}

/** Which repositories may see a blob: it was pushed or mounted there. */
export interface RepositoryBlobsTable {
  repository_id: number;
  digest: string;
  created_at: Timestamp;
}

export interface ManifestsTable {
  repository_id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  subject_digest: string | null;
  size: number;
  /** The exact bytes pushed; bounded by the manifest size limit. */
  content: Uint8Array;
  /** The manifest's `annotations` as JSON, served by the referrers API. */
  annotations: string | null;
  created_at: Timestamp;
}

/** What a manifest points at: its config and layers (`blob`) or an index's children (`manifest`). */
export interface ManifestReferencesTable {
  repository_id: number;
  manifest_digest: string;
  referenced_digest: string;
  kind: 'blob' | 'manifest';
}

export interface TagsTable {
  repository_id: number;
  name: string;
  digest: string;
  updated_at: Timestamp;
}

/** Upload sessions; their bytes are held here while few, then live in the blob store's upload area under the same id. */
export interface UploadsTable {
  id: string;
  repository: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** The bytes received, while the upload is small enough to keep them here; null once they are in the blob store. */
  held: Generated<Uint8Array | null>;
}

export type AccountKind = 'user' | 'org';
export type OrgRole = 'owner' | 'member';

/** Users and organizations: one namespace of names, unique regardless of case (`name_key`). */
export interface AccountsTable {
  id: Generated<number>;
  name: string;
  name_key: string;
  kind: AccountKind;
  /** scrypt hash (see auth/passwords.ts); null for organizations. */
  password_hash: string | null;
  is_admin: Generated<Flag>;
  created_at: Timestamp;
  /** When a site administrator suspended the user: no credential of theirs signs in meanwhile. */
  suspended_at: Generated<Timestamp | null>;
  /** The most bytes the account's namespace may hold (src/quotas); null for no limit. */
  storage_quota_bytes: Generated<number | null>;
}

export interface OrgMembersTable {
  org_id: number;
  user_id: number;
  role: OrgRole;
  created_at: Timestamp;
}

export interface TeamsTable {
  id: Generated<number>;
  org_id: number;
  name: string;
  name_key: string;
  created_at: Timestamp;
}

export interface TeamMembersTable {
  team_id: number;
  user_id: number;
  created_at: Timestamp;
}

/** Personal access tokens, stored only as the sha256 of the token. */
export interface AccessTokensTable {
  id: Generated<number>;
  user_id: number;
  token_hash: string;
  hint: string;
  /** Space-separated scopes, e.g. `read:packages write:packages`. */
  scopes: string;
  note: string | null;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  created_at: Timestamp;
  /** Its expiry is in the audit log (`Flag`): the sweep records each expiry once. */
  expiry_recorded: Generated<Flag>;
}

export type Visibility = 'private' | 'internal' | 'public';
export type PackageRole = 'read' | 'write' | 'admin';
export type PrincipalKind = 'user' | 'team';

/** Packages: repositories owned by an account (see src/packages). */
export interface PackagesTable {
  id: Generated<number>;
  /** The repository name, `namespace/name[/more]`. */
  name: string;
  owner_id: number;
  visibility: Visibility;
  inherit_access: Generated<Flag>;
  source_repository_id: number | null;
  /** ImageMetadata of the newest version, JSON. */
  metadata: string | null;
  download_count: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Timestamp | null;
  published_at: Timestamp | null;
}

/** Every manifest pushed to a package. */
export interface PackageVersionsTable {
  id: Generated<number>;
  package_id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  subject_digest: string | null;
  /** The manifest and everything it references, in bytes. */
  size: number;
  /** JSON array of `os/arch[/variant]`, for an index. */
  platforms: string | null;
  download_count: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Timestamp | null;
  deleted_with_package: Generated<Flag>;
  content: Uint8Array | null;
  /** JSON array of the tags the version had when deleted. */
  tags: string | null;
  /** The retention policy that deleted the version (`package:<name>`, `org:<name>`, `user:<name>`). */
  deleted_by_policy: Generated<string | null>;
}

export interface PackageRolesTable {
  package_id: number;
  principal_kind: PrincipalKind;
  principal_id: number;
  role: PackageRole;
  created_at: Timestamp;
}

export interface OrgPackageSettingsTable {
  org_id: number;
  members_can_create: Flag;
  visibilities: string;
}

/**
 * A tag pattern of a package: a tag that matches it as a whole may point at one manifest only and
 * may not be deleted (`src/packages/immutable-tags.ts`).
 */
export interface PackageImmutableTagsTable {
  package_id: number;
  /** A regular expression, matched against the whole tag. */
  pattern: string;
  created_at: Timestamp;
}

/** A tag pattern a user or organization sets for all of its packages, on top of their own. */
export interface AccountImmutableTagsTable {
  account_id: number;
  pattern: string;
  created_at: Timestamp;
}

/**
 * A retention policy's rules (src/packages/retention-policy.ts), each null when unset; pattern
 * lists are JSON arrays of regular expressions.
 */
interface RetentionRules {
  keep_newest: number | null;
  keep_tags: string | null;
  delete_untagged_days: number | null;
  delete_tagged_days: number | null;
  delete_tags: string | null;
  updated_at: Timestamp;
}

/** A package's own retention policy, which replaces its owner's default. */
export interface PackageRetentionPoliciesTable extends RetentionRules {
  package_id: number;
}

/** The retention policy a user or organization sets for those of its packages without one. */
export interface AccountRetentionPoliciesTable extends RetentionRules {
  account_id: number;
}

/** Source repositories (`OWNER/REPO`) that packages link to and inherit access from. */
export interface SourceRepositoriesTable {
  id: Generated<number>;
  owner_id: number;
  name: string;
  name_key: string;
  created_at: Timestamp;
}

export interface SourceRepositoryRolesTable {
  repository_id: number;
  principal_kind: PrincipalKind;
  principal_id: number;
  role: PackageRole;
  created_at: Timestamp;
}

export interface PackageRepositoryAccessTable {
  package_id: number;
  repository_id: number;
  role: PackageRole;
  created_at: Timestamp;
}

/** Short-lived tokens minted for a source repository, stored as sha256. */
export interface RepositoryTokensTable {
  id: Generated<number>;
  repository_id: number;
  token_hash: string;
  hint: string;
  expires_at: Timestamp;
  created_at: Timestamp;
  /** The user who minted it and the personal access token they used; null when made with the CLI. */
  user_id: number | null;
  access_token_id: number | null;
  /** Space-separated scopes of the minting token, the most the repository token may use; null for all. */
  scopes: string | null;
}

/** A signed-in browser (`src/web/sessions.ts`). */
export interface SessionsTable {
  id: Generated<number>;
  user_id: number;
  token_hash: string;
  /** What the browser called itself at sign-in, shortened, for the user's list of sessions. */
  user_agent: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
}

/**
 * The keys registry tokens are signed with, shared by every node: the newest signs, all verify.
 * `jwk` is the private key as a JWK (`src/auth/signing-keys.ts`).
 */
export interface SigningKeysTable {
  kid: string;
  jwk: string;
  created_at: Timestamp;
}

/** Failed sign-ins of one key (a client address) in its current window (`src/auth/shared-failure-limiter.ts`). */
export interface SignInFailuresTable {
  key: string;
  count: number;
  reset_at: Timestamp;
}

/**
 * The security log, append-only (`src/audit/audit-log.ts`). No foreign keys: an entry outlives the
 * account, package or token it names, which is why names are kept as text next to ids.
 */
export interface AuditLogTable {
  id: Generated<number>;
  created_at: Timestamp;
  actor_kind: 'user' | 'repository_token' | 'system';
  /** The user's or repository token's id; null for Berth itself. */
  actor_id: number | null;
  actor_name: string;
  action: string;
  /** The account whose entry this is (a package's owner, the organization, the token's user). */
  owner_id: number | null;
  owner_name: string | null;
  target: string;
  /** JSON object, or null when there is nothing more to say. */
  details: string | null;
  client_address: string | null;
  request_id: string | null;
}

export type HookFormat = 'github' | 'distribution';
export type HookDeliveryState = 'pending' | 'delivered' | 'failed';

/**
 * A webhook of an account (every package of it) or of one package (`src/webhooks/`). `secret`
 * signs each delivery, so it is kept as given; it is never answered nor logged. `events` is a
 * JSON array of event names.
 */
export interface HooksTable {
  id: Generated<number>;
  account_id: number | null;
  package_id: number | null;
  url: string;
  secret: string;
  events: string;
  format: HookFormat;
  insecure_ssl: Flag;
  active: Flag;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/**
 * One delivery of one event to one hook: written in the transaction of the change (the outbox),
 * sent in order per hook and package (`ordering_key`), retried until `next_attempt_at` passes a
 * day after `created_at`. The last attempt's answer is kept.
 */
/**
 * Package changes some active hooks want, each written in the change's transaction (the outbox)
 * and turned into `hook_deliveries` rows by the deliverer, which then removes it.
 */
export interface HookChangesTable {
  id: Generated<number>;
  /** The hooks that want it, with what each is sent (JSON: `{ id, format, event }[]`). */
  hooks: string;
  /** The change (JSON: a `StoredFacts` but for each hook's format and event). */
  facts: string;
  created_at: Timestamp;
}

export interface HookDeliveriesTable {
  id: Generated<number>;
  /** The delivery id sent in `X-GitHub-Delivery`, the same for every attempt. */
  guid: string;
  hook_id: number;
  event: string;
  action: string | null;
  ordering_key: string;
  package_id: number | null;
  redelivery: Flag;
  /** JSON object of the request headers, the signature included (it reveals nothing of the secret). */
  request_headers: string;
  /** The body as sent; empty until a package event's is made from `facts` at its first attempt. */
  body: string;
  /**
   * What a package event's body is made of (JSON: the action, package, digest, tag, actor, previous
   * visibility), as the change's transaction knew it: that transaction writes only this, and the
   * body is made and kept when the delivery is first sent.
   */
  facts: string | null;
  state: HookDeliveryState;
  attempts: number;
  next_attempt_at: Timestamp;
  created_at: Timestamp;
  delivered_at: Timestamp | null;
  status_code: number | null;
  status: string | null;
  response_headers: string | null;
  response_body: string | null;
  duration_ms: number | null;
}

export interface Schema {
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_references: ManifestReferencesTable;
  tags: TagsTable;
  uploads: UploadsTable;
  accounts: AccountsTable;
  org_members: OrgMembersTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  access_tokens: AccessTokensTable;
  packages: PackagesTable;
  package_versions: PackageVersionsTable;
  package_roles: PackageRolesTable;
  org_package_settings: OrgPackageSettingsTable;
  source_repositories: SourceRepositoriesTable;
  source_repository_roles: SourceRepositoryRolesTable;
  package_repository_access: PackageRepositoryAccessTable;
  repository_tokens: RepositoryTokensTable;
  sessions: SessionsTable;
  signing_keys: SigningKeysTable;
  sign_in_failures: SignInFailuresTable;
  package_immutable_tags: PackageImmutableTagsTable;
  account_immutable_tags: AccountImmutableTagsTable;
  package_retention_policies: PackageRetentionPoliciesTable;
  account_retention_policies: AccountRetentionPoliciesTable;
  audit_log: AuditLogTable;
  hooks: HooksTable;
  hook_changes: HookChangesTable;
  hook_deliveries: HookDeliveriesTable;
}

export type Database = Kysely<Schema>;
