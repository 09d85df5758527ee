import type { Database, Visibility } from '../db/schema.js';

/**
 * What happened to a package: `published` (a new version), `updated` (a tag moved onto a version
 * the package had), a version deleted or restored, the package deleted or restored, its
 * visibility changed.
 */
export type PackageAction = 'published' | 'updated' | 'version_deleted' | 'version_restored' | 'deleted' | 'restored' | 'visibility_changed';

export const packageActions: readonly PackageAction[] = ['published', 'updated', 'version_deleted', 'version_restored', 'deleted', 'restored', 'visibility_changed'];

/** A change as reported inside its transaction. */
export interface PackageChange {
  action: PackageAction;
  packageId: number;
  ownerId: number;
  /** The version the change is about (not for a whole package's deletion, restore or visibility). */
  digest?: string;
  /** The tag a push set. */
  tag?: string;
  /** Who made the change; undefined for the operator's CLI. */
  actorId?: number;
  /** The visibility before, for `visibility_changed`. */
  from?: Visibility;
}

/**
 * Where `PackageService` reports changes, in the transaction that makes them (`db` is that
 * transaction), so that what a listener writes (the webhooks' outbox) commits or rolls back with
 * the change. `record` answers whether it wrote anything; `committed` is called once a transaction
 * that did has committed. A push waits for `record`: it should write what it must and read little
 * (the package is readable by id later).
 */
export interface PackageChanges {
  record(db: Database, change: PackageChange): Promise<boolean>;
  committed(): void;
}
