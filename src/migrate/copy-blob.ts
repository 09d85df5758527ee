import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type Digest, createDigester, digestAlgorithm } from '../oci/digest.js';
import { DigestingStream, digestBody } from '../registry/digesting-stream.js';
import type { BlobStore } from '../storage/blob-store.js';
import { BlobNotFoundError } from '../storage/errors.js';

export type BlobCopy = { outcome: 'copied' } | { outcome: 'already-present' } | { outcome: 'failed'; reason: string };

/**
 * Copies one committed blob between stores as the registry receives one: streamed into an upload
 * of the target, hashed on the way, and committed under its digest only when the bytes hash to it;
 * otherwise the upload is deleted and nothing appears under the digest. A blob the target holds at
 * the expected size is left alone, so a copy that was cut off is finished by running it again.
 */
export async function copyBlob(source: BlobStore, target: BlobStore, digest: Digest, size: number): Promise<BlobCopy> {
  if ((await target.stat(digest)) === size) return { outcome: 'already-present' };
  let bytes: Readable;
  try {
    bytes = await source.read(digest);
  } catch (error) {
    if (error instanceof BlobNotFoundError) return { outcome: 'failed', reason: 'missing from the source store' };
    throw error;
  }
  const hash = createDigester(digestAlgorithm(digest));
  const digesting = new DigestingStream(hash, Number.POSITIVE_INFINITY);
  const upload = randomUUID();
  await target.createUpload(upload);
  try {
    await target.appendUpload(upload, 0, digestBody(bytes, digesting));
    const actual = `${digestAlgorithm(digest)}:${hash.digest('hex')}`;
    if (actual !== digest) {
      await target.deleteUpload(upload);
      return { outcome: 'failed', reason: `its ${digesting.bytes} bytes hash to ${actual}` };
    }
    await target.commitUpload(upload, digest);
    return { outcome: 'copied' };
  } catch (error) {
    await target.deleteUpload(upload);
    throw error;
  }
}
