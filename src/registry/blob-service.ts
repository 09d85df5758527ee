import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { RepositoryName } from '../oci/names.js';
import type { BlobSender, BlobStore, ByteRange } from '../storage/blob-store.js';
import { BufferSender } from '../storage/buffer-sender.js';
import { readAtMost } from '../streams/read-at-most.js';
import type { RegistryMetadata } from './metadata.js';

/**
 * Reading, deleting and mounting blobs. One copy of a blob is stored for the whole registry, but a
 * repository sees only the blobs pushed or mounted into it.
 */
export class BlobService {
  constructor(
    private readonly store: BlobStore,
    private readonly metadata: RegistryMetadata,
  ) {}

  /** The blob's size in the repository, or BLOB_UNKNOWN. */
  async size(name: RepositoryName, digest: Digest): Promise<number> {
    const size = await this.metadata.blobSize(name, digest);
    if (size === undefined) throw blobUnknown(digest);
    return size;
  }

  async open(name: RepositoryName, digest: Digest, range?: ByteRange): Promise<BlobSender> {
    await this.size(name, digest);
    const inline = await this.metadata.inlineContent(digest);
    if (inline) return new BufferSender(range ? inline.subarray(range.start, range.end + 1) : inline);
    // The metadata is written after the bytes, so a missing file means it was removed by hand.
    const blob = await this.store.open(digest, range);
    if (!blob) throw blobUnknown(digest);
    return blob;
  }

  /**
   * The whole content of a stored blob of at most `maxBytes` (an image configuration), whichever
   * repository holds it; undefined when it is not stored, an empty buffer when it is larger.
   */
  async content(digest: Digest, maxBytes: number): Promise<Buffer | undefined> {
    const inline = await this.metadata.inlineContent(digest);
    if (inline) return inline.length <= maxBytes ? inline : Buffer.alloc(0);
    try {
      return (await readAtMost(this.store.read(digest), maxBytes)) ?? Buffer.alloc(0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Removes the blob from the repository; the bytes go when no repository needs them (GC). */
  async delete(name: RepositoryName, digest: Digest): Promise<void> {
    if (!(await this.metadata.unlinkBlob(name, digest))) throw blobUnknown(digest);
  }

  /** Makes a blob of `from` visible in `name`; false when `from` does not have it. */
  async mount(name: RepositoryName, digest: Digest, from: RepositoryName): Promise<boolean> {
    const size = await this.metadata.blobSize(from, digest);
    if (size === undefined) return false;
    await this.metadata.linkBlob(name, digest, size);
    return true;
  }
}

function blobUnknown(digest: Digest): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest } });
}
