import type { Digest } from '../oci/digest.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { BlobToCopy } from './blob-sources.js';
import { copyBlob } from './copy-blob.js';

/** Blobs copied at once: each copy spends most of its time waiting on the target store's requests. */
const copiesAtOnce = 4;

export interface BlobPhase {
  copied: number;
  alreadyPresent: number;
  failed: number;
}

/**
 * Copies each of `blobs` from `source` to `target` (see `copyBlob`), a few at once, and tells
 * `onFailure` of each blob that did not verify or was missing. An error of a store or the
 * database ends the phase once the copies under way have ended.
 */
export async function copyBlobs(
  blobs: AsyncIterable<BlobToCopy>,
  source: BlobStore,
  target: BlobStore,
  onFailure: (digest: Digest, reason: string) => void,
): Promise<BlobPhase> {
  const phase: BlobPhase = { copied: 0, alreadyPresent: 0, failed: 0 };
  const pending = blobs[Symbol.asyncIterator]();
  let error: { cause: unknown } | undefined;
  const copier = async () => {
    try {
      for (let next = await pending.next(); !next.done && !error; next = await pending.next()) {
        const { digest, size } = next.value;
        const copy = await copyBlob(source, target, digest, size);
        if (copy.outcome === 'copied') phase.copied++;
        else if (copy.outcome === 'already-present') phase.alreadyPresent++;
        else {
          phase.failed++;
          onFailure(digest, copy.reason);
        }
      }
    } catch (cause) {
      error ??= { cause };
    }
  };
  await Promise.all(Array.from({ length: copiesAtOnce }, copier));
  if (error) throw error.cause;
  return phase;
}
