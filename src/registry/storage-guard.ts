import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { RepositoryName } from '../oci/names.js';

/**
 * Something a push is about to store: a blob or manifest by digest (its size looked up when not
 * given), or bytes whose digest is not known yet (an upload under way).
 */
export type StorageAddition = { digest: Digest; size?: number } | { digest?: undefined; size: number };

/** How far a push would take a namespace past its storage quota. */
export interface StorageExcess {
  namespace: string;
  usedBytes: number;
  quotaBytes: number;
  /** What the push adds that the namespace does not hold yet. */
  addedBytes: number;
}

/**
 * Asked before a push stores anything, so a push that would take a namespace past its quota is
 * refused before its bytes are kept. The registry knows no accounts; the layer that does answers.
 */
export interface StorageGuard {
  excess(name: RepositoryName, additions: readonly StorageAddition[]): Promise<StorageExcess | undefined>;
}

export const unlimitedStorage: StorageGuard = { excess: async () => undefined };

/** Refuses (403 DENIED) what would take the repository's namespace past its quota. */
export async function admit(guard: StorageGuard, name: RepositoryName, additions: readonly StorageAddition[]): Promise<void> {
  const excess = await guard.excess(name, additions);
  if (!excess) return;
  throw new RegistryError(
    'DENIED',
    `storage quota exceeded: ${excess.namespace} uses ${excess.usedBytes} of its ${excess.quotaBytes} bytes and this push adds ${excess.addedBytes}`,
    { detail: { namespace: excess.namespace, used_bytes: excess.usedBytes, quota_bytes: excess.quotaBytes, added_bytes: excess.addedBytes } },
  );
}
