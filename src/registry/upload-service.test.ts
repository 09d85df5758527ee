import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { eventually } from '../../test/support/eventually.js';
import { tempDatabase } from '../../test/support/temp-database.js';
import type { DatabaseEngine } from '../db/engine.js';
import { type Digest, digestOf } from '../oci/digest.js';
import type { RepositoryName } from '../oci/names.js';
import { UploadSpoiltError } from '../storage/errors.js';
import { FsBlobStore } from '../storage/fs/fs-blob-store.js';
import { RegistryMetadata } from './metadata.js';
import { UploadService, inlineBlobBytes } from './upload-service.js';

const repository = 'acme/app' as RepositoryName;

/** A filesystem store whose disk loses bytes once, at the step named, if one is. */
class LosingStore extends FsBlobStore {
  constructor(
    root: string,
    private failing: 'append' | 'commit' | undefined,
  ) {
    super(root);
  }

  override async appendUpload(id: string, offset: number, source: Readable): Promise<number> {
    const size = await super.appendUpload(id, offset, source);
    if (this.take('append')) throw new UploadSpoiltError(id, Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    return size;
  }

  override async commitUpload(id: string, digest: Digest): Promise<void> {
    if (this.take('commit')) throw new UploadSpoiltError(id, Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await super.commitUpload(id, digest);
  }

  private take(step: 'append' | 'commit'): boolean {
    if (this.failing !== step) return false;
    this.failing = undefined;
    return true;
  }
}

/**
 * A filesystem store in a temp dir (a losing one when `failing` names a step) and a database;
 * `service()` makes an upload service over them, as each start of a server does.
 */
async function setup(
  t: TestContext,
  {
    failing,
    expiryMs = 86_400_000,
    metadata = (engine) => new RegistryMetadata(engine),
  }: { failing?: 'append' | 'commit'; expiryMs?: number; metadata?: (engine: DatabaseEngine) => RegistryMetadata } = {},
) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'berth-uploads-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const store = new LosingStore(root, failing);
  await store.init();
  const engine = await tempDatabase(t);
  const service = () => new UploadService(store, metadata(engine), { maxBlobBytes: 1 << 30, expiryMs }, (name, run) => engine.exclusively(name, run));
  return { store, engine, service, uploads: service() };
}

/** A committed blob's bytes, read back from the store. */
async function storedBytes(store: FsBlobStore, digest: Digest): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of await store.read(digest)) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('an upload whose bytes the disk lost', () => {
  // Larger than the blobs kept in the database, so that the bytes go through the store.
  const data = randomBytes(100 * 1024);

  it('ends when a chunk could not be synced: the next request finds no upload', async (t) => {
    const { store, uploads } = await setup(t, { failing: 'append' });
    const { id } = await uploads.start(repository);
    await assert.rejects(uploads.append(repository, id, Readable.from([data]), undefined, data.length), UploadSpoiltError);
    await assert.rejects(uploads.status(repository, id), { code: 'BLOB_UPLOAD_UNKNOWN' });
    assert.equal(await store.uploadSize(id), undefined);
  });

  it('ends when the commit could not sync it, rather than letting a retried PUT succeed', async (t) => {
    const { store, uploads } = await setup(t, { failing: 'commit' });
    const { id } = await uploads.start(repository);
    await uploads.append(repository, id, Readable.from([data]), undefined, data.length);
    const digest = digestOf(data);
    await assert.rejects(uploads.complete(repository, id, digest, undefined, undefined, undefined), UploadSpoiltError);
    await assert.rejects(uploads.complete(repository, id, digest, undefined, undefined, undefined), { code: 'BLOB_UPLOAD_UNKNOWN' });
    assert.equal(await store.uploadSize(id), undefined);
    assert.equal(await store.stat(digest), undefined);
  });
});

describe('a monolithic push (POST ?digest=)', () => {
  it('keeps its bytes in the store while they arrive, even past the upload expiry', async (t) => {
    const expiryMs = 1000;
    const { store, uploads } = await setup(t, { expiryMs });
    // Larger than the blobs kept in the database, so that the bytes go through the store.
    const data = randomBytes(100 * 1024);
    const body = new PassThrough();
    const pushed = uploads.pushMonolithic(repository, digestOf(data), body, data.length);
    body.write(data.subarray(0, 50 * 1024));
    await eventually(() => store.listUploads(), (listed) => listed.length === 1);

    // A sweep long after the upload began: no session names it, yet it is no orphan.
    await uploads.expire(new Date(Date.now() + 10 * expiryMs));
    assert.equal((await store.listUploads()).length, 1);

    body.end(data.subarray(50 * 1024));
    await pushed;
    assert.equal(uploads.inProgress, 0);
    assert.equal(await store.stat(digestOf(data)), data.length);
  });
});

describe('an upload whose move to the store a crash forgot', () => {
  it('goes on from the bytes the metadata still holds, and stores exactly the blob pushed', async (t) => {
    const { store, engine, service } = await setup(t);
    const first = randomBytes(1024);
    const second = randomBytes(100 * 1024);
    const whole = Buffer.concat([first, second]);
    const chunk = (bytes: Buffer, start: number) => [Readable.from([bytes]), { start, end: start + bytes.length - 1 }, bytes.length] as const;

    const before = service();
    const { id } = await before.start(repository);
    await before.append(repository, id, ...chunk(first, 0));
    // The second chunk outgrows what the metadata holds: its bytes and the first go to the store.
    await before.append(repository, id, ...chunk(second, first.length));
    assert.equal(await store.uploadSize(id), whole.length);

    // The crash lost the commit that released the held bytes (it does not wait for a sync), but
    // not the store's file; the restarted server has no hash state either.
    await engine.db.updateTable('uploads').set({ held: first }).where('id', '=', id).execute();
    const after = service();
    assert.equal((await after.status(repository, id)).size, first.length);
    await after.append(repository, id, ...chunk(second, first.length));
    assert.equal((await after.status(repository, id)).size, whole.length);
    await after.complete(repository, id, digestOf(whole), undefined, undefined, undefined);
    assert.equal(await store.stat(digestOf(whole)), whole.length);
    assert.deepEqual(await storedBytes(store, digestOf(whole)), whole);
  });
});

describe('an upload whose move to the store the metadata failed to record', () => {
  it('answers the failure, and resumes from the bytes the metadata still holds to exactly the blob pushed', async (t) => {
    let failures = 1;
    // The release of the held bytes is written while the chunk is appended; here it fails once.
    class FailingRelease extends RegistryMetadata {
      override async releaseUploadBytes(id: string): Promise<void> {
        if (failures-- > 0) throw new Error('the database went away');
        return super.releaseUploadBytes(id);
      }
    }
    const { store, uploads } = await setup(t, { metadata: (engine) => new FailingRelease(engine) });
    const first = randomBytes(1024);
    const second = randomBytes(100 * 1024);
    const whole = Buffer.concat([first, second]);
    const { id } = await uploads.start(repository);
    await uploads.append(repository, id, Readable.from([first]), { start: 0, end: first.length - 1 }, first.length);
    const range = { start: first.length, end: whole.length - 1 };
    await assert.rejects(uploads.append(repository, id, Readable.from([second]), range, second.length), /the database went away/);
    assert.equal((await uploads.status(repository, id)).size, first.length, 'the metadata still holds the first chunk');
    await uploads.append(repository, id, Readable.from([second]), range, second.length);
    await uploads.complete(repository, id, digestOf(whole), undefined, undefined, undefined);
    assert.deepEqual(await storedBytes(store, digestOf(whole)), whole);
  });
});

describe('an upload that expires while a request comes for it', () => {
  it('is unknown to the request, not busy, while the expiry removes it', async (t) => {
    let letGo: () => void = () => undefined;
    const removing = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    let removalStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      removalStarted = resolve;
    });
    // The expiry's removal holds the upload until the test lets it go.
    class SlowRemoval extends RegistryMetadata {
      override async deleteUpload(id: string): Promise<boolean> {
        removalStarted();
        await removing;
        return super.deleteUpload(id);
      }
    }
    const expiryMs = 60_000;
    const { uploads } = await setup(t, { expiryMs, metadata: (engine) => new SlowRemoval(engine) });
    const { id } = await uploads.start(repository);
    const expiry = uploads.expire(new Date(Date.now() + 2 * expiryMs));
    await started;
    const chunk = Buffer.from('a late chunk');
    await assert.rejects(uploads.append(repository, id, Readable.from([chunk]), { start: 0, end: chunk.length - 1 }, chunk.length), { code: 'BLOB_UPLOAD_UNKNOWN' });
    letGo();
    assert.equal(await expiry, 1);
    await assert.rejects(uploads.status(repository, id), { code: 'BLOB_UPLOAD_UNKNOWN' });
  });
});

describe('the expiry of uploads', () => {
  // Here, unlike in a server, no sweep runs on its own: a slow machine cannot expire an upload early.
  it('removes only uploads idle longer than the expiry: a chunk renews one, whether the metadata or the store holds its bytes', async (t) => {
    const { uploads } = await setup(t, { expiryMs: 2000 });
    const idle = await uploads.start(repository);
    const held = await uploads.start(repository);
    const stored = await uploads.start(repository);
    const first = randomBytes(inlineBlobBytes + 1);
    await uploads.append(repository, stored.id, Readable.from([first]), { start: 0, end: first.length - 1 }, first.length);
    // Activity is recorded at most once per tenth of the expiry: a chunk later than that renews.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const between = Date.now();
    await uploads.append(repository, held.id, Readable.from([Buffer.from('x')]), { start: 0, end: 0 }, 1);
    await uploads.append(repository, stored.id, Readable.from([Buffer.from('y')]), { start: first.length, end: first.length }, 1);
    // Two seconds after `between`, `idle` has been idle for longer than that, the others for less.
    assert.equal(await uploads.expire(new Date(between + 2000)), 1);
    await assert.rejects(uploads.status(repository, idle.id), { code: 'BLOB_UPLOAD_UNKNOWN' });
    assert.equal((await uploads.status(repository, held.id)).size, 1);
    assert.equal((await uploads.status(repository, stored.id)).size, first.length + 1);
  });
});
