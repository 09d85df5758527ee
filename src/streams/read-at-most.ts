import { Readable } from 'node:stream';

/**
 * Reads a stream into one buffer if it holds at most `maxBytes`; undefined as soon as it holds
 * more, without reading the rest. For the small bodies that are buffered on purpose (manifests,
 * forms, image configurations, small blobs); blobs in general are streamed.
 */
export async function readAtMost(stream: Readable, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      stream.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Reads a stream into one buffer if it holds at most `maxBytes`; otherwise answers a stream of all
 * of it, the bytes read so far and then the rest as it comes, for a caller that keeps small bodies
 * in memory and streams large ones on. A stream that fails within `maxBytes` answers the bytes it
 * gave before, with the failure. Destroying the answered stream destroys `stream`.
 */
export async function readOrContinue(stream: Readable, maxBytes: number): Promise<{ content: Buffer; failure?: unknown } | { whole: Readable }> {
  const iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await iterator.next();
    } catch (failure) {
      return { content: Buffer.concat(chunks, total), failure };
    }
    if (next.done) return { content: Buffer.concat(chunks, total) };
    chunks.push(next.value);
    total += next.value.length;
    if (total > maxBytes) return { whole: Readable.from(continued(chunks, iterator), { objectMode: false }) };
  }
}

async function* continued(read: Buffer[], iterator: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* read;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // Ends (and on an early stop destroys) the source; after its end this does nothing.
    await iterator.return?.();
  }
}
