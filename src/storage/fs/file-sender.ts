import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { BlobSender } from '../blob-store.js';
import { ChunkWriter } from '../chunk-writer.js';
import { ReadBuffers } from './read-buffers.js';

const MiB = 1024 * 1024;

/**
 * The buffers of the process's pulls: two per pull running, and between pulls up to sixteen, eight
 * pulls' worth, kept for the next.
 * Clients pull several layers at once (containers/image six, containerd and docker three), and a
 * burst that gives back more buffers than are kept leaves the rest as garbage that V8 frees only
 * in a full collection: repeated bursts of eight pulls then grew resident memory by the buffers
 * of each burst until one ran, where kept buffers hold it level.
 */
export const pullBuffers = new ReadBuffers(MiB, 16);

/**
 * Sends a byte range of an open file into a writable, reading into two buffers that it reuses:
 * while one is being written, the next part of the file is read into the other.
 *
 * A `fs.createReadStream` allocates a new buffer for every read. On a long pull those buffers are
 * memory outside the JavaScript heap that grows by the blob's size, and V8 answers it with full
 * garbage collections of the whole server heap (see docs/performance.md). Reused buffers allocate
 * nothing per chunk, and a file of at least a buffer's size takes them from `ReadBuffers` and
 * gives them back when sent, for the next pull.
 *
 * A buffer is written again only after the destination's write callback has run, which for a
 * socket or an HTTP response means its bytes were handed to the kernel.
 */
export class FileSender implements BlobSender {
  private closing: Promise<void> | undefined;

  constructor(
    private readonly handle: FileHandle,
    private readonly start: number,
    /** Inclusive. */
    private readonly end: number,
    private readonly buffers = pullBuffers,
  ) {}

  async sendTo(destination: Writable): Promise<void> {
    try {
      await this.send(destination);
    } finally {
      await this.close();
    }
  }

  close(): Promise<void> {
    this.closing ??= this.handle.close();
    return this.closing;
  }

  private async send(destination: Writable): Promise<void> {
    const total = this.end - this.start + 1;
    const pooled = total >= this.buffers.bufferBytes;
    const size = pooled ? this.buffers.bufferBytes : Math.max(total, 1);
    const buffers = pooled ? [this.buffers.take(), this.buffers.take()] : [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
    const writes = new ChunkWriter(destination);
    try {
      let position = this.start;
      let turn = 0;
      while (position <= this.end) {
        const buffer = buffers[turn] as Buffer;
        turn ^= 1;
        const { bytesRead } = await this.handle.read(buffer, 0, Math.min(size, this.end - position + 1), position);
        if (bytesRead === 0) throw new Error(`the file ended at byte ${position}, before ${this.end + 1}`);
        // The buffer just filled was last written two turns ago; wait for the other one's write
        // before starting this one, so that at most one chunk is queued on the destination.
        await writes.previous();
        writes.write(buffer.subarray(0, bytesRead));
        position += bytesRead;
      }
      await writes.previous();
      // Every write has been handed to the destination. After a failure one may still be
      // pending, so its buffers are left to the collector.
      if (pooled) for (const buffer of buffers) this.buffers.giveBack(buffer);
    } finally {
      writes.release();
    }
  }
}
