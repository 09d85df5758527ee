import { open } from 'node:fs/promises';
import { WriteBackError } from './write-back-error.js';

const MiB = 1024 * 1024;

export interface FlushBehindOptions {
  /** Written bytes after which a flush starts. */
  everyBytes?: number;
  /** The flush itself; a test may count or fail it. */
  sync?: (file: string) => Promise<void>;
  /** Runs once, at the first failure, before `settled` reports it. */
  onFailure?: (error: WriteBackError) => Promise<void>;
}

/**
 * Background `fdatasync`s of one upload's file while its bytes arrive, across every request that
 * appends to it.
 *
 * On a machine with many GiB of memory, Linux keeps a whole blob dirty in the page cache until the
 * commit's fsync, which then waits for all of it at once. A flush every few MiB puts the disk to
 * work while the rest of the blob is still arriving, so the commit has little left to do.
 *
 * No request waits for these flushes. Each runs on a descriptor of its own, so a chunk's request
 * can close its file and answer while its last flush is still running. The first error a flush
 * reports is kept: the kernel reports a write-back error only once, so whatever next touches the
 * upload (a chunk, or the commit, through `settled`) must fail with it.
 */
export class FlushBehind {
  private unflushedBytes = 0;
  private flushing: Promise<void> | undefined;
  private failure: WriteBackError | undefined;

  private readonly everyBytes: number;
  private readonly sync: (file: string) => Promise<void>;
  private readonly onFailure: (error: WriteBackError) => Promise<void>;

  constructor(
    private readonly file: string,
    options: FlushBehindOptions = {},
  ) {
    this.everyBytes = options.everyBytes ?? 4 * MiB;
    this.sync = options.sync ?? dataSync;
    this.onFailure = options.onFailure ?? (() => Promise.resolve());
  }

  /** The write-back error a flush reported, if any. */
  get error(): WriteBackError | undefined {
    return this.failure;
  }

  /** Records `bytes` more written to the file; starts a flush once enough are unflushed and none runs. */
  wrote(bytes: number): void {
    this.unflushedBytes += bytes;
    if (this.flushing || this.unflushedBytes < this.everyBytes) return;
    this.unflushedBytes = 0;
    this.flushing = this.sync(this.file).then(
      () => {
        this.flushing = undefined;
      },
      async (error: unknown) => {
        const first = !this.failure;
        this.failure ??= new WriteBackError(error);
        if (first) await this.onFailure(this.failure).catch(() => undefined);
        this.flushing = undefined;
      },
    );
  }

  /** Settles once the flush in progress is done; rejects with the first write-back error. */
  async settled(): Promise<void> {
    await this.flushing;
    if (this.failure) throw this.failure;
  }
}

async function dataSync(file: string): Promise<void> {
  // A file that cannot be opened (removed meanwhile) has nothing to flush; the commit syncs anyway.
  const handle = await open(file, 'r+').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
