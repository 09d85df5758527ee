import type { DatabaseEngine } from '../db/engine.js';
import type { CollectionReport, GarbageCollector } from './garbage-collector.js';

export interface CollectionLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * When garbage collection runs: every interval, and when an administrator asks, on one node at a
 * time when several share the database. Each run is logged as one line, and the last one's
 * figures are kept for `/metrics`.
 */
export class CollectionRuns {
  private timer: NodeJS.Timeout | undefined;
  private lastRun: CollectionReport | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly collector: GarbageCollector,
    private readonly exclusively: DatabaseEngine['exclusively'],
    private readonly log: CollectionLog,
  ) {}

  /** The last collection this node ran (not a dry run). */
  get last(): CollectionReport | undefined {
    return this.lastRun;
  }

  /** Runs a collection now: undefined when one is running already, here or on another node. */
  async run({ dryRun = false }: { dryRun?: boolean } = {}): Promise<CollectionReport | undefined> {
    const run = this.exclusively('gc', () => this.collector.collect({ dryRun }));
    this.running = run.catch(() => undefined);
    const report = await run;
    if (report) {
      this.log.info({ gc: report }, dryRun ? 'garbage collection, dry run' : 'garbage collection');
      if (!dryRun) this.lastRun = report;
    }
    return report;
  }

  /**
   * Finishes the blobs a collection cut short left marked, unless a collection runs, here or on
   * another node (it finishes them itself). Logged only when there were some. The collections'
   * lock is taken only then, so that a scheduled collection is not turned away for nothing.
   */
  async finishCutShort(): Promise<void> {
    if (!(await this.collector.anyMarked())) return;
    const finished = await this.exclusively('gc', () => this.collector.finishCutShort());
    if (finished && finished.blobsRemoved > 0) this.log.info({ gc: finished }, 'garbage collection cut short: finished the blobs it had marked');
  }

  every(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.run().catch((error: unknown) => this.log.error({ err: error }, 'garbage collection failed'));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the schedule, and waits for a run in progress (a collection cut short is finished by the next). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
