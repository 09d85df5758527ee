import { Readable, Transform, pipeline } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type Digest, digestAlgorithm, digestHex, isDigest } from '../../oci/digest.js';
import type { BlobSender, BlobStore, ByteRange, StoredBlob } from '../blob-store.js';
import { BlobNotFoundError, UploadNotFoundError, UploadOffsetError } from '../errors.js';
import { StreamSender } from './stream-sender.js';

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  /** Prepended to every key: empty, or ending with `/`. */
  prefix: string;
  /** Whether pulls are sent to a presigned URL of the object instead of through Berth. */
  redirect: boolean;
  /** How long a presigned URL is valid. */
  redirectSeconds?: number;
  /** The largest object S3 copies in one request; larger uploads are joined by streaming. */
  maxCopyBytes?: number;
  /** The part size of the multipart uploads that large appends become. */
  partBytes?: number;
}

/** S3's limit on a single `CopyObject`. */
const defaultMaxCopyBytes = 5 * 1024 ** 3;
/** S3's smallest part; larger parts would only hold more of each append in memory. */
const defaultPartBytes = 5 * 1024 ** 2;
/** Distribution's default lifetime for its redirect URLs. */
const defaultRedirectSeconds = 20 * 60;

/**
 * Blobs in an S3 bucket: `blobs/<algorithm>/<first two hex>/<hex>`, and each upload as the objects
 * under `uploads/<id>/`: an empty `created` marker and one object per append, named by the offset
 * it starts at (`parts/<offset, 16 digits>`), so the objects listed in key order are the upload's
 * bytes in order and the upload's size is the sum of theirs. An append of any size streams into
 * one object (a multipart upload of `partBytes` parts when it is large), so memory stays bounded
 * by the part size whatever the blob's size, and nothing of an upload lives in a node's memory.
 *
 * A commit copies the upload's object to its digest's key inside S3 when the upload is one object
 * within S3's copy limit (the case of every client that sends a layer in one request), and
 * otherwise streams the parts into one new object. The blob appears at its key only when the
 * copy or the multipart upload completes, which S3 makes atomic.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly maxCopyBytes: number;
  private readonly partBytes: number;

  constructor(private readonly options: S3BlobStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.maxCopyBytes = options.maxCopyBytes ?? defaultMaxCopyBytes;
    this.partBytes = options.partBytes ?? defaultPartBytes;
  }

  async stat(digest: Digest): Promise<number | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async read(digest: Digest, range?: ByteRange): Promise<Readable> {
    const body = await this.getObject(this.blobKey(digest), range);
    if (!body) throw new BlobNotFoundError(digest);
    return body;
  }

  async open(digest: Digest, range?: ByteRange): Promise<BlobSender | undefined> {
    const body = await this.getObject(this.blobKey(digest), range);
    return body && new StreamSender(body);
  }

  async delete(digest: Digest): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }));
  }

  async *listBlobs(): AsyncIterable<StoredBlob> {
    const blobsPrefix = `${this.prefix}blobs/`;
    for await (const object of this.list(blobsPrefix)) {
      const [algorithm, fanOut, hex, ...rest] = object.key.slice(blobsPrefix.length).split('/');
      const digest = `${algorithm}:${hex}`;
      // Anything else under the prefix (an object someone put there) is not a blob this store committed.
      if (rest.length > 0 || !isDigest(digest) || !hex?.startsWith(fanOut ?? '-')) continue;
      yield { digest: digest as Digest, size: object.size, modifiedAt: object.modifiedAt };
    }
  }

  redirectUrl(digest: Digest): Promise<string | undefined> {
    if (!this.options.redirect) return Promise.resolve(undefined);
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) });
    return getSignedUrl(this.client, command, { expiresIn: this.options.redirectSeconds ?? defaultRedirectSeconds });
  }

  async createUpload(id: string): Promise<void> {
    // A store that ignores `If-None-Match` (see `putMarker`) is caught by the listing.
    if ((await this.parts(id)) !== undefined) throw new Error(`upload ${id} exists`);
    await this.putMarker(id);
  }

  async restartUpload(id: string): Promise<void> {
    await this.deleteUpload(id);
    await this.putMarker(id);
  }

  async uploadSize(id: string): Promise<number | undefined> {
    const parts = await this.parts(id);
    return parts && sizeOf(parts);
  }

  /**
   * The offset is checked before the append starts; one writer appends to an upload at a time
   * (the upload service makes sure), so nothing can append in between. An append that fails
   * leaves no object (S3 shows an object only once it is complete), so the upload keeps the size
   * it had.
   */
  async appendUpload(id: string, offset: number, source: Readable): Promise<number> {
    const parts = await this.parts(id);
    if (parts === undefined) throw new UploadNotFoundError(id);
    const size = sizeOf(parts);
    if (size !== offset) throw new UploadOffsetError(id, offset, size);
    // pipeline, not pipe: a source that fails must fail the object's upload, not leave it waiting.
    const counted = new ByteCounter();
    pipeline(source, counted, () => undefined);
    await this.writeObject(this.partKey(id, offset), counted, (error) => source.destroy(error));
    if (counted.bytes === 0) {
      // An empty append adds nothing; its object would only be replaced by the next one.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.partKey(id, offset) }));
    }
    return offset + counted.bytes;
  }

  async readUpload(id: string): Promise<Readable> {
    const parts = await this.parts(id);
    if (parts === undefined) throw new UploadNotFoundError(id);
    return Readable.from(this.concatenated(parts));
  }

  async commitUpload(id: string, digest: Digest): Promise<void> {
    const parts = await this.parts(id);
    if (parts === undefined) throw new UploadNotFoundError(id);
    const key = this.blobKey(digest);
    // Same digest, same bytes: a blob already stored need not be written again.
    if ((await this.stat(digest)) === undefined) {
      const [only] = parts;
      if (parts.length === 1 && only && only.size <= this.maxCopyBytes) {
        await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: key, CopySource: `${this.bucket}/${encodeKey(only.key)}` }));
      } else {
        const joined = Readable.from(this.concatenated(parts));
        await this.writeObject(key, joined, (error) => joined.destroy(error));
      }
    }
    await this.deleteUpload(id);
  }

  async deleteUpload(id: string): Promise<void> {
    const keys: string[] = [];
    for await (const object of this.list(this.uploadPrefix(id))) keys.push(object.key);
    // The marker goes last: until it is gone the upload still exists, so a failure midway leaves
    // an upload that expiry will find, not parts that no listing names.
    const marker = this.markerKey(id);
    for (const key of [...keys.filter((each) => each !== marker), marker]) {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    }
  }

  async listUploads(): Promise<Array<{ id: string; modifiedAt: Date }>> {
    const uploadsPrefix = `${this.prefix}uploads/`;
    const latest = new Map<string, Date>();
    for await (const object of this.list(uploadsPrefix)) {
      const id = object.key.slice(uploadsPrefix.length).split('/')[0];
      if (!id) continue;
      const known = latest.get(id);
      if (!known || known < object.modifiedAt) latest.set(id, object.modifiedAt);
    }
    return [...latest].map(([id, modifiedAt]) => ({ id, modifiedAt }));
  }

  /** The upload's parts in order, or undefined when it has no marker (never created, or ended). */
  private async parts(id: string): Promise<ListedObject[] | undefined> {
    const partsPrefix = `${this.uploadPrefix(id)}parts/`;
    let created = false;
    const parts: ListedObject[] = [];
    for await (const object of this.list(this.uploadPrefix(id))) {
      if (object.key === this.markerKey(id)) created = true;
      else if (object.key.startsWith(partsPrefix)) parts.push(object);
    }
    return created ? parts : undefined;
  }

  private async *concatenated(parts: readonly ListedObject[]): AsyncGenerator<Buffer> {
    for (const part of parts) {
      const body = await this.getObject(part.key);
      // A part deleted meanwhile (the upload was committed or abandoned) ends the read with an error.
      if (!body) throw new Error(`part ${part.key} of the upload is gone`);
      for await (const chunk of body) yield chunk as Buffer;
    }
  }

  private async getObject(key: string, range?: ByteRange): Promise<Readable | undefined> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
      const body = object.Body as Readable;
      return range ? exactRange(body, range, object.ContentRange) : body;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Streams into one object: a plain PUT when the stream is small, a multipart upload when not. */
  private async writeObject(key: string, body: Readable, abort: (error: Error) => void): Promise<void> {
    const upload = new Upload({ client: this.client, params: { Bucket: this.bucket, Key: key, Body: body }, partSize: this.partBytes, queueSize: 1 });
    try {
      await upload.done();
    } catch (error) {
      abort(error as Error);
      throw error;
    }
  }

  private async *list(prefix: string): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const object of page.Contents ?? []) {
        // Without a time, an object counts as new: what is judged by age (expiry, collection) waits.
        if (object.Key) yield { key: object.Key, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date() };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private blobKey(digest: Digest): string {
    const hex = digestHex(digest);
    return `${this.prefix}blobs/${digestAlgorithm(digest)}/${hex.slice(0, 2)}/${hex}`;
  }

  private uploadPrefix(id: string): string {
    return `${this.prefix}uploads/${id}/`;
  }

  /** The upload's empty `created` marker; `If-None-Match: *` makes S3 refuse one that exists. */
  private async putMarker(id: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.markerKey(id), Body: '', ContentLength: 0, IfNoneMatch: '*' }));
  }

  private markerKey(id: string): string {
    return `${this.uploadPrefix(id)}created`;
  }

  private partKey(id: string, offset: number): string {
    return `${this.uploadPrefix(id)}parts/${String(offset).padStart(16, '0')}`;
  }
}

interface ListedObject {
  key: string;
  size: number;
  modifiedAt: Date;
}

function sizeOf(parts: readonly ListedObject[]): number {
  return parts.reduce((sum, part) => sum + part.size, 0);
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'NotFound' || name === 'NoSuchKey' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;
}

/** A key in `x-amz-copy-source`, which is URL-encoded except for its slashes. */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/**
 * The bytes of `range` from a ranged GET's body. A server may answer a range with more than was
 * asked (the whole object, or a wider range, as its `Content-Range` says), which HTTP allows; the
 * surplus is dropped here, so a caller always gets exactly the range.
 */
function exactRange(body: Readable, range: ByteRange, contentRange: string | undefined): Readable {
  const served = /^bytes (\d+)-(\d+)\//.exec(contentRange ?? '');
  const servedStart = served ? Number(served[1]) : 0;
  const servedEnd = served ? Number(served[2]) : Number.POSITIVE_INFINITY;
  if (servedStart === range.start && servedEnd === range.end) return body;
  let skip = range.start - servedStart;
  let take = range.end - range.start + 1;
  const slicer = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const from = Math.min(skip, chunk.length);
      skip -= from;
      const piece = chunk.subarray(from, from + take);
      take -= piece.length;
      callback(null, piece.length > 0 ? piece : undefined);
    },
  });
  return pipeline(body, slicer, () => undefined);
}

/** Passes bytes through and counts them. */
class ByteCounter extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}
