import { type FileHandle, open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { privateFileMode } from '../../private-files.js';
import type { FlushBehind } from './flush-behind.js';

const MiB = 1024 * 1024;

export interface AppendWriterOptions {
  /** Bytes the writer accepts ahead of the disk before it asks its source to wait. */
  bufferBytes?: number;
  /** The upload's background flushes, told of every write; a flush's error fails the stream. */
  flushBehind?: FlushBehind;
}

/**
 * Appends a stream to a file in large batched writes.
 *
 * With the default 16 KiB buffer of `fs.createWriteStream`, an upload alternates between reading
 * one socket chunk and waiting for one 64 KiB write; a buffer of a few MiB lets the socket keep
 * reading while a single `writev` takes everything that arrived meanwhile.
 */
export class AppendWriter extends Writable {
  private handle: FileHandle | undefined;
  private writing: Promise<void> | undefined;
  private written = 0;
  private readonly flushBehind: FlushBehind | undefined;

  constructor(
    private readonly file: string,
    options: AppendWriterOptions = {},
  ) {
    super({ highWaterMark: options.bufferBytes ?? 4 * MiB });
    this.flushBehind = options.flushBehind;
  }

  /** Bytes this writer has appended to the file so far. */
  get bytesWritten(): number {
    return this.written;
  }

  /** Settles once the file is closed, whether the stream finished or failed. */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.once('close', () => resolve()));
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.file, 'a', privateFileMode).then((handle) => {
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
    callback(this.flushBehind?.error);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Close only after the write in progress: whoever resumes the upload next must see its final size.
    Promise.allSettled([this.writing])
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
        callback(this.flushBehind?.error);
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
      this.written += bytesWritten;
      this.flushBehind?.wrote(bytesWritten);
      pending = remainderAfter(pending, bytesWritten);
    }
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
