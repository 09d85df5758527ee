import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { WriteBackError } from './write-back-error.js';
import { AppendWriter } from './append-writer.js';
import { FlushBehind } from './flush-behind.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-flush-behind-'));
after(() => rm(dir, { recursive: true, force: true }));

const eio = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));

describe('FlushBehind', () => {
  it('flushes once enough bytes are unflushed, one flush at a time', async () => {
    const flushed: string[] = [];
    let release: () => void = () => undefined;
    const sync = (file: string) => {
      flushed.push(file);
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    };
    const flushBehind = new FlushBehind('the-file', { everyBytes: 100, sync });
    flushBehind.wrote(60);
    assert.equal(flushed.length, 0);
    flushBehind.wrote(60);
    assert.deepEqual(flushed, ['the-file']);
    // Another 100 bytes while the first flush runs start no second one.
    flushBehind.wrote(100);
    assert.equal(flushed.length, 1);
    const settled = flushBehind.settled();
    release();
    await settled;
    flushBehind.wrote(100);
    assert.equal(flushed.length, 2);
    release();
    await flushBehind.settled();
  });

  it('keeps the first failure: onFailure runs once, settled() rejects with it, the writer of the next chunk fails', async () => {
    const file = path.join(dir, 'failing');
    await writeFile(file, '');
    const failures: WriteBackError[] = [];
    const onFailure = async (error: WriteBackError) => {
      failures.push(error);
    };
    const flushBehind = new FlushBehind(file, { everyBytes: 1024, sync: eio, onFailure });
    flushBehind.wrote(2048);
    await assert.rejects(flushBehind.settled(), WriteBackError);
    // The first failure was handed over before settled() reported it, and only once.
    assert.ok(flushBehind.error instanceof WriteBackError);
    assert.deepEqual(failures, [flushBehind.error]);
    flushBehind.wrote(2048);
    await assert.rejects(flushBehind.settled(), WriteBackError);
    assert.equal(failures.length, 1);
    // Later flushes may succeed; the error stays, as the kernel would not report it again.
    await assert.rejects(flushBehind.settled(), WriteBackError);
    const writer = new AppendWriter(file, { flushBehind });
    await assert.rejects(pipeline(Readable.from([randomBytes(10)]), writer), WriteBackError);
  });

  it('reports a failure that happens during a stream to that stream', async () => {
    const file = path.join(dir, 'failing-midway');
    await writeFile(file, '');
    const flushBehind = new FlushBehind(file, { everyBytes: 64 * 1024, sync: eio });
    const pieces = Array.from({ length: 50 }, () => randomBytes(16 * 1024));
    await assert.rejects(pipeline(Readable.from(pieces), new AppendWriter(file, { bufferBytes: 16 * 1024, flushBehind })), WriteBackError);
  });

  it('flushes a real file', async () => {
    const file = path.join(dir, 'real');
    await writeFile(file, randomBytes(4096));
    const flushBehind = new FlushBehind(file, { everyBytes: 1024 });
    flushBehind.wrote(4096);
    await flushBehind.settled();
    assert.equal(flushBehind.error, undefined);
  });
});
