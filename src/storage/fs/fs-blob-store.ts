import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Digest, digestAlgorithm, digestHex, isDigest } from '../../oci/digest.js';
import { privateDirMode, privateFileMode } from '../../private-files.js';
import type { BlobSender, BlobStore, ByteRange, StoredBlob } from '../blob-store.js';
import { BlobNotFoundError, UploadNotFoundError, UploadOffsetError, UploadSpoiltError } from '../errors.js';
import { AppendWriter } from './append-writer.js';
import { FileSender } from './file-sender.js';
import { FlushBehind } from './flush-behind.js';
import { WriteBackError } from './write-back-error.js';

/**
 * Blobs on the local filesystem: `blobs/<algorithm>/<first two hex>/<hex>` and `uploads/<id>`.
 * A blob becomes visible only by an atomic rename of a fully written, fsynced upload file, so a
 * crash can never expose a partial blob.
 */
export class FsBlobStore implements BlobStore {
  private readonly blobsDir: string;
  private readonly uploadsDir: string;
  /** Fan-out directories known to exist, so a commit does not ask for them again. */
  private readonly existingDirs = new Set<string>();
  /** The background flushes of uploads written to by this process, until committed or deleted. */
  private readonly flushes = new Map<string, FlushBehind>();

  constructor(root: string) {
    this.blobsDir = path.join(root, 'blobs');
    this.uploadsDir = path.join(root, 'uploads');
  }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true, mode: privateDirMode });
    await mkdir(this.uploadsDir, { recursive: true, mode: privateDirMode });
  }

  async stat(digest: Digest): Promise<number | undefined> {
    return sizeOf(this.blobPath(digest));
  }

  async read(digest: Digest, range?: ByteRange): Promise<Readable> {
    const handle = await openIfExists(this.blobPath(digest));
    if (!handle) throw new BlobNotFoundError(digest);
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async open(digest: Digest, range?: ByteRange): Promise<BlobSender | undefined> {
    const handle = await openIfExists(this.blobPath(digest));
    if (!handle) return undefined;
    try {
      const { size } = await handle.stat();
      return new FileSender(handle, range?.start ?? 0, range?.end ?? size - 1);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async delete(digest: Digest): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async *listBlobs(): AsyncIterable<StoredBlob> {
    for (const algorithm of await namesIn(this.blobsDir)) {
      for (const fanOut of await namesIn(path.join(this.blobsDir, algorithm))) {
        for (const hex of await namesIn(path.join(this.blobsDir, algorithm, fanOut))) {
          // Anything else in the tree (a stray file) is not a blob this store committed.
          const digest = `${algorithm}:${hex}`;
          if (!isDigest(digest) || !hex.startsWith(fanOut)) continue;
          const found = await statIfExists(path.join(this.blobsDir, algorithm, fanOut, hex));
          if (found) yield { digest: digest as Digest, size: found.size, modifiedAt: found.mtime };
        }
      }
    }
  }

  async createUpload(id: string): Promise<void> {
    const handle = await open(this.uploadPath(id), 'wx', privateFileMode);
    await handle.close();
  }

  async restartUpload(id: string): Promise<void> {
    this.flushes.delete(id);
    // Truncated in place: one open rather than a removal and a create.
    const handle = await open(this.uploadPath(id), 'w', privateFileMode);
    await handle.close();
  }

  async uploadSize(id: string): Promise<number | undefined> {
    return sizeOf(this.uploadPath(id));
  }

  /**
   * The offset is checked before the append starts; one process writes to an upload at a time
   * (the upload service makes sure), so nothing can append in between.
   */
  async appendUpload(id: string, offset: number, source: Readable): Promise<number> {
    const size = await this.uploadSize(id);
    if (size === undefined) throw new UploadNotFoundError(id);
    if (size !== offset) throw new UploadOffsetError(id, offset, size);
    const flushBehind = this.flushBehind(id);
    if (flushBehind.error) throw new UploadSpoiltError(id, flushBehind.error);
    const writer = new AppendWriter(this.uploadPath(id), { flushBehind });
    try {
      await pipeline(source, writer);
    } catch (error) {
      throw error instanceof WriteBackError ? new UploadSpoiltError(id, error) : error;
    } finally {
      // A failed pipeline may report before the writer has closed; the size below must be final.
      await writer.whenClosed();
    }
    // A flush that failed after the last write removed the file: this chunk is lost with the rest.
    if (flushBehind.error) throw new UploadSpoiltError(id, flushBehind.error);
    // Nothing else appends meanwhile (see above), so the file ends where this chunk's bytes do.
    return offset + writer.bytesWritten;
  }

  async readUpload(id: string): Promise<Readable> {
    const handle = await openIfExists(this.uploadPath(id));
    if (!handle) throw new UploadNotFoundError(id);
    return handle.createReadStream();
  }

  async commitUpload(id: string, digest: Digest): Promise<void> {
    try {
      await this.flushes.get(id)?.settled();
    } catch (error) {
      throw new UploadSpoiltError(id, error);
    }
    const from = this.uploadPath(id);
    const handle = await openIfExists(from, 'r+');
    if (!handle) throw new UploadNotFoundError(id);
    try {
      await handle.sync().catch((error: unknown) => {
        throw new UploadSpoiltError(id, new WriteBackError(error));
      });
      // A blob's age is that of its commit, not its last append: garbage collection leaves bytes
      // without a metadata row alone while they are young, and this commit's row is on its way.
      const now = new Date();
      await handle.utimes(now, now);
    } finally {
      await handle.close();
    }
    const to = this.blobPath(digest);
    const dir = path.dirname(to);
    if (!this.existingDirs.has(dir)) {
      await mkdir(dir, { recursive: true, mode: privateDirMode });
      this.existingDirs.add(dir);
    }
    // Same digest, same bytes: replacing an existing blob with an identical one is harmless.
    await rename(from, to);
    this.flushes.delete(id);
    await syncDirectory(dir);
  }

  async deleteUpload(id: string): Promise<void> {
    this.flushes.delete(id);
    await rm(this.uploadPath(id), { force: true });
  }

  async listUploads(): Promise<Array<{ id: string; modifiedAt: Date }>> {
    const names = await readdir(this.uploadsDir);
    const uploads = await Promise.all(
      names.map(async (name) => {
        const info = await stat(path.join(this.uploadsDir, name)).catch(() => undefined);
        return info ? { id: name, modifiedAt: info.mtime } : undefined;
      }),
    );
    return uploads.filter((upload) => upload !== undefined);
  }

  private flushBehind(id: string): FlushBehind {
    let flushBehind = this.flushes.get(id);
    if (!flushBehind) {
      const file = this.uploadPath(id);
      // Bytes the disk lost make the upload worthless; removing its file at once means no later
      // request, not even after a restart that forgot the error, can commit it.
      flushBehind = new FlushBehind(file, { onFailure: () => rm(file, { force: true }) });
      this.flushes.set(id, flushBehind);
    }
    return flushBehind;
  }

  private blobPath(digest: Digest): string {
    const hex = digestHex(digest);
    return path.join(this.blobsDir, digestAlgorithm(digest), hex.slice(0, 2), hex);
  }

  private uploadPath(id: string): string {
    return path.join(this.uploadsDir, id);
  }
}

async function openIfExists(file: string, flags = 'r'): Promise<FileHandle | undefined> {
  try {
    return await open(file, flags);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function namesIn(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function sizeOf(file: string): Promise<number | undefined> {
  return (await statIfExists(file))?.size;
}

async function statIfExists(file: string): Promise<Stats | undefined> {
  try {
    return await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Persists a rename: the new directory entry survives power loss only once the directory is synced. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
