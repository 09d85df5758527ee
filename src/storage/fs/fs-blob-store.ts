import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Digest, digestAlgorithm, digestHex } from '../../oci/digest.js';
import { privateDirMode, privateFileMode } from '../../private-files.js';
import type { BlobSender, BlobStore, ByteRange } from '../blob-store.js';
import { WriteBackError } from '../errors.js';
import { AppendWriter } from './append-writer.js';
import { FileSender } from './file-sender.js';
import { FlushBehind } from './flush-behind.js';

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

  read(digest: Digest, range?: ByteRange): Readable {
    return createReadStream(this.blobPath(digest), range ? { start: range.start, end: range.end } : {});
  }

  async open(digest: Digest, range?: ByteRange): Promise<BlobSender | undefined> {
    let handle;
    try {
      handle = await open(this.blobPath(digest), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
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

  async createUpload(id: string): Promise<void> {
    const handle = await open(this.uploadPath(id), 'wx', privateFileMode);
    await handle.close();
  }

  async uploadSize(id: string): Promise<number | undefined> {
    return sizeOf(this.uploadPath(id));
  }

  async appendUpload(id: string, source: Readable): Promise<number> {
    const flushBehind = this.flushBehind(id);
    if (flushBehind.error) throw flushBehind.error;
    const writer = new AppendWriter(this.uploadPath(id), { flushBehind });
    try {
      await pipeline(source, writer);
    } finally {
      // A failed pipeline may report before the writer has closed; the size below must be final.
      await writer.whenClosed();
    }
    const size = await this.uploadSize(id);
    // A flush that failed after the last write removed the file: this chunk is lost with the rest.
    if (flushBehind.error) throw flushBehind.error;
    return size ?? 0;
  }

  readUpload(id: string): Readable {
    return createReadStream(this.uploadPath(id));
  }

  async commitUpload(id: string, digest: Digest): Promise<void> {
    await this.flushes.get(id)?.settled();
    const from = this.uploadPath(id);
    const handle = await open(from, 'r+');
    try {
      await handle.sync().catch((error: unknown) => {
        throw new WriteBackError(error);
      });
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

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
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
