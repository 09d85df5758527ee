import { CompiledQuery, type ControlledTransaction, type Transaction } from 'kysely';
import { directlyWithin } from './direct-statements.js';
import type { DatabaseEngine } from './engine.js';
import type { Schema } from './schema.js';

export type Write<T> = (trx: Transaction<Schema>) => Promise<T>;

// Compiled once, because this runs once per write: Kysely's savepoint builders compile the
// statements again each time.
const savepoint = CompiledQuery.raw('savepoint "write"');
const releaseSavepoint = CompiledQuery.raw('release "write"');
const rollbackToSavepoint = CompiledQuery.raw('rollback to "write"');

interface QueuedWrite {
  write: Write<unknown>;
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: writes that arrive while the database is busy committing are run together in the
 * next transaction, each inside its own savepoint, so many requests share one durable commit (one
 * fsync) instead of paying for one each. A write that fails rolls back to its savepoint and
 * rejects alone; the others still commit. Every write's promise settles only after the commit,
 * so a caller that awaited it may acknowledge the client. A batch of writes that are all
 * `durable: false` commits without waiting for stable storage (see `DatabaseEngine.relaxCommit`).
 */
export class GroupCommit {
  private queue: QueuedWrite[] = [];
  private flushing = false;

  constructor(private readonly engine: DatabaseEngine) {}

  run<T>(write: Write<T>, options: { durable: boolean } = { durable: true }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, durable: options.durable, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Let the requests already read from the sockets queue their writes before committing.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // The engine may hold the batch (SQLite catches up a grown WAL); writes arriving meanwhile join it.
        await this.engine.beforeWrites();
        const batch = this.queue;
        this.queue = [];
        await (batch.length === 1 ? this.commitAlone(batch[0] as QueuedWrite) : this.commitTogether(batch));
      }
    } finally {
      this.flushing = false;
    }
  }

  private async commitAlone(job: QueuedWrite): Promise<void> {
    try {
      job.resolve(
        await this.engine.db.transaction().execute(async (trx) => {
          if (!job.durable) await this.engine.relaxCommit(trx);
          return directlyWithin(trx, this.engine.directRunner, () => job.write(trx));
        }),
      );
    } catch (error) {
      job.reject(error);
    }
  }

  /** A savepoint's statement, directly where the engine allows it (as prepared statements run). */
  private async savepointStatement(trx: Transaction<Schema>, query: CompiledQuery): Promise<void> {
    if (this.engine.directRunner) this.engine.directRunner(query.sql, query.parameters);
    else await trx.executeQuery(query);
  }

  private async commitTogether(batch: QueuedWrite[]): Promise<void> {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    let trx: ControlledTransaction<Schema> | undefined;
    try {
      trx = await this.engine.db.startTransaction().execute();
      if (batch.every((job) => !job.durable)) await this.engine.relaxCommit(trx);
      const open = trx;
      await directlyWithin(open, this.engine.directRunner, async () => {
        for (const job of batch) {
          await this.savepointStatement(open, savepoint);
          try {
            const value = await job.write(open);
            await this.savepointStatement(open, releaseSavepoint);
            outcomes.push({ ok: true, value });
          } catch (error) {
            await this.savepointStatement(open, rollbackToSavepoint);
            await this.savepointStatement(open, releaseSavepoint);
            outcomes.push({ ok: false, error });
          }
        }
      });
      await trx.commit().execute();
    } catch (error) {
      if (trx && !trx.isCommitted && !trx.isRolledBack) await trx.rollback().execute().catch(() => undefined);
      for (const job of batch) job.reject(error);
      return;
    }
    batch.forEach((job, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) job.resolve(outcome.value);
      else job.reject(outcome?.error);
    });
  }
}
