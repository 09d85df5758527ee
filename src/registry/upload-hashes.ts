import type { Hash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createDigester } from '../oci/digest.js';
import type { BlobStore } from '../storage/blob-store.js';

/**
 * Running sha256 states of uploads in progress, kept in memory because Node cannot serialise a
 * Hash. When a chunk arrives and the state is missing or behind the bytes on disk (after a restart,
 * or a chunk that failed midway), the state is rebuilt by re-reading the upload.
 */
export class UploadHashes {
  private readonly states = new Map<string, { hash: Hash; offset: number }>();

  constructor(private readonly store: BlobStore) {}

  /** A hash that has consumed exactly the first `size` bytes of the upload. */
  async at(id: string, size: number): Promise<Hash> {
    const state = this.states.get(id);
    if (state && state.offset === size) return state.hash;
    const hash = size === 0 ? createDigester('sha256') : await this.rebuild(id, 'sha256');
    this.states.set(id, { hash, offset: size });
    return hash;
  }

  /** Records that `bytes` more have been hashed into the state returned by `at`. */
  advance(id: string, hash: Hash, offset: number): void {
    this.states.set(id, { hash, offset });
  }

  forget(id: string): void {
    this.states.delete(id);
  }

  /** Hashes the whole upload again, for a state lost or an algorithm other than sha256. */
  async rebuild(id: string, algorithm: 'sha256' | 'sha512'): Promise<Hash> {
    const hash = createDigester(algorithm);
    await pipeline(
      await this.store.readUpload(id),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          callback();
        },
      }),
    );
    return hash;
  }
}
