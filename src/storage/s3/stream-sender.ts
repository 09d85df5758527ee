import type { Readable, Writable } from 'node:stream';
import type { BlobSender } from '../blob-store.js';
import { ChunkWriter } from '../chunk-writer.js';

/**
 * Sends a readable (an object store's response body) into a writable one chunk at a time, reading
 * the next chunk only once the destination took the last: the body's own flow control then holds
 * the object store back, and at most one chunk waits in memory.
 */
export class StreamSender implements BlobSender {
  constructor(private readonly body: Readable) {}

  async sendTo(destination: Writable): Promise<void> {
    const writes = new ChunkWriter(destination);
    try {
      for await (const chunk of this.body) {
        writes.write(chunk as Buffer);
        await writes.previous();
      }
      await writes.previous();
    } finally {
      writes.release();
      this.body.destroy();
    }
  }

  async close(): Promise<void> {
    this.body.destroy();
  }
}
