import type { SchemaDialect } from './dialect.js';
import type { Transaction } from 'kysely';
import type { DirectRunner } from './direct-statements.js';
import type { Database, Schema } from './schema.js';

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
 * One open metadata database, as the services see it, whatever engine is underneath: the query
 * builder over the schema, what differs in its SQL, how caches learn of changes, and the engine's
 * say in when writes run. Each engine (`sqlite/`) is a sibling that fills this in; nothing outside
 * `src/db/` knows which one it has.
 */
export interface DatabaseEngine {
  readonly db: Database;
  readonly dialect: SchemaDialect;
  /**
   * Change detection for the caches of query results. An engine that cannot tell must say so with
   * a version that changes at every call, which turns caching off where it would be wrong.
   */
  readonly dataVersion: DataVersion;
  /** Awaited before each batch of writes: lets the engine hold writes while it catches up. */
  beforeWrites(): Promise<void>;
  /**
   * Called first in a transaction whose commit need not wait for stable storage (an upload
   * session's progress, which a client must be ready to find gone). A crash may lose it, and
   * only with the commits after it: the next durable commit makes it durable too.
   */
  relaxCommit(trx: Transaction<Schema>): Promise<void>;
  /**
   * Runs statements of a transaction at once on the connection it holds, when the engine's
   * statements run synchronously on one connection (see `DirectRunner`); undefined otherwise.
   */
  readonly directRunner?: DirectRunner;
  /**
   * Whether other Berth nodes use this database too: state that one process could keep in memory
   * (sign-in failure counts) must then live in the database.
   */
  readonly sharedByNodes: boolean;
  /**
   * Runs what must not run twice at once on any node (the sweep of expired uploads and purges, a
   * write to one upload): undefined, without running it, while a run of that name goes on, on
   * this node or another. A node that dies lets go of its runs' names.
   */
  exclusively<T>(name: string, run: () => Promise<T>): Promise<T | undefined>;
  /** Throws when the database cannot be reached (for readiness). */
  ping(): Promise<void>;
  /** Ends pending background work and closes the connections. */
  close(): Promise<void>;
}
