import type SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  SqliteDialect,
  type SqliteDatabase,
} from 'kysely';
import type { WalCheckpoints } from './wal-checkpoints.js';
import type { WalSync } from './wal-sync.js';

/**
 * Sent in a transaction (and answered here, not by SQLite) when its commit need not wait for the
 * WAL sync. Its writes are durable with the next commit that waits: the WAL keeps commits in order.
 */
export const relaxedCommit = CompiledQuery.raw('-- commit without waiting for the sync');

const beginImmediate = CompiledQuery.raw('begin immediate');

/**
 * Kysely's SQLite dialect, whose queries resolve only once what they committed is durable, unless
 * their transaction said otherwise (`relaxedCommit`).
 */
export class DurableSqliteDialect extends SqliteDialect {
  constructor(
    database: SqliteDatabase,
    private readonly connection: SQLite.Database,
    private readonly wal: WalSync,
    private readonly checkpoints: WalCheckpoints,
  ) {
    super({ database });
  }

  override createDriver(): Driver {
    return new DurableDriver(super.createDriver(), this.connection, this.wal, this.checkpoints);
  }
}

class DurableDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly connection: SQLite.Database,
    private readonly wal: WalSync,
    private readonly checkpoints: WalCheckpoints,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new DurableConnection(await this.inner.acquireConnection(), this.connection, this.wal, this.checkpoints);
  }

  /**
   * Every transaction takes the write lock as it begins, waiting up to the busy timeout while
   * another process (the CLI beside a server) writes. A deferred one that read first would fail at
   * once, with no wait, if another connection committed before its first write: SQLite cannot move
   * its snapshot forward (SQLITE_BUSY_SNAPSHOT, "database is locked").
   */
  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(beginImmediate);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }

  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.required(this.inner.savepoint)(connection, name, compile);
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.required(this.inner.rollbackToSavepoint)(connection, name, compile);
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.required(this.inner.releaseSavepoint)(connection, name, compile);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection((connection as DurableConnection).inner);
  }

  async destroy(): Promise<void> {
    await this.checkpoints.close();
    await this.wal.close();
    await this.inner.destroy();
  }

  private required<F extends (...args: never[]) => Promise<void>>(method: F | undefined): F {
    if (!method) throw new Error('the SQLite driver lacks savepoints');
    return method.bind(this.inner) as F;
  }
}

/**
 * Runs a query and, when it left committed writes behind (an autocommit write, or the COMMIT of a
 * transaction), waits for them to be durable while still holding the connection. Kysely makes one
 * for each use of the connection (a transaction, or one query), so `relaxed` lasts that long.
 * Only a use that wrote waits: a read may see a relaxed commit that is not durable yet, which is
 * what relaxing means.
 */
class DurableConnection implements DatabaseConnection {
  private relaxed = false;
  private writesBefore: number;

  constructor(
    readonly inner: DatabaseConnection,
    private readonly connection: SQLite.Database,
    private readonly wal: WalSync,
    private readonly checkpoints: WalCheckpoints,
  ) {
    this.writesBefore = wal.writes;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (query === relaxedCommit) {
      this.relaxed = true;
      return { rows: [] };
    }
    const result = await this.inner.executeQuery<R>(query);
    if (this.connection.inTransaction) return result;
    if (this.wal.writes !== this.writesBefore) {
      this.writesBefore = this.wal.writes;
      if (!this.relaxed) await this.wal.sync();
      this.checkpoints.committed();
    }
    this.wal.checkHealthy();
    return result;
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}
