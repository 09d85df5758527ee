import type { Generated, Kysely } from 'kysely';

/** Timestamps are ISO-8601 UTC strings, which sort and compare the same in SQLite and PostgreSQL. */
type Timestamp = string;

export interface RepositoriesTable {
  id: Generated<number>;
  name: string;
  created_at: Timestamp;
}

/** One row per stored blob; the bytes live in the blob store under the digest. */
export interface BlobsTable {
  digest: string;
  size: number;
  created_at: Timestamp;
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

/** Upload sessions; their bytes live in the blob store's upload area under the same id. */
export interface UploadsTable {
  id: string;
  repository: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface Schema {
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_references: ManifestReferencesTable;
  tags: TagsTable;
  uploads: UploadsTable;
}

export type Database = Kysely<Schema>;
