import type { Hash } from 'node:crypto';
import { type Readable, Transform, type TransformCallback, pipeline } from 'node:stream';
import { RegistryError } from '../oci/errors.js';
import { receivedBytes } from '../streams/young-collections.js';

/**
 * A pass-through that feeds every byte to a running hash and counts them, so a blob is digested
 * while it streams to disk. Fails with SIZE_INVALID once more than `maxBytes` have passed. The
 * bytes it passes count towards the young-generation collections that free consumed socket
 * buffers (`streams/young-collections.ts`).
 */
export class DigestingStream extends Transform {
  bytes = 0;

  constructor(
    private readonly hash: Hash,
    private readonly maxBytes: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(new RegistryError('SIZE_INVALID', `blob exceeds the limit of ${this.maxBytes} bytes`, { condition: 'too-large' }));
      return;
    }
    this.hash.update(chunk);
    receivedBytes.passed(chunk.length);
    callback(null, chunk);
  }
}

/**
 * Feeds `body` through `digesting` and returns the digesting side to read from. Unlike `pipe`, a
 * body that fails or is cut off destroys the digesting stream too, so whoever reads it sees the
 * error instead of waiting forever.
 */
export function digestBody(body: Readable, digesting: DigestingStream): DigestingStream {
  pipeline(body, digesting, () => {
    // Failures reach the reader of `digesting`, which pipeline has destroyed with the error.
  });
  return digesting;
}
