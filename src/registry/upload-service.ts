import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DatabaseEngine } from '../db/engine.js';
import { type Digest, createDigester, digestAlgorithm, digestOf, parseDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { RepositoryName } from '../oci/names.js';
import type { BlobStore } from '../storage/blob-store.js';
import { UploadNotFoundError, UploadOffsetError, UploadSpoiltError } from '../storage/errors.js';
import { readAtMost, readOrContinue } from '../streams/read-at-most.js';
import { DigestingStream, digestBody } from './digesting-stream.js';
import { BlobCollectedError, type RegistryMetadata } from './metadata.js';
import { type StorageAddition, type StorageGuard, admit, unlimitedStorage } from './storage-guard.js';
import { UploadHashes } from './upload-hashes.js';

/** A chunk's position from `Content-Range: <start>-<end>` (inclusive). */
export interface ChunkRange {
  start: number;
  end: number;
}

export interface UploadStatus {
  id: string;
  /** Bytes received so far. */
  size: number;
}

/** Where an upload's bytes are: held in the metadata while few, then in the blob store. */
interface UploadBytes {
  size: number;
  /** The bytes, while the metadata holds them. */
  held: Buffer | undefined;
}

export interface UploadLimits {
  maxBlobBytes: number;
  /** Abandoned uploads older than this are removed with their bytes. */
  expiryMs: number;
}

const uploadIdGrammar = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Blobs of at most this size are kept in the metadata database, like manifests, rather than as
 * files: their bytes commit with the row that makes them visible, in the group commit shared with
 * other writes, instead of costing a file write, its fsync, a rename and a directory fsync each.
 * Image configurations and small layers are this size; they are buffered whole, as manifests are.
 */
export const inlineBlobBytes = 64 * 1024;

/**
 * Blob upload sessions (OCI Distribution "Pushing blobs"): monolithic, streamed and chunked. The
 * bytes are hashed as they stream to the store; the digest is checked before a blob is committed,
 * and the metadata is written only once the blob is durable.
 *
 * An upload's bytes are held in its metadata row while they would make a blob kept there (at most
 * `inlineBlobBytes`), and moved to the store once they grow past that. The clients' flow for a
 * small blob (`POST`, `PATCH`, `PUT ?digest=`) then costs three metadata writes, shared with
 * concurrent ones in group commits, and never a file or an object of its own.
 */
export class UploadService {
  private readonly hashes: UploadHashes;
  /** Uploads with a request writing to them; a second concurrent writer is refused. */
  private readonly busy = new Set<string>();
  /** Uploads this process's expiry is removing: a request for one finds it gone, not busy. */
  private readonly expiring = new Set<string>();
  /** When this process last recorded each upload's activity in the metadata (ms since the epoch). */
  private readonly touchedAt = new Map<string, number>();
  private readonly touchIntervalMs: number;

  /**
   * @param acrossNodes keeps two nodes from writing to one upload at once (the database engine's
   * `exclusively`); this process keeps its own requests apart itself.
   * @param guard refuses bytes that would take a namespace past its storage quota, as early as
   * their size is known: at a monolithic push's start, at each chunk, and at the latest at commit.
   */
  constructor(
    private readonly store: BlobStore,
    private readonly metadata: RegistryMetadata,
    private readonly limits: UploadLimits,
    private readonly acrossNodes: DatabaseEngine['exclusively'],
    private readonly guard: StorageGuard = unlimitedStorage,
  ) {
    this.hashes = new UploadHashes(store);
    // Expiry needs only a coarse time of last activity; recording it at every chunk cost a commit each.
    this.touchIntervalMs = Math.min(60_000, limits.expiryMs / 10);
  }

  get inProgress(): number {
    return this.busy.size;
  }

  async start(name: RepositoryName): Promise<UploadStatus> {
    const id = randomUUID();
    // The store sees the upload only if its bytes outgrow what the metadata holds.
    await this.metadata.createUpload(id, name);
    this.touchedAt.set(id, Date.now());
    return { id, size: 0 };
  }

  /** Pushes a whole blob in one request (`POST ?digest=`), without an upload session in the database. */
  async pushMonolithic(name: RepositoryName, digest: Digest, body: Readable, declaredLength: number | undefined): Promise<void> {
    this.checkLength(declaredLength, 0);
    if (declaredLength !== undefined) await admit(this.guard, name, [{ digest, size: declaredLength }]);
    if (declaredLength !== undefined && declaredLength <= inlineBlobBytes) return this.pushInline(name, digest, body, declaredLength);
    const id = randomUUID();
    // No session names this upload in the metadata: busy, so that expiry does not take its bytes
    // in the store for an orphan's while the body is still arriving.
    this.busy.add(id);
    try {
      await this.store.createUpload(id);
      await this.receiveWhole(name, id, digest, body, declaredLength);
    } finally {
      this.busy.delete(id);
    }
  }

  /** The body of a monolithic push, into the store upload `id`, verified and committed; the upload is removed if it fails. */
  private async receiveWhole(name: RepositoryName, id: string, digest: Digest, body: Readable, declaredLength: number | undefined): Promise<void> {
    const hash = createDigester(digestAlgorithm(digest));
    const digesting = new DigestingStream(hash, this.limits.maxBlobBytes);
    try {
      await this.store.appendUpload(id, 0, digestBody(body, digesting));
      if (declaredLength !== undefined && digesting.bytes !== declaredLength) {
        throw new RegistryError('SIZE_INVALID', `received ${digesting.bytes} bytes, Content-Length said ${declaredLength}`);
      }
      verifyDigest(digest, `${digestAlgorithm(digest)}:${hash.digest('hex')}`);
      if (declaredLength === undefined) await admit(this.guard, name, [{ digest, size: digesting.bytes }]);
      // A body without Content-Length can turn out small too.
      await this.commit(name, id, digest, digesting.bytes, undefined);
    } catch (error) {
      await this.store.deleteUpload(id);
      throw error;
    }
  }

  /** A monolithic push small enough to keep in the metadata: nothing touches the disk before the digest matches. */
  private async pushInline(name: RepositoryName, digest: Digest, body: Readable, declaredLength: number): Promise<void> {
    const content = await readAtMost(body, declaredLength);
    if (!content || content.length !== declaredLength) {
      throw new RegistryError('SIZE_INVALID', `received ${content ? content.length : 'more'} bytes, Content-Length said ${declaredLength}`);
    }
    verifyDigest(digest, digestOf(content, digestAlgorithm(digest)));
    await this.metadata.linkBlob(name, digest, content.length, { content });
  }

  async status(name: RepositoryName, id: string): Promise<UploadStatus> {
    return { id, size: (await this.existing(name, id)).size };
  }

  /** Appends a chunk (`PATCH`); with a range, the chunk must start where the upload ends. */
  async append(
    name: RepositoryName,
    id: string,
    body: Readable,
    range: ChunkRange | undefined,
    declaredLength: number | undefined,
  ): Promise<UploadStatus> {
    return this.exclusively(id, async () => {
      const before = await this.existing(name, id);
      await this.admitChunk(name, id, before.size, range, declaredLength);
      const after = await this.receive(id, before, body, range, declaredLength);
      if (after.held) await this.metadata.holdUploadBytes(id, after.held);
      return { id, size: after.size };
    });
  }

  /** Finishes an upload (`PUT ?digest=`), with an optional last chunk in the body. */
  async complete(
    name: RepositoryName,
    id: string,
    digest: Digest,
    body: Readable | undefined,
    range: ChunkRange | undefined,
    declaredLength: number | undefined,
  ): Promise<void> {
    await this.exclusively(id, async () => {
      let upload = await this.existing(name, id);
      if (body) {
        await this.admitChunk(name, id, upload.size, range, declaredLength);
        upload = await this.receive(id, upload, body, range, declaredLength);
      }
      if (upload.held) return this.completeHeld(name, id, digest, upload.held);
      const { size } = upload;
      const algorithm = digestAlgorithm(digest);
      const hash = algorithm === 'sha256' ? await this.hashes.at(id, size) : await this.hashes.rebuild(id, algorithm);
      verifyDigest(digest, `${algorithm}:${hash.copy().digest('hex')}`);
      // The latest point to refuse; a blob the namespace holds already adds nothing.
      await this.admitOrEnd(name, id, [{ digest, size }]);
      try {
        await this.commit(name, id, digest, size, id);
      } catch (error) {
        // A retried PUT would sync again and could be told it succeeded: the session ends here.
        if (error instanceof UploadSpoiltError) await this.remove(id);
        throw error;
      }
      this.forget(id);
    });
  }

  /** Ends an upload whose bytes the metadata holds: they become a blob kept there, in one write. */
  private async completeHeld(name: RepositoryName, id: string, digest: Digest, held: Buffer): Promise<void> {
    verifyDigest(digest, digestOf(held, digestAlgorithm(digest)));
    await this.admitOrEnd(name, id, [{ digest, size: held.length }]);
    await this.link(name, digest, held.length, id, held);
    this.forget(id);
  }

  /**
   * Makes a verified upload in the store a blob of the repository: a small one is kept in the
   * metadata and its upload file removed, a larger one committed to the store. `session` is the
   * upload session that ends with it, if any.
   */
  private async commit(name: RepositoryName, id: string, digest: Digest, size: number, session: string | undefined): Promise<void> {
    const content = size <= inlineBlobBytes ? await readAtMost(await this.store.readUpload(id), inlineBlobBytes) : undefined;
    if (!content) await this.store.commitUpload(id, digest);
    await this.link(name, digest, size, session, content);
    // Its bytes are in the metadata now; were this lost, expiry would remove the orphan file.
    if (content) await this.store.deleteUpload(id);
  }

  private async link(name: RepositoryName, digest: Digest, size: number, session: string | undefined, content: Buffer | undefined): Promise<void> {
    try {
      await this.metadata.linkBlob(name, digest, size, { completedUpload: session, content });
    } catch (error) {
      if (!(error instanceof BlobCollectedError)) throw error;
      // The bytes just committed under the digest may be gone with the collected ones: the session
      // ends, and the client pushes the blob again.
      if (session !== undefined) await this.remove(session);
      throw new RegistryError('BLOB_UPLOAD_INVALID', `${digest} was being removed by garbage collection as the upload ended; push it again`);
    }
  }

  async cancel(name: RepositoryName, id: string): Promise<void> {
    await this.exclusively(id, async () => {
      await this.existing(name, id);
      await this.remove(id);
    });
  }

  /** Removes uploads untouched for longer than the expiry, and upload files no session owns. */
  async expire(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.limits.expiryMs);
    const expired = await this.metadata.uploadIdsUpdatedBefore(cutoff);
    for (const id of expired) {
      if (this.busy.has(id)) continue;
      this.expiring.add(id);
      try {
        await this.acrossNodes(uploadLock(id), () => this.remove(id));
      } finally {
        this.expiring.delete(id);
      }
    }
    const known = await this.metadata.uploadIds();
    const files = await this.store.listUploads();
    const orphans = files.filter((file) => !known.has(file.id) && !this.busy.has(file.id) && file.modifiedAt < cutoff);
    for (const orphan of orphans) await this.store.deleteUpload(orphan.id);
    return expired.length + orphans.length;
  }

  /**
   * Takes a chunk: added to the bytes the metadata holds while they stay few (the caller keeps
   * them), or else appended in the store, where held bytes move first.
   */
  private async receive(
    id: string,
    upload: UploadBytes,
    body: Readable,
    range: ChunkRange | undefined,
    declaredLength: number | undefined,
  ): Promise<UploadBytes> {
    const { size, held } = upload;
    if (range) {
      if (range.start !== size) throw chunkOutOfPlace(range.start, size);
      const chunkLength = range.end - range.start + 1;
      if (declaredLength !== undefined && declaredLength !== chunkLength) {
        throw new RegistryError('SIZE_INVALID', `Content-Range covers ${chunkLength} bytes, Content-Length says ${declaredLength}`);
      }
    }
    this.checkLength(declaredLength, size);
    if (!held) return { size: await this.write(id, size, body), held: undefined };
    // A chunk that would take the upload past the size limit goes the store's way, which refuses it.
    const room = Math.min(inlineBlobBytes, this.limits.maxBlobBytes) - size;
    const chunk = declaredLength !== undefined && declaredLength > room ? { whole: body } : await readOrContinue(body, room);
    if ('content' in chunk) {
      const bytes = Buffer.concat([held, chunk.content]);
      if (chunk.failure !== undefined) {
        // A chunk cut short: like the store, the upload keeps what arrived, for the client to resume.
        if (chunk.content.length > 0) await this.metadata.holdUploadBytes(id, bytes);
        throw chunk.failure;
      }
      if (declaredLength !== undefined && chunk.content.length !== declaredLength) {
        throw new RegistryError('SIZE_INVALID', `received ${chunk.content.length} bytes, Content-Length said ${declaredLength}`);
      }
      return { size: bytes.length, held: bytes };
    }
    const { released } = await this.moveToStore(id, held);
    try {
      return { size: await this.write(id, size, chunk.whole), held: undefined };
    } finally {
      await released;
    }
  }

  /**
   * Moves the bytes the metadata holds into a new upload in the store, where the upload goes on.
   * One left by a move that was cut short is replaced: the metadata still holds all its bytes.
   * Resolves once the store has them; `released`, once the metadata no longer holds them, which
   * the caller awaits after its append, so that the two writes overlap.
   */
  private async moveToStore(id: string, held: Buffer): Promise<{ released: Promise<void> }> {
    await this.store.restartUpload(id);
    if (held.length > 0) await this.store.appendUpload(id, 0, Readable.from([held]));
    const released = this.metadata.releaseUploadBytes(id);
    // Awaited by the caller; a failure meanwhile must not count as unhandled.
    released.catch(() => undefined);
    // The release writes the session's time of last use: the append that follows need not.
    this.touchedAt.set(id, Date.now());
    this.hashes.advance(id, createDigester('sha256').update(held), held.length);
    return { released };
  }

  /** Appends a chunk to the upload in the store, hashing it as it streams; answers the new size. */
  private async write(id: string, size: number, body: Readable): Promise<number> {
    const hash = await this.hashes.at(id, size);
    const digesting = new DigestingStream(hash, this.limits.maxBlobBytes - size);
    try {
      const newSize = await this.store.appendUpload(id, size, digestBody(body, digesting));
      this.hashes.advance(id, hash, size + digesting.bytes);
      await this.touch(id);
      return newSize;
    } catch (error) {
      // The store lost bytes: the upload ends (a sync would not tell again). Otherwise the bytes
      // that were stored stay for a resume; a hash that saw more than the store is dropped.
      if (error instanceof UploadSpoiltError) await this.remove(id);
      else if ((await this.store.uploadSize(id)) !== size + digesting.bytes) this.hashes.forget(id);
      else this.hashes.advance(id, hash, size + digesting.bytes);
      throw storeAnswer(error, id);
    }
  }

  /** Refuses a chunk of known length that would take the namespace past its quota. */
  private async admitChunk(name: RepositoryName, id: string, size: number, range: ChunkRange | undefined, declaredLength: number | undefined): Promise<void> {
    const chunkLength = range ? range.end - range.start + 1 : declaredLength;
    if (chunkLength !== undefined) await this.admitOrEnd(name, id, [{ size: size + chunkLength }]);
  }

  /** A refused upload ends with its bytes: a client told 403 does not come back to resume it. */
  private async admitOrEnd(name: RepositoryName, id: string, additions: readonly StorageAddition[]): Promise<void> {
    try {
      await admit(this.guard, name, additions);
    } catch (error) {
      await this.remove(id);
      throw error;
    }
  }

  private async touch(id: string): Promise<void> {
    const now = Date.now();
    if (now - (this.touchedAt.get(id) ?? 0) < this.touchIntervalMs) return;
    this.touchedAt.set(id, now);
    await this.metadata.touchUpload(id);
  }

  private checkLength(declaredLength: number | undefined, size: number): void {
    if (declaredLength !== undefined && size + declaredLength > this.limits.maxBlobBytes) {
      throw new RegistryError('SIZE_INVALID', `blob exceeds the limit of ${this.limits.maxBlobBytes} bytes`, { condition: 'too-large' });
    }
  }

  private async existing(name: RepositoryName, id: string): Promise<UploadBytes> {
    if (!uploadIdGrammar.test(id)) throw uploadUnknown(id);
    const upload = await this.metadata.upload(id);
    if (!upload || upload.repository !== name) throw uploadUnknown(id);
    if (upload.held) return { size: upload.held.length, held: upload.held };
    const size = await this.store.uploadSize(id);
    if (size === undefined) throw uploadUnknown(id);
    return { size, held: undefined };
  }

  private async remove(id: string): Promise<void> {
    await this.store.deleteUpload(id);
    await this.metadata.deleteUpload(id);
    this.forget(id);
  }

  /** Drops what this process remembers of an upload that has ended. */
  private forget(id: string): void {
    this.hashes.forget(id);
    this.touchedAt.delete(id);
  }

  private async exclusively<T>(id: string, work: () => Promise<T>): Promise<T> {
    const busy = () => new RegistryError('BLOB_UPLOAD_INVALID', 'another request is writing to this upload');
    if (this.expiring.has(id)) throw uploadUnknown(id);
    if (this.busy.has(id)) throw busy();
    this.busy.add(id);
    try {
      const done = await this.acrossNodes(uploadLock(id), async () => ({ result: await work() }));
      if (!done) throw busy();
      return done.result;
    } finally {
      this.busy.delete(id);
    }
  }
}

function uploadLock(id: string): string {
  return `upload:${id}`;
}

/** The spec's `Range` header on upload responses: `0-<last byte>`; Distribution sends `0-0` when empty. */
export function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function verifyDigest(expected: Digest, actual: string): void {
  if (parseDigest(actual) !== expected) {
    throw new RegistryError('DIGEST_INVALID', `content digest ${actual} does not match ${expected}`);
  }
}

/** A chunk that does not start where the upload ends: the client must resume from `size`. */
function chunkOutOfPlace(start: number, size: number): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', `chunk starts at ${start}, the upload has ${size} bytes`, {
    condition: 'range-not-satisfiable',
    headers: { Range: rangeHeader(size) },
  });
}

/** The registry's answer to what the store reports of an append. */
function storeAnswer(error: unknown, id: string): unknown {
  if (error instanceof UploadOffsetError) return chunkOutOfPlace(error.offset, error.size);
  if (error instanceof UploadNotFoundError) return uploadUnknown(id);
  return error;
}

function uploadUnknown(id: string): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { detail: { uuid: id.slice(0, 64) } });
}
