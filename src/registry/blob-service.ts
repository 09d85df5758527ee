import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { RepositoryName } from '../oci/names.js';
import type { BlobSender, BlobStore, ByteRange } from '../storage/blob-store.js';
import { BufferSender } from '../storage/buffer-sender.js';
import { BlobNotFoundError } from '../storage/errors.js';
import { readAtMost } from '../streams/read-at-most.js';
import { BlobCollectedError, type RegistryMetadata } from './metadata.js';
import { type StorageGuard, admit, unlimitedStorage } from './storage-guard.js';

/** A blob a repository may see. */
export interface RepositoryBlob {
  size: number;
  /** Opens the blob, or a range of it, for sending. */
  open(range?: ByteRange): Promise<BlobSender>;
  /** Where the client may fetch the bytes itself, when the store offers that. */
  redirectUrl(): Promise<string | undefined>;
}

/**
 * Reading, deleting and mounting blobs. One copy of a blob is stored for the whole registry, but a
 * repository sees only the blobs pushed or mounted into it.
 */
export class BlobService {
  constructor(
    private readonly store: BlobStore,
    private readonly metadata: RegistryMetadata,
    private readonly guard: StorageGuard = unlimitedStorage,
  ) {}

  /** A blob of the repository, with one metadata read for a HEAD or a GET; BLOB_UNKNOWN if it has none. */
  async find(name: RepositoryName, digest: Digest): Promise<RepositoryBlob> {
    const found = await this.metadata.blob(name, digest);
    if (!found) throw blobUnknown(digest);
    const { size, content } = found;
    return {
      size,
      open: async (range) => {
        if (content) return new BufferSender(range ? content.subarray(range.start, range.end + 1) : content);
        // The metadata is written after the bytes, so a missing file means it was removed by hand.
        const blob = await this.store.open(digest, range);
        if (!blob) throw blobUnknown(digest);
        return blob;
      },
      // Bytes kept in the metadata are sent from it.
      redirectUrl: async () => (content ? undefined : this.store.redirectUrl?.(digest)),
    };
  }

  /**
   * The whole content of a stored blob of at most `maxBytes` (an image configuration), whichever
   * repository holds it; undefined when it is not stored, an empty buffer when it is larger.
   */
  async content(digest: Digest, maxBytes: number): Promise<Buffer | undefined> {
    const inline = await this.metadata.inlineContent(digest);
    if (inline) return inline.length <= maxBytes ? inline : Buffer.alloc(0);
    try {
      return (await readAtMost(await this.store.read(digest), maxBytes)) ?? Buffer.alloc(0);
    } catch (error) {
      if (error instanceof BlobNotFoundError) return undefined;
      throw error;
    }
  }

  /** Removes the blob from the repository; the bytes go when no repository needs them (GC). */
  async delete(name: RepositoryName, digest: Digest): Promise<void> {
    if (!(await this.metadata.unlinkBlob(name, digest))) throw blobUnknown(digest);
  }

  /** Makes a blob of `from` visible in `name`; false when `from` does not have it. */
  async mount(name: RepositoryName, digest: Digest, from: RepositoryName): Promise<boolean> {
    const found = await this.metadata.blob(from, digest);
    if (!found) return false;
    // A mount into another namespace adds the blob to what that namespace holds.
    await admit(this.guard, name, [{ digest, size: found.size }]);
    try {
      await this.metadata.linkBlob(name, digest, found.size);
    } catch (error) {
      // Collected since it was found: the client uploads it instead.
      if (error instanceof BlobCollectedError) return false;
      throw error;
    }
    return true;
  }
}

function blobUnknown(digest: Digest): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest } });
}
