import type { Readable } from 'node:stream';

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
