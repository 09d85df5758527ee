import type SQLite from 'better-sqlite3';
import type { Database } from './schema.js';

/**
 * A number that changes whenever the committed data may have changed, so that a cache of query
 * results can tell whether an entry is still valid: an entry is valid while the version is the
 * one read before its query ran.
 */
export interface DataVersion {
  current(): number;
  /**
   * A number that changes whenever another connection may have committed: for what this
   * connection's own writes keep up to date themselves, such as ids of rows that only another
   * process deletes.
   */
  external(): number;
}

/**
 * The data version of one SQLite connection. Writes through this connection are counted as they
 * run (`PRAGMA data_version` ignores them); commits by other connections, such as the CLI working
 * on the same data directory, show up as a new `PRAGMA data_version`. That statement is asked at
 * most once per `externalCheckMs`: it cost a twentieth of a manifest GET, and a change made by
 * another process a millisecond ago is one that raced the read anyway.
 */
export class SqliteDataVersion implements DataVersion {
  private version = 0;
  private externalChanges = 0;
  private seenExternal: unknown;
  private checkedAt = 0;
  private readonly externalVersion: SQLite.Statement;

  constructor(
    connection: SQLite.Database,
    private readonly externalCheckMs = 1,
  ) {
    this.externalVersion = connection.prepare('PRAGMA data_version').pluck();
    this.seenExternal = this.externalVersion.get();
  }

  current(): number {
    const now = performance.now();
    if (now - this.checkedAt >= this.externalCheckMs) {
      this.checkedAt = now;
      const external = this.externalVersion.get();
      if (external !== this.seenExternal) {
        this.seenExternal = external;
        this.version++;
        this.externalChanges++;
      }
    }
    return this.version;
  }

  external(): number {
    this.current();
    return this.externalChanges;
  }

  /** Called before every statement of this connection that may write. */
  writing(): void {
    this.version++;
  }
}

/** For databases without change tracking: a version that is new at every call, so nothing is ever reused. */
class AlwaysChanging implements DataVersion {
  private version = 0;

  current(): number {
    return ++this.version;
  }

  external(): number {
    return ++this.version;
  }
}

const versions = new WeakMap<Database, DataVersion>();

export function registerDataVersion(db: Database, version: DataVersion): void {
  versions.set(db, version);
}

export function dataVersionOf(db: Database): DataVersion {
  return versions.get(db) ?? new AlwaysChanging();
}
