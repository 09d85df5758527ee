import type { Digest } from '../oci/digest.js';

/**
 * What a `BlobStore` reports, whatever holds the bytes. Each store translates its own failures
 * (a filesystem's errno, an object store's status) into these, so the services never see them.
 */
export class BlobStoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The store holds no committed blob of this digest. */
export class BlobNotFoundError extends BlobStoreError {
  constructor(readonly digest: Digest) {
    super(`blob ${digest} is not stored`);
  }
}

/** The store holds no upload of this id: never created, committed, deleted or expired. */
export class UploadNotFoundError extends BlobStoreError {
  constructor(readonly id: string) {
    super(`upload ${id} is not stored`);
  }
}

/**
 * An append that does not start where the upload ends: another writer appended or the caller's
 * view of the upload is stale. Nothing was written.
 */
export class UploadOffsetError extends BlobStoreError {
  constructor(
    readonly id: string,
    readonly offset: number,
    readonly size: number,
  ) {
    super(`upload ${id} has ${size} bytes, not ${offset}`);
  }
}

/**
 * The store can no longer vouch for the upload's bytes (a disk reported a lost write-back): the
 * upload must be started again, and a retried commit must not be told it succeeded.
 */
export class UploadSpoiltError extends BlobStoreError {
  constructor(
    readonly id: string,
    cause: unknown,
  ) {
    super(`upload ${id} lost bytes in storage`, { cause });
  }
}
