import { Worker } from 'node:worker_threads';

/** What a checkpoint reports: the frames in the WAL when it began. */
export interface CheckpointResult {
  log: number;
}

export interface Checkpointer {
  run(): Promise<CheckpointResult>;
  close(): Promise<void>;
}

/** The timer of the idle checkpoint: restarted by every write while it waits. */
export interface IdleTimer {
  refresh(): unknown;
  unref(): unknown;
}

export interface IdleTimers {
  set(callback: () => void, ms: number): IdleTimer;
  clear(timer: IdleTimer): void;
}

const nodeTimers: IdleTimers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

export interface WalCheckpointOptions {
  /** Write statements between checkpoints; a statement dirties about one page. */
  everyWrites: number;
  /** Above this many frames in the WAL, writes wait for a checkpoint that runs alone. */
  maxWalFrames: number;
  /** After this many write statements, a pause of `idleMs` in the writes starts a checkpoint. */
  idleWrites: number;
  idleMs: number;
  checkpointer: Checkpointer;
  /** Called once if a checkpoint fails; no more are run here, so the connection must take them over. */
  onFailure: (error: Error) => void;
  /** Node's timers by default; tests pass their own to move time by hand. */
  timers?: IdleTimers;
}

/**
 * Checkpoints of the write-ahead log, off the event loop.
 *
 * A checkpoint copies the WAL's pages into the database and fsyncs both files. SQLite runs it in
 * the COMMIT that crosses its threshold, so with better-sqlite3 the whole server would stop for it
 * (see docs/performance.md for what that cost). Here the connection never
 * checkpoints itself; a worker thread with its own connection runs passive checkpoints while the
 * server goes on reading and writing.
 *
 * The WAL starts again from its beginning only when a write finds every frame checkpointed. Under
 * constant writes a checkpoint running beside them never quite catches up, and the WAL would grow
 * without end. So once it holds more than
 * `maxWalFrames` frames, the next group of writes waits for a checkpoint that runs alone; the
 * event loop stays free meanwhile.
 */
export class WalCheckpoints {
  /** Write statements since the last checkpoint began. */
  private writes = 0;
  private running: Promise<void> | undefined;
  /** The last checkpoint's result, and whether nothing was written while it ran. */
  private last = { log: 0, alone: false };
  /** After a failure, or once closed, no more checkpoints run here. */
  private stopped = false;
  private idleTimer: IdleTimer | undefined;
  /** Checkpoints completed, for tests and diagnostics. */
  completed = 0;

  private readonly timers: IdleTimers;

  constructor(private readonly options: WalCheckpointOptions) {
    this.timers = options.timers ?? nodeTimers;
  }

  /** Called before every statement that may write. */
  wrote(): void {
    this.writes++;
  }

  /**
   * After a durable commit: starts a checkpoint in the background once enough was written, and
   * otherwise one when the writes pause, so that a burst of writes finds the WAL started again.
   */
  committed(): void {
    if (this.due && !this.running) this.start();
    else if (this.writes >= this.options.idleWrites) this.whenIdle();
  }

  /** Before a group of writes: resolves at once, unless the WAL has grown over its limit. */
  async beforeWrites(): Promise<void> {
    if (!this.overLimit) return;
    await this.running;
    if (this.overLimit) {
      this.start();
      await this.running;
    }
  }

  async close(): Promise<void> {
    if (this.idleTimer) this.timers.clear(this.idleTimer);
    this.stopped = true;
    await this.running;
    await this.options.checkpointer.close();
  }

  private get due(): boolean {
    return !this.stopped && this.writes >= this.options.everyWrites;
  }

  /**
   * A checkpoint reports the WAL as it was when the checkpoint began, so under constant writes it
   * seems caught up while the WAL grows on; only one that ran alone leaves nothing behind, and the
   * next write starts the WAL again. If that did not happen (another process was reading the WAL),
   * the next checkpoint finds the WAL still long, and writes wait for another one.
   */
  private get overLimit(): boolean {
    return !this.stopped && !this.last.alone && this.last.log > this.options.maxWalFrames;
  }

  private whenIdle(): void {
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return;
    }
    this.idleTimer = this.timers.set(() => {
      if (!this.stopped && !this.running && this.writes > 0) this.start();
    }, this.options.idleMs);
    this.idleTimer.unref();
  }

  private start(): void {
    this.writes = 0;
    this.running = this.options.checkpointer.run().then(
      (result) => {
        this.last = { log: result.log, alone: this.writes === 0 };
        this.completed++;
        this.running = undefined;
      },
      (error: unknown) => {
        this.stopped = true;
        this.running = undefined;
        this.options.onFailure(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }
}

/** A checkpointer whose thread comes and goes: how many it has started, for tests and diagnostics. */
export interface ThreadCheckpointer extends Checkpointer {
  readonly threadsStarted: number;
}

/**
 * Runs checkpoints in a worker thread with its own connection, started at the first one. A
 * thread is a whole Node environment (about 19 MB resident with its connection), so it ends once
 * `idleMs` pass without a checkpoint, and the next checkpoint starts another.
 */
export function workerCheckpointer(file: string, idleMs = 60_000): ThreadCheckpointer {
  let worker: Worker | undefined;
  let pending: { resolve: (result: CheckpointResult) => void; reject: (error: Error) => void } | undefined;
  let idleEnd: NodeJS.Timeout | undefined;
  let threadsStarted = 0;
  const fail = (error: Error) => {
    pending?.reject(error);
    pending = undefined;
  };
  const end = (thread: Worker): Promise<void> => {
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.ref();
    thread.postMessage('close');
    return exited;
  };
  const endWhenIdle = (thread: Worker) => {
    idleEnd = setTimeout(() => {
      if (worker !== thread || pending) return;
      worker = undefined;
      void end(thread);
    }, idleMs);
    idleEnd.unref();
  };
  const started = () => {
    if (worker) return worker;
    const created = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { file } });
    threadsStarted++;
    created.unref();
    created.on('message', (reply: ({ ok: true } & CheckpointResult) | { ok: false; error: string }) => {
      created.unref();
      const waiting = pending;
      pending = undefined;
      if (reply.ok) waiting?.resolve({ log: reply.log });
      else waiting?.reject(new Error(`WAL checkpoint failed: ${reply.error}`));
      endWhenIdle(created);
    });
    // A thread ended on purpose (idle, or closed) is no longer `worker`: what it does as it ends
    // is not the fate of a checkpoint another thread may be running.
    created.on('error', (error) => {
      if (worker === created) fail(error);
    });
    created.on('exit', (code) => {
      if (worker !== created) return;
      worker = undefined;
      fail(new Error(`the WAL checkpoint thread exited (code ${code})`));
    });
    worker = created;
    return created;
  };
  return {
    get threadsStarted() {
      return threadsStarted;
    },
    run() {
      clearTimeout(idleEnd);
      return new Promise<CheckpointResult>((resolve, reject) => {
        pending = { resolve, reject };
        // Referenced while it works, so that a process waiting for it does not end meanwhile.
        const thread = started();
        thread.ref();
        thread.postMessage('checkpoint');
      });
    },
    async close() {
      clearTimeout(idleEnd);
      const running = worker;
      worker = undefined;
      if (running) await end(running);
    },
  };
}
