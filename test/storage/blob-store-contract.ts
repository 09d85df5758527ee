import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Digest, digestOf } from '../../src/oci/digest.js';
import type { BlobStore, ByteRange } from '../../src/storage/blob-store.js';
import { BlobNotFoundError, UploadNotFoundError, UploadOffsetError } from '../../src/storage/errors.js';

/** Creates an upload, appends each piece in turn at the size so far, and commits it under its digest. */
async function storeBlob(store: BlobStore, id: string, ...pieces: Buffer[]): Promise<Digest> {
  await store.createUpload(id);
  let size = 0;
  for (const piece of pieces) size = await store.appendUpload(id, size, Readable.from([piece]));
  const digest = digestOf(Buffer.concat(pieces));
  await store.commitUpload(id, digest);
  return digest;
}

async function readBack(store: BlobStore, digest: Digest, range?: ByteRange): Promise<Buffer> {
  return buffer(await store.read(digest, range));
}

/** What `BlobStore.open` sends into a plain writable. */
async function sent(store: BlobStore, digest: Digest, range?: ByteRange): Promise<Buffer | undefined> {
  const blob = await store.open(digest, range);
  if (!blob) return undefined;
  const chunks: Buffer[] = [];
  await blob.sendTo(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        // The store may reuse a chunk's memory once its callback ran.
        chunks.push(Buffer.from(chunk));
        callback();
      },
    }),
  );
  return Buffer.concat(chunks);
}

/**
 * The behaviour every BlobStore implementation must have, so that a new one (an object store) is
 * proven by passing it: committed blobs, uploads that grow by appends at a known offset, the typed
 * errors of `src/storage/errors.ts`, listings for expiry and garbage collection, and sizes from
 * nothing to many megabytes in pieces of every size. Each implementation's test file calls this
 * with a factory that makes a fresh, empty store.
 */
export function blobStoreContract(implementation: string, makeStore: () => Promise<BlobStore>): void {
  describe(`${implementation} blob store contract`, () => {
    describe('committed blobs', () => {
      it('commits an upload built from several appends and reads it back whole and by range', async () => {
        const store = await makeStore();
        await store.createUpload('u1');
        assert.equal(await store.uploadSize('u1'), 0);
        assert.equal(await store.appendUpload('u1', 0, Readable.from([Buffer.from('hello ')])), 6);
        assert.equal(await store.appendUpload('u1', 6, Readable.from([Buffer.from('world')])), 11);
        const digest = digestOf('hello world');
        assert.equal(await store.stat(digest), undefined);
        await store.commitUpload('u1', digest);
        assert.equal(await store.stat(digest), 11);
        assert.equal((await readBack(store, digest)).toString(), 'hello world');
        assert.equal((await readBack(store, digest, { start: 6, end: 10 })).toString(), 'world');
      });

      it('reads and sends the first byte, the last byte and one in the middle by range', async () => {
        const store = await makeStore();
        const digest = await storeBlob(store, 'r1', Buffer.from('0123456789'));
        for (const [start, end, expected] of [
          [0, 0, '0'],
          [9, 9, '9'],
          [4, 6, '456'],
          [0, 9, '0123456789'],
        ] as const) {
          assert.equal((await readBack(store, digest, { start, end })).toString(), expected, `read ${start}-${end}`);
          assert.equal((await sent(store, digest, { start, end }))?.toString(), expected, `sent ${start}-${end}`);
        }
      });

      it('opens a committed blob for sending, whole and by range; a missing one opens as undefined', async () => {
        const store = await makeStore();
        const digest = await storeBlob(store, 's1', Buffer.from('sent in full'));
        assert.equal((await sent(store, digest))?.toString(), 'sent in full');
        assert.equal((await sent(store, digest, { start: 5, end: 6 }))?.toString(), 'in');
        assert.equal(await store.open(digestOf('never stored')), undefined);
        const unsent = await store.open(digest);
        assert.ok(unsent);
        await unsent.close();
      });

      it('a blob never stored: stat is undefined and read rejects with BlobNotFoundError', async () => {
        const store = await makeStore();
        const missing = digestOf('never stored');
        assert.equal(await store.stat(missing), undefined);
        await assert.rejects(store.read(missing), (error: unknown) => error instanceof BlobNotFoundError && error.digest === missing);
        await assert.rejects(store.read(missing, { start: 0, end: 0 }), BlobNotFoundError);
      });

      it('keeps every byte value, and an empty blob', async () => {
        const store = await makeStore();
        const everyByte = Buffer.from(Array.from({ length: 256 }, (_, value) => value));
        const digest = await storeBlob(store, 'bin', everyByte, Buffer.from([0, 0xff, 0x0a, 0x0d]));
        assert.deepEqual(await readBack(store, digest), Buffer.concat([everyByte, Buffer.from([0, 0xff, 0x0a, 0x0d])]));
        const empty = await storeBlob(store, 'empty');
        assert.equal(await store.stat(empty), 0);
        assert.equal((await readBack(store, empty)).length, 0);
        assert.equal((await sent(store, empty))?.length, 0);
      });

      it('stores a large blob streamed in pieces of many sizes, byte for byte', async () => {
        const store = await makeStore();
        // Pieces below, at and above the part sizes object stores care about (5 MiB), and odd sizes.
        const sizes = [1, 1000, 65_536, 5 * 1024 * 1024 - 1, 1, 3 * 1024 * 1024 + 7, 17];
        const hash = createHash('sha256');
        const pieces = sizes.map((size) => {
          const piece = randomBytes(size);
          hash.update(piece);
          return piece;
        });
        await store.createUpload('big');
        let size = 0;
        for (const piece of pieces) {
          // Each piece arrives as a stream of smaller chunks, as a request body does.
          const chunks = Array.from({ length: Math.ceil(piece.length / 65_536) }, (_, index) => piece.subarray(index * 65_536, (index + 1) * 65_536));
          size = await store.appendUpload('big', size, Readable.from(chunks));
        }
        const total = sizes.reduce((sum, each) => sum + each, 0);
        assert.equal(size, total);
        const digest = `sha256:${hash.digest('hex')}` as Digest;
        await store.commitUpload('big', digest);
        assert.equal(await store.stat(digest), total);
        const readHash = createHash('sha256');
        for await (const chunk of await store.read(digest)) readHash.update(chunk as Buffer);
        assert.equal(`sha256:${readHash.digest('hex')}`, digest);
        const tail = await readBack(store, digest, { start: total - 20, end: total - 1 });
        assert.deepEqual(tail, Buffer.concat(pieces).subarray(total - 20));
      });

      it('serves concurrent reads of one blob, each whole', async () => {
        const store = await makeStore();
        const bytes = randomBytes(300_000);
        const digest = await storeBlob(store, 'c1', bytes);
        const reads = await Promise.all(Array.from({ length: 8 }, (_, index) => (index % 2 ? readBack(store, digest) : sent(store, digest))));
        for (const read of reads) assert.ok(read?.equals(bytes));
      });

      it('committing the same content twice leaves one intact blob', async () => {
        const store = await makeStore();
        const first = await storeBlob(store, 'a', Buffer.from('same'));
        const second = await storeBlob(store, 'b', Buffer.from('same'));
        assert.equal(first, second);
        assert.equal((await readBack(store, first)).toString(), 'same');
      });

      it('deletes a blob, and deleting a missing one is not an error', async () => {
        const store = await makeStore();
        const digest = await storeBlob(store, 'd1', Buffer.from('gone'));
        const kept = await storeBlob(store, 'd2', Buffer.from('kept'));
        await store.delete(digest);
        assert.equal(await store.stat(digest), undefined);
        await assert.rejects(store.read(digest), BlobNotFoundError);
        assert.equal(await store.open(digest), undefined);
        await store.delete(digest);
        assert.equal((await readBack(store, kept)).toString(), 'kept');
      });

      it('lists every committed blob with its size, and no upload or deleted blob', async () => {
        const store = await makeStore();
        const listed = async () => {
          const blobs = new Map<string, number>();
          for await (const blob of store.listBlobs()) blobs.set(blob.digest, blob.size);
          return blobs;
        };
        assert.equal((await listed()).size, 0);
        const one = await storeBlob(store, 'l1', Buffer.from('one'));
        const two = await storeBlob(store, 'l2', Buffer.from('second blob'));
        const gone = await storeBlob(store, 'l3', Buffer.from('deleted'));
        await store.delete(gone);
        await store.createUpload('l4');
        await store.appendUpload('l4', 0, Readable.from([Buffer.from('not committed')]));
        assert.deepEqual(
          [...(await listed()).entries()].sort(),
          [
            [one, 3],
            [two, 11],
          ].sort(),
        );
      });

      it('lists a blob with the time of its commit, not of its last append (garbage collection judges age by it)', async () => {
        const store = await makeStore();
        await store.createUpload('l5');
        await store.appendUpload('l5', 0, Readable.from([Buffer.from('appended a while before its commit')]));
        // Object stores keep whole seconds.
        await sleep(1100);
        const committing = Math.floor(Date.now() / 1000) * 1000;
        const digest = digestOf('appended a while before its commit');
        await store.commitUpload('l5', digest);
        const listed: Array<{ digest: string; modifiedAt: Date }> = [];
        for await (const blob of store.listBlobs()) listed.push(blob);
        const entry = listed.find((blob) => blob.digest === digest);
        assert.ok(entry);
        assert.ok(entry.modifiedAt.getTime() >= committing, `${entry.modifiedAt.toISOString()} is before the commit`);
      });
    });

    describe('uploads', () => {
      it('reads back the bytes of an upload in progress', async () => {
        const store = await makeStore();
        await store.createUpload('u2');
        await store.appendUpload('u2', 0, Readable.from([Buffer.from('part')]));
        await store.appendUpload('u2', 4, Readable.from([Buffer.from('ial')]));
        assert.equal((await buffer(await store.readUpload('u2'))).toString(), 'partial');
      });

      it('takes an append only at the upload’s size: elsewhere UploadOffsetError, nothing written', async () => {
        const store = await makeStore();
        await store.createUpload('o1');
        await store.appendUpload('o1', 0, Readable.from([Buffer.from('abc')]));
        for (const offset of [0, 2, 4]) {
          await assert.rejects(
            store.appendUpload('o1', offset, Readable.from([Buffer.from('xyz')])),
            (error: unknown) => error instanceof UploadOffsetError && error.offset === offset && error.size === 3,
          );
        }
        assert.equal(await store.uploadSize('o1'), 3);
        assert.equal((await buffer(await store.readUpload('o1'))).toString(), 'abc');
        assert.equal(await store.appendUpload('o1', 3, Readable.from([Buffer.from('d')])), 4);
      });

      it('an upload never created: size undefined, and append, read and commit reject with UploadNotFoundError', async () => {
        const store = await makeStore();
        assert.equal(await store.uploadSize('nope'), undefined);
        const notFound = (error: unknown) => error instanceof UploadNotFoundError && error.id === 'nope';
        await assert.rejects(store.appendUpload('nope', 0, Readable.from([Buffer.from('x')])), notFound);
        await assert.rejects(store.readUpload('nope'), notFound);
        await assert.rejects(store.commitUpload('nope', digestOf('x')), notFound);
        assert.equal(await store.stat(digestOf('x')), undefined);
      });

      it('a committed upload ends: it can no longer be appended to, read or committed', async () => {
        const store = await makeStore();
        await storeBlob(store, 'done', Buffer.from('done'));
        assert.equal(await store.uploadSize('done'), undefined);
        await assert.rejects(store.appendUpload('done', 4, Readable.from([Buffer.from('more')])), UploadNotFoundError);
        await assert.rejects(store.readUpload('done'), UploadNotFoundError);
        await assert.rejects(store.commitUpload('done', digestOf('done')), UploadNotFoundError);
      });

      it('keeps the bytes that arrived when an append fails midway, and resumes from there', async () => {
        const store = await makeStore();
        await store.createUpload('u3');
        const failing = new Readable({
          read() {
            this.push(Buffer.from('abc'));
            this.destroy(new Error('connection reset'));
          },
        });
        await assert.rejects(store.appendUpload('u3', 0, failing), /connection reset/);
        const size = await store.uploadSize('u3');
        assert.ok(size === 0 || size === 3, `size after a failed append is ${size}`);
        const rest = Buffer.from('abcdef').subarray(size);
        assert.equal(await store.appendUpload('u3', size, Readable.from([rest])), 6);
        assert.equal((await buffer(await store.readUpload('u3'))).toString(), 'abcdef');
      });

      it('keeps uploads apart: interleaved appends to two uploads commit two blobs', async () => {
        const store = await makeStore();
        await store.createUpload('i1');
        await store.createUpload('i2');
        await store.appendUpload('i1', 0, Readable.from([Buffer.from('first ')]));
        await store.appendUpload('i2', 0, Readable.from([Buffer.from('second ')]));
        await store.appendUpload('i1', 6, Readable.from([Buffer.from('upload')]));
        await store.appendUpload('i2', 7, Readable.from([Buffer.from('upload')]));
        await store.commitUpload('i2', digestOf('second upload'));
        assert.equal((await buffer(await store.readUpload('i1'))).toString(), 'first upload');
        await store.commitUpload('i1', digestOf('first upload'));
        assert.equal((await readBack(store, digestOf('first upload'))).toString(), 'first upload');
        assert.equal((await readBack(store, digestOf('second upload'))).toString(), 'second upload');
      });

      it('deletes an upload, deleting a missing one is not an error, and its id can start again', async () => {
        const store = await makeStore();
        await store.createUpload('d2');
        await store.appendUpload('d2', 0, Readable.from([Buffer.from('abandoned')]));
        await store.deleteUpload('d2');
        assert.equal(await store.uploadSize('d2'), undefined);
        await store.deleteUpload('d2');
        await store.createUpload('d2');
        assert.equal(await store.uploadSize('d2'), 0);
      });

      it('restarts an upload empty, whatever it held, and starts one where there was none', async () => {
        const store = await makeStore();
        await store.createUpload('r2');
        // Parts at two offsets, so that a restart that kept any would show in the size or the bytes.
        await store.appendUpload('r2', 0, Readable.from([Buffer.from('stale ')]));
        await store.appendUpload('r2', 6, Readable.from([Buffer.from('bytes')]));
        await store.restartUpload('r2');
        assert.equal(await store.uploadSize('r2'), 0);
        await assert.rejects(store.appendUpload('r2', 11, Readable.from([Buffer.from('more')])), UploadOffsetError);
        assert.equal(await store.appendUpload('r2', 0, Readable.from([Buffer.from('fresh')])), 5);
        assert.equal((await buffer(await store.readUpload('r2'))).toString(), 'fresh');
        await store.commitUpload('r2', digestOf('fresh'));
        assert.equal((await readBack(store, digestOf('fresh'))).toString(), 'fresh');

        await store.restartUpload('r3');
        assert.equal(await store.uploadSize('r3'), 0);
        assert.ok((await store.listUploads()).some((upload) => upload.id === 'r3'), 'listed, for expiry to find');
      });

      it('lists uploads with their modification time, and not committed or deleted ones', async () => {
        const store = await makeStore();
        const before = Date.now() - 1000;
        await store.createUpload('l1');
        await store.createUpload('l2');
        await storeBlob(store, 'l3', Buffer.from('committed'));
        await store.deleteUpload('l2');
        const listed = await store.listUploads();
        assert.deepEqual(
          listed.map((upload) => upload.id),
          ['l1'],
        );
        assert.ok((listed[0]?.modifiedAt.getTime() ?? 0) >= before);
      });

      it('refuses to create an upload that already exists, and keeps its bytes', async () => {
        const store = await makeStore();
        await store.createUpload('dup');
        await store.appendUpload('dup', 0, Readable.from([Buffer.from('kept')]));
        await assert.rejects(store.createUpload('dup'));
        assert.equal((await buffer(await store.readUpload('dup'))).toString(), 'kept');
      });
    });
  });
}
