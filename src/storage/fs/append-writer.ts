import { type FileHandle, open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { WriteBackError } from '../errors.js';

const MiB = 1024 * 1024;

export interface AppendWriterOptions {
  /** Bytes the writer accepts ahead of the disk before it asks its source to wait. */
  bufferBytes?: number;
  /** Written bytes after which the writer starts a background `fdatasync`. */
  flushEveryBytes?: number;
}

/**
 * Appends a stream to a file in large batched writes, and flushes behind itself.
 *
 * Batching: with the default 16 KiB buffer of `fs.createWriteStream`, an upload alternates between
 * reading one socket chunk and waiting for one 64 KiB write; a buffer of a few MiB lets the socket
 * keep reading while a single `writev` takes everything that arrived meanwhile.
 *
 * Flush behind: on a machine with many GiB of memory, Linux keeps a whole blob dirty in the page
 * cache until the commit's fsync, which then waits for all of it at once. A background
 * `fdatasync` every few MiB puts the disk to work while the rest of the blob is still arriving, so
 * the final fsync has little left to do. A failed background flush fails the stream: the kernel
 * reports a write-back error only once, and the commit must not be told it succeeded. So the end
 * of the stream waits for the flush in progress; every 4 MiB keeps that wait short at the end of
 * each chunk of a chunked upload (measured against every 16 MiB, alternating: chunked pushes of
 * 16 MiB chunks ~285 -> ~305 MiB/s, monolithic ~380 -> ~440 MiB/s).
 */
export class AppendWriter extends Writable {
  private handle: FileHandle | undefined;
  private readonly flushEveryBytes: number;
  private unflushedBytes = 0;
  private flushing: Promise<void> | undefined;
  private flushError: Error | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly file: string,
    options: AppendWriterOptions = {},
  ) {
    super({ highWaterMark: options.bufferBytes ?? 4 * MiB });
    this.flushEveryBytes = options.flushEveryBytes ?? 4 * MiB;
  }

  /** Settles once the file is closed, whether the stream finished or failed. */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.once('close', () => resolve()));
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.file, 'a').then((handle) => {
      this.handle = handle;
      callback();
    }, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.track(this.append([chunk]), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.track(this.append(chunks.map(({ chunk }) => chunk)), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    Promise.resolve(this.flushing).then(() => callback(this.flushError), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Close only after the write in progress: whoever resumes the upload next must see its final size.
    const settled = Promise.allSettled([this.writing, this.flushing]);
    settled
      .then(() => this.handle?.close())
      .then(
        () => callback(error),
        (closeError: Error) => callback(error ?? closeError),
      );
  }

  private track(work: Promise<void>, callback: (error?: Error | null) => void): void {
    this.writing = work;
    work.then(
      () => {
        this.writing = undefined;
        callback(this.flushError);
      },
      (error: Error) => {
        this.writing = undefined;
        callback(error);
      },
    );
  }

  private async append(buffers: Buffer[]): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new Error('append writer used before its file was open');
    let pending = buffers;
    while (pending.length > 0) {
      const { bytesWritten } = await handle.writev(pending);
      this.unflushedBytes += bytesWritten;
      pending = remainderAfter(pending, bytesWritten);
    }
    this.flushBehind(handle);
  }

  private flushBehind(handle: FileHandle): void {
    if (this.flushing || this.unflushedBytes < this.flushEveryBytes) return;
    this.unflushedBytes = 0;
    this.flushing = handle.datasync().then(
      () => {
        this.flushing = undefined;
      },
      (error: Error) => {
        this.flushing = undefined;
        this.flushError ??= new WriteBackError(error);
      },
    );
  }
}

/** The buffers still to write after a partial `writev` of `written` bytes. */
function remainderAfter(buffers: Buffer[], written: number): Buffer[] {
  let skip = written;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return rest;
}
