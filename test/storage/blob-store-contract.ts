import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { buffer } from 'node:stream/consumers';
import { digestOf } from '../../src/oci/digest.js';
import type { BlobStore } from '../../src/storage/blob-store.js';

/**
 * The behaviour every BlobStore implementation must have. Each implementation's test file calls
 * this with a factory that makes a fresh, empty store.
 */
export function blobStoreContract(implementation: string, makeStore: () => Promise<BlobStore>): void {
  describe(`${implementation} blob store contract`, () => {
    it('commits an upload built from several appends and reads it back whole and by range', async () => {
      const store = await makeStore();
      await store.createUpload('u1');
      assert.equal(await store.uploadSize('u1'), 0);
      assert.equal(await store.appendUpload('u1', Readable.from([Buffer.from('hello ')])), 6);
      assert.equal(await store.appendUpload('u1', Readable.from([Buffer.from('world')])), 11);
      const digest = digestOf('hello world');
      assert.equal(await store.stat(digest), undefined);
      await store.commitUpload('u1', digest);
      assert.equal(await store.stat(digest), 11);
      assert.equal((await buffer(store.read(digest))).toString(), 'hello world');
      assert.equal((await buffer(store.read(digest, { start: 6, end: 10 }))).toString(), 'world');
      assert.equal(await store.uploadSize('u1'), undefined, 'a committed upload area is gone');
    });

    it('opens a committed blob for sending, whole and by range; a missing one opens as undefined', async () => {
      const store = await makeStore();
      const digest = digestOf('sent in full');
      await store.createUpload('s1');
      await store.appendUpload('s1', Readable.from([Buffer.from('sent in full')]));
      await store.commitUpload('s1', digest);
      const sent = async (range?: { start: number; end: number }) => {
        const chunks: Buffer[] = [];
        const destination = new Writable({
          write(chunk: Buffer, _encoding, callback) {
            chunks.push(Buffer.from(chunk));
            callback();
          },
        });
        const blob = await store.open(digest, range);
        assert.ok(blob, 'the committed blob opens');
        await blob.sendTo(destination);
        return Buffer.concat(chunks).toString();
      };
      assert.equal(await sent(), 'sent in full');
      assert.equal(await sent({ start: 5, end: 6 }), 'in');
      assert.equal(await store.open(digestOf('never stored')), undefined);
      const unsent = await store.open(digest);
      await unsent?.close();
    });

    it('reads back the bytes of an upload in progress', async () => {
      const store = await makeStore();
      await store.createUpload('u2');
      await store.appendUpload('u2', Readable.from([Buffer.from('partial')]));
      assert.equal((await buffer(store.readUpload('u2'))).toString(), 'partial');
    });

    it('keeps the bytes that arrived when an append fails midway', async () => {
      const store = await makeStore();
      await store.createUpload('u3');
      const failing = new Readable({
        read() {
          this.push(Buffer.from('abc'));
          this.destroy(new Error('connection reset'));
        },
      });
      await assert.rejects(store.appendUpload('u3', failing), /connection reset/);
      const size = await store.uploadSize('u3');
      assert.ok(size === 0 || size === 3, `size after a failed append is ${size}`);
    });

    it('committing the same content twice leaves one intact blob', async () => {
      const store = await makeStore();
      const digest = digestOf('same');
      for (const id of ['a', 'b']) {
        await store.createUpload(id);
        await store.appendUpload(id, Readable.from([Buffer.from('same')]));
        await store.commitUpload(id, digest);
      }
      assert.equal((await buffer(store.read(digest))).toString(), 'same');
    });

    it('deletes blobs and uploads, and deleting a missing one is not an error', async () => {
      const store = await makeStore();
      const digest = digestOf('gone');
      await store.createUpload('d1');
      await store.appendUpload('d1', Readable.from([Buffer.from('gone')]));
      await store.commitUpload('d1', digest);
      await store.delete(digest);
      assert.equal(await store.stat(digest), undefined);
      await store.delete(digest);
      await store.createUpload('d2');
      await store.deleteUpload('d2');
      assert.equal(await store.uploadSize('d2'), undefined);
      await store.deleteUpload('d2');
    });

    it('lists upload areas with their modification time', async () => {
      const store = await makeStore();
      const before = Date.now() - 1000;
      await store.createUpload('l1');
      const listed = await store.listUploads();
      const entry = listed.find((upload) => upload.id === 'l1');
      assert.ok(entry, 'the new upload is listed');
      assert.ok(entry.modifiedAt.getTime() >= before);
    });

    it('refuses to create an upload area that already exists', async () => {
      const store = await makeStore();
      await store.createUpload('dup');
      await assert.rejects(store.createUpload('dup'));
    });
  });
}
