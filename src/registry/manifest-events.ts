import type { Transaction } from 'kysely';
import type { AuditContext } from '../audit/audit-context.js';
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
 * What a layer above the registry records about a push or a deletion: `write` runs inside the
 * transaction that stores or deletes the manifest (so both commit together, with one fsync),
 * `after` once it has committed. A push's `before` runs in that transaction before the manifest
 * and its tag are written, and may refuse the push by throwing, having seen the tag as it is.
 */
export interface ChangeRecord {
  before?(trx: Transaction<Schema>): Promise<void>;
  write(trx: Transaction<Schema>): Promise<void>;
  after(): Promise<void>;
}

/**
 * What the registry tells the layers above it (packages) about manifests. The registry does not
 * know packages; it only reports. `downloaded` runs on the pull path and must not wait on I/O.
 */
export interface ManifestEvents {
  /** Before a validated manifest is stored: do any reading now, and answer what to write with it. */
  pushing(event: PushedManifestEvent): Promise<ChangeRecord | undefined>;
  /** Before a manifest is deleted by digest, while it can still be read: likewise. */
  deleting(name: RepositoryName, digest: Digest, audit?: AuditContext): Promise<ChangeRecord | undefined>;
  /** Before a tag is deleted (`DELETE` by tag): throwing refuses the deletion. */
  tagDeleting(name: RepositoryName, tag: string): Promise<void>;
  downloaded(name: RepositoryName, digest: Digest): void;
}

/**
 * The registry's one `ManifestEvents`, which hands every event to any number of listeners in the
 * order they subscribed. Listeners subscribe after the registry is built, so a listener may use the
 * registry's services. Each listener's `write` runs in the manifest's transaction, in order; if
 * one fails, the push or deletion fails and nothing is changed. Every `after` runs once the push committed,
 * even when an earlier one failed; the first failure is then rethrown.
 */
export class ManifestListeners implements ManifestEvents {
  private readonly listeners: ManifestEvents[] = [];

  subscribe(listener: ManifestEvents): void {
    this.listeners.push(listener);
  }

  async pushing(event: PushedManifestEvent): Promise<ChangeRecord | undefined> {
    const records: ChangeRecord[] = [];
    for (const listener of this.listeners) {
      const record = await listener.pushing(event);
      if (record) records.push(record);
    }
    return combined(records);
  }

  async deleting(name: RepositoryName, digest: Digest, audit?: AuditContext): Promise<ChangeRecord | undefined> {
    const records: ChangeRecord[] = [];
    for (const listener of this.listeners) {
      const record = await listener.deleting(name, digest, audit);
      if (record) records.push(record);
    }
    return combined(records);
  }

  async tagDeleting(name: RepositoryName, tag: string): Promise<void> {
    for (const listener of this.listeners) await listener.tagDeleting(name, tag);
  }

  downloaded(name: RepositoryName, digest: Digest): void {
    for (const listener of this.listeners) listener.downloaded(name, digest);
  }
}

/** One record that writes, then runs after commit, each of `records` in order. */
function combined(records: ChangeRecord[]): ChangeRecord | undefined {
  if (records.length === 0) return undefined;
  return {
    async before(trx) {
      for (const record of records) await record.before?.(trx);
    },
    async write(trx) {
      for (const record of records) await record.write(trx);
    },
    async after() {
      const failures: unknown[] = [];
      for (const record of records) await record.after().catch((error: unknown) => failures.push(error));
      if (failures.length > 0) throw failures[0];
    },
  };
}
