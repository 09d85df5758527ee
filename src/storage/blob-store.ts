import type { Readable, Writable } from 'node:stream';
import type { Digest } from '../oci/digest.js';

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A committed blob opened for sending (see `BlobStore.open`). */
export interface BlobSender {
  /**
   * Writes the blob's bytes into `destination`, respecting its backpressure, then closes the blob.
   * The store may reuse a chunk's memory once the chunk's write callback has run, so the
   * destination must be done with a chunk by then: sockets and HTTP responses are.
   */
  sendTo(destination: Writable): Promise<void>;
  /** Closes the blob without sending it. */
  close(): Promise<void>;
}

/** A committed blob as a listing finds it. */
export interface StoredBlob {
  digest: Digest;
  size: number;
  /** When it was committed (or last written), for garbage collection to leave young blobs alone. */
  modifiedAt: Date;
}

/**
 * Where blob bytes live: committed blobs, addressed by digest and immutable, and uploads, addressed
 * by id, that grow by appends until committed under a digest. Knows nothing of repositories or
 * HTTP; callers validate digests and ids before they get here.
 *
 * Shaped by what both a filesystem and an object store can do. An upload's whole state is in the
 * store (its size, and its bytes to read back), so any process can continue an upload another
 * began: the running hash is rebuilt by reading the upload (`UploadHashes`), and `appendUpload`
 * takes the offset the caller believes the upload ends at, so two writers cannot both append.
 * An object store keeps each append as an object of its own and joins them at commit, so an
 * append may be of any size. Failures are the typed errors of `./errors.ts`.
 */
export interface BlobStore {
  /** Size of a committed blob, or undefined when it is not stored. */
  stat(digest: Digest): Promise<number | undefined>;
  /** The bytes of a committed blob, or a range of them. Rejects with BlobNotFoundError. */
  read(digest: Digest, range?: ByteRange): Promise<Readable>;
  /** Opens a committed blob, or a range of it, for sending; undefined when it is not stored. */
  open(digest: Digest, range?: ByteRange): Promise<BlobSender | undefined>;
  /** Removes a committed blob; removing one that is not stored is not an error. */
  delete(digest: Digest): Promise<void>;
  /** Every committed blob, for garbage collection; blobs committed meanwhile may be missed. */
  listBlobs(): AsyncIterable<StoredBlob>;
  /**
   * Where a client can fetch the blob itself (a presigned object-store URL), for a redirect
   * instead of sending the bytes; a store that serves its bytes only through Berth has none.
   */
  redirectUrl?(digest: Digest): Promise<string | undefined>;

  /** Starts an empty upload; rejects when the id exists. */
  createUpload(id: string): Promise<void>;
  /** Starts an empty upload in place of whatever an upload of the same id holds, if anything. */
  restartUpload(id: string): Promise<void>;
  /** Bytes received so far, or undefined when the upload does not exist. */
  uploadSize(id: string): Promise<number | undefined>;
  /**
   * Appends a stream at `offset`, which must be the upload's size (UploadOffsetError otherwise,
   * with nothing written), respecting backpressure. Resolves with the new size. On failure the
   * upload keeps every byte that was stored, so the client can resume; UploadSpoiltError means it
   * cannot, and UploadNotFoundError that there is no such upload.
   */
  appendUpload(id: string, offset: number, source: Readable): Promise<number>;
  /** The bytes received so far. Rejects with UploadNotFoundError. */
  readUpload(id: string): Promise<Readable>;
  /**
   * Makes the upload durable and visible as `digest`, and ends it; the caller has verified the
   * content. Rejects with UploadNotFoundError, or UploadSpoiltError when the bytes were lost.
   */
  commitUpload(id: string, digest: Digest): Promise<void>;
  /** Removes an upload; removing one that does not exist is not an error. */
  deleteUpload(id: string): Promise<void>;
  /** Uploads with their last modification time, for expiry of abandoned uploads. */
  listUploads(): Promise<Array<{ id: string; modifiedAt: Date }>>;
}
