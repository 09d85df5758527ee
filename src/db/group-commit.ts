import type { ControlledTransaction, Transaction } from 'kysely';
import type { Database, Schema } from './schema.js';

export type Write<T> = (trx: Transaction<Schema>) => Promise<T>;

interface QueuedWrite {
  write: Write<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: writes that arrive while the database is busy committing are run together in the
 * next transaction, each inside its own savepoint, so many requests share one durable commit (one
 * fsync) instead of paying for one each. A write that fails rolls back to its savepoint and
 * rejects alone; the others still commit. Every write's promise settles only after the commit,
 * so a caller that awaited it may acknowledge the client.
 */
export class GroupCommit {
  private queue: QueuedWrite[] = [];
  private flushing = false;

  constructor(private readonly db: Database) {}

  run<T>(write: Write<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
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
      job.resolve(await this.db.transaction().execute(job.write));
    } catch (error) {
      job.reject(error);
    }
  }

  private async commitTogether(batch: QueuedWrite[]): Promise<void> {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    let trx: ControlledTransaction<Schema> | undefined;
    try {
      trx = await this.db.startTransaction().execute();
      for (const job of batch) {
        // Savepoint names are checked at compile time by Kysely; the one name is reused in turn.
        const savepoint = (await trx.savepoint('write').execute()) as unknown as ControlledTransaction<Schema, ['write']>;
        try {
          const value = await job.write(savepoint);
          await savepoint.releaseSavepoint('write').execute();
          outcomes.push({ ok: true, value });
        } catch (error) {
          await savepoint.rollbackToSavepoint('write').execute();
          await savepoint.releaseSavepoint('write').execute();
          outcomes.push({ ok: false, error });
        }
      }
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
