import { type FileHandle, open } from 'node:fs/promises';

/**
 * Durability of SQLite commits without blocking the event loop.
 *
 * better-sqlite3 runs every statement on the main thread, so with `synchronous = FULL` each commit
 * waits there for the fsync of the write-ahead log, and the whole server stops meanwhile. Instead
 * the connection runs with `synchronous = NORMAL`, where a commit only appends to the WAL, and this
 * class fdatasyncs the WAL file in the thread pool. The query that committed resolves only after
 * that sync, and it keeps the connection until then, so nobody in this process reads data that is
 * not yet durable.
 *
 * Recovery after a power loss replays the WAL up to its first frame whose checksum fails, so what
 * survives is always a prefix of the commits: a manifest never outlives the blob links it needed.
 * One sync covers every commit written before it started; concurrent committers share syncs.
 *
 * After a failed sync nothing more can be promised (the kernel reports a write-back error once,
 * and may have dropped the pages), so every later sync fails with the same error.
 */
export class WalSync {
  /** Writes seen so far, and how many of them a completed sync covers. */
  private written = 0;
  private synced = 0;
  private inFlight: Promise<void> | undefined;
  private failure: Error | undefined;
  private handle: Promise<FileHandle> | undefined;

  constructor(
    private readonly walFile: string,
    /** The sync itself; a test may count or fail it. */
    private readonly fdatasync: (handle: FileHandle) => Promise<void> = (handle) => handle.datasync(),
  ) {}

  /** Called before every statement that may write. */
  wrote(): void {
    this.written++;
  }

  /** Whether some write is not yet on stable storage. */
  get pending(): boolean {
    return this.synced < this.written;
  }

  /** Throws the error of a failed sync: after one, what the database holds is not vouched for. */
  checkHealthy(): void {
    if (this.failure) throw this.failure;
  }

  /** Writes seen so far: a connection compares it before and after its statements. */
  get writes(): number {
    return this.written;
  }

  /** Resolves once every write so far is on stable storage. */
  async sync(): Promise<void> {
    const target = this.written;
    while (this.synced < target) {
      if (this.failure) throw this.failure;
      this.inFlight ??= this.start();
      await this.inFlight;
    }
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }

  private async start(): Promise<void> {
    const covers = this.written;
    try {
      // Opened at the first sync: the WAL exists once something was written. SQLite removes it
      // only when the last connection closes, which this process's own connection prevents.
      this.handle ??= open(this.walFile, 'r');
      await this.fdatasync(await this.handle);
      this.synced = Math.max(this.synced, covers);
    } catch (error) {
      this.failure ??= error instanceof Error ? error : new Error(String(error));
    } finally {
      this.inFlight = undefined;
    }
  }
}
