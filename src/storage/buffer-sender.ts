import type { Writable } from 'node:stream';
import type { BlobSender } from './blob-store.js';
import { ChunkWriter } from './chunk-writer.js';

/** Sends bytes already in memory (a small blob kept in the metadata) as one write. */
export class BufferSender implements BlobSender {
  constructor(private readonly bytes: Buffer) {}

  async sendTo(destination: Writable): Promise<void> {
    const writes = new ChunkWriter(destination);
    try {
      if (this.bytes.length > 0) writes.write(this.bytes);
      await writes.previous();
    } finally {
      writes.release();
    }
  }

  async close(): Promise<void> {}
}
