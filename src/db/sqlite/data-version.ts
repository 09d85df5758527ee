import type SQLite from 'better-sqlite3';
import type { DataVersion } from '../engine.js';

/** How often, at most, another process's commits are looked for, in ms (see SqliteDataVersion). */
export const defaultExternalCheckMs = 10;

/**
 * The data version of one SQLite connection. Writes through this connection are counted as they
 * run (`PRAGMA data_version` ignores them); commits by other connections, such as the CLI working
 * on the same data directory, show up as a new `PRAGMA data_version`. That statement is asked at
 * most once per `externalCheckMs`: it takes a shared lock on the database, a cost that showed in
 * a manifest GET's profile even when asked once a millisecond under load. Another process's change
 * becomes visible within that interval: a command an operator runs, which no one can time more
 * finely than that.
 */
export class SqliteDataVersion implements DataVersion {
  private version = 0;
  private externalChanges = 0;
  private seenExternal: unknown;
  private checkedAt = 0;
  private readonly externalVersion: SQLite.Statement;

  constructor(
    connection: SQLite.Database,
    private readonly externalCheckMs = defaultExternalCheckMs,
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
