import type { Database } from '../db/schema.js';

/**
 * Manifest downloads, counted in memory on the pull path and written in one transaction every
 * few seconds and at shutdown: a pull never waits on a database write.
 */
export class DownloadCounter {
  private pending = new Map<string, Map<string, number>>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly intervalMs = 5000,
  ) {}

  /** Where failures of the background flush go. */
  onError: (error: unknown) => void = () => {};

  start(): void {
    this.timer ??= setInterval(() => void this.flush().catch((error: unknown) => this.onError(error)), this.intervalMs);
    this.timer.unref();
  }

  count(name: string, digest: string, n = 1): void {
    let digests = this.pending.get(name);
    if (!digests) this.pending.set(name, (digests = new Map()));
    digests.set(digest, (digests.get(digest) ?? 0) + n);
  }

  /** Writes the counts gathered so far; flushes run one after another. */
  flush(): Promise<void> {
    this.flushing = this.flushing.catch(() => {}).then(() => this.write());
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const [name, digests] of batch) {
          const pkg = await trx.selectFrom('packages').select('id').where('name', '=', name).where('deleted_at', 'is', null).executeTakeFirst();
          if (!pkg) continue;
          let total = 0;
          for (const [digest, n] of digests) {
            total += n;
            await trx
              .updateTable('package_versions')
              .set((eb) => ({ download_count: eb('download_count', '+', n) }))
              .where('package_id', '=', pkg.id)
              .where('digest', '=', digest)
              .where('deleted_at', 'is', null)
              .execute();
          }
          await trx
            .updateTable('packages')
            .set((eb) => ({ download_count: eb('download_count', '+', total) }))
            .where('id', '=', pkg.id)
            .execute();
        }
      });
    } catch (error) {
      // Keep the counts for the next attempt rather than losing them.
      for (const [name, digests] of batch) for (const [digest, n] of digests) this.count(name, digest, n);
      throw error;
    }
  }
}
