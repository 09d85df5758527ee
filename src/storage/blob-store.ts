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

/**
 * Where blob bytes live: committed blobs, addressed by digest and immutable, and upload areas,
 * addressed by upload id, that grow by appending until committed under a digest. Knows nothing of
 * repositories or HTTP; callers validate digests and ids before they get here.
 */
export interface BlobStore {
  /** Size of a committed blob, or undefined when it is not stored. */
  stat(digest: Digest): Promise<number | undefined>;
  read(digest: Digest, range?: ByteRange): Readable;
  /** Opens a committed blob, or a range of it, for sending; undefined when it is not stored. */
  open(digest: Digest, range?: ByteRange): Promise<BlobSender | undefined>;
  delete(digest: Digest): Promise<void>;

  createUpload(id: string): Promise<void>;
  /** Bytes received so far, or undefined when the upload area does not exist. */
  uploadSize(id: string): Promise<number | undefined>;
  /**
   * Appends a stream to the upload, respecting backpressure. Resolves with the new size; on
   * failure the upload keeps every byte that reached the disk, so the client can resume.
   */
  appendUpload(id: string, source: Readable): Promise<number>;
  readUpload(id: string): Readable;
  /**
   * Makes the upload durable and visible as `digest`; the caller has verified the content. Fails
   * with WriteBackError (as `appendUpload` may) when the disk lost bytes: the upload is then spoilt.
   */
  commitUpload(id: string, digest: Digest): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  /** Upload areas with their last modification time, for expiry of abandoned uploads. */
  listUploads(): Promise<Array<{ id: string; modifiedAt: Date }>>;
}
