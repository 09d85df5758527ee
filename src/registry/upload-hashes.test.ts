import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { FsBlobStore } from '../storage/fs/fs-blob-store.js';
import { UploadHashes } from './upload-hashes.js';

/** A filesystem store that counts how often an upload is read back, which the memo exists to avoid. */
class CountingStore extends FsBlobStore {
  rereads = 0;

  override readUpload(id: string): Promise<Readable> {
    this.rereads += 1;
    return super.readUpload(id);
  }
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('UploadHashes', () => {
  let root: string;
  let store: CountingStore;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'berth-upload-hashes-'));
    store = new CountingStore(root);
    await store.init();
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function uploadOf(id: string, bytes: Buffer): Promise<void> {
    await store.createUpload(id);
    await store.appendUpload(id, 0, Readable.from([bytes]));
  }

  it('hands back the state it was advanced to, without reading the upload again', async () => {
    const first = Buffer.from('first chunk');
    const second = Buffer.from('second chunk');
    await uploadOf('memo', first);
    const hashes = new UploadHashes(store);

    const hash = await hashes.at('memo', first.length);
    const readsAfterRebuild = store.rereads;
    hash.update(second);
    await store.appendUpload('memo', first.length, Readable.from([second]));
    hashes.advance('memo', hash, first.length + second.length);

    const next = await hashes.at('memo', first.length + second.length);
    assert.equal(store.rereads, readsAfterRebuild, 'a state at the right offset is not rebuilt');
    assert.equal(next, hash);
    assert.equal(next.copy().digest('hex'), sha256(Buffer.concat([first, second])));
  });

  it('rebuilds the state from the upload when asked at another offset', async () => {
    const bytes = Buffer.from('bytes the memo did not see');
    await uploadOf('behind', bytes);
    const hashes = new UploadHashes(store);
    const stale = await hashes.at('behind', bytes.length);
    hashes.advance('behind', stale, 3);

    const readsBefore = store.rereads;
    const rebuilt = await hashes.at('behind', bytes.length);
    assert.equal(store.rereads, readsBefore + 1);
    assert.notEqual(rebuilt, stale);
    assert.equal(rebuilt.copy().digest('hex'), sha256(bytes));
  });

  it('remembers a rebuilt state at the offset it was asked for', async () => {
    const bytes = Buffer.from('rebuilt once');
    await uploadOf('remembered', bytes);
    const hashes = new UploadHashes(store);
    const rebuilt = await hashes.at('remembered', bytes.length);
    const readsBefore = store.rereads;
    assert.equal(await hashes.at('remembered', bytes.length), rebuilt);
    assert.equal(store.rereads, readsBefore);
  });

  it('forgets a state, so the next chunk rebuilds it from the upload', async () => {
    const bytes = Buffer.from('forgotten');
    await uploadOf('forgotten', bytes);
    const hashes = new UploadHashes(store);
    const state = await hashes.at('forgotten', bytes.length);
    hashes.forget('forgotten');
    const readsBefore = store.rereads;
    assert.notEqual(await hashes.at('forgotten', bytes.length), state);
    assert.equal(store.rereads, readsBefore + 1);
  });

  it('rebuilds a sha512 state from the whole upload', async () => {
    const bytes = Buffer.from('hashed with sha512');
    await uploadOf('long-hash', bytes);
    const hash = await new UploadHashes(store).rebuild('long-hash', 'sha512');
    assert.equal(hash.digest('hex'), createHash('sha512').update(bytes).digest('hex'));
  });
});
