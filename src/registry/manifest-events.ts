import type { Transaction } from 'kysely';
import type { Actor } from '../auth/access.js';
import type { Schema } from '../db/schema.js';
import type { Digest } from '../oci/digest.js';
import type { ParsedManifest } from '../oci/manifest.js';
import type { RepositoryName } from '../oci/names.js';

/** A manifest stored by a push, with who pushed it. */
export interface PushedManifestEvent {
  name: RepositoryName;
  digest: Digest;
  tag: string | undefined;
  content: Buffer;
  manifest: ParsedManifest;
  actor: Actor;
}

/**
 * What a layer above the registry records about a push: `write` runs inside the transaction that
 * stores the manifest (so both commit together, with one fsync), `after` once it has committed.
 */
export interface PushRecord {
  write(trx: Transaction<Schema>): Promise<void>;
  after(): Promise<void>;
}

/**
 * What the registry tells the layers above it (packages) about manifests. The registry does not
 * know packages; it only reports. `downloaded` runs on the pull path and must not wait on I/O.
 */
export interface ManifestEvents {
  /** Before a validated manifest is stored: do any reading now, and answer what to write with it. */
  pushing(event: PushedManifestEvent): Promise<PushRecord | undefined>;
  /** Before a manifest is deleted by digest, while it can still be read. */
  deleting(name: RepositoryName, digest: Digest): Promise<void>;
  downloaded(name: RepositoryName, digest: Digest): void;
}

export const noManifestEvents: ManifestEvents = {
  async pushing() {
    return undefined;
  },
  async deleting() {},
  downloaded() {},
};
