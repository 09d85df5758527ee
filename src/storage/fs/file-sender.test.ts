import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { FileSender } from './file-sender.js';
import { ReadBuffers } from './read-buffers.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-file-sender-'));
after(() => rm(dir, { recursive: true, force: true }));

/** Keeps a copy of every chunk, since the sender reuses its buffers once a write is done. */
class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  /** The memory each chunk was written from. */
  readonly writtenFrom = new Set<ArrayBufferLike>();
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    this.writtenFrom.add(chunk.buffer);
    setImmediate(callback);
  }
}

async function fileWith(name: string, content: Buffer): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

describe('FileSender', () => {
  it('sends a range spanning many reused buffers byte for byte, and closes the file', async () => {
    const content = randomBytes(100_000);
    const handle = await open(await fileWith('range', content), 'r');
    const sender = new FileSender(handle, 777, 98_765, new ReadBuffers(4096, 2));
    const out = new Collector();
    await sender.sendTo(out);
    assert.deepEqual(Buffer.concat(out.chunks), content.subarray(777, 98_766));
    assert.ok(out.chunks.length > 20, `sent in ${out.chunks.length} chunks`);
    await assert.rejects(handle.stat(), { code: 'EBADF' });
  });

  it('sends an empty file as no bytes', async () => {
    const handle = await open(await fileWith('empty', Buffer.alloc(0)), 'r');
    const out = new Collector();
    await new FileSender(handle, 0, -1).sendTo(out);
    assert.equal(Buffer.concat(out.chunks).length, 0);
  });

  it('fails, and closes the file, when the destination closes midway', async () => {
    const handle = await open(await fileWith('cut', randomBytes(64 * 1024)), 'r');
    let writes = 0;
    const writtenFrom = new Set<ArrayBufferLike>();
    const out = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        writtenFrom.add(chunk.buffer);
        if (++writes === 3) {
          this.destroy();
          return;
        }
        callback();
      },
    });
    const buffers = new ReadBuffers(1024, 2);
    await assert.rejects(new FileSender(handle, 0, 64 * 1024 - 1, buffers).sendTo(out), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    assert.equal(writes, 3);
    await assert.rejects(handle.stat(), { code: 'EBADF' });
    // The destroyed destination may still hold a write: its buffers are not reused.
    const taken = [buffers.take(), buffers.take()];
    assert.ok(taken.every((buffer) => !writtenFrom.has(buffer.buffer)), 'a buffer of the failed send was handed out again');
  });

  it('fails when the file is shorter than the range it was opened with', async () => {
    const handle = await open(await fileWith('short', Buffer.from('0123456789')), 'r');
    await assert.rejects(new FileSender(handle, 0, 19, new ReadBuffers(4, 2)).sendTo(new Collector()), /ended at byte 10/);
  });

  it('gives its buffers back once sent, and the next send reads into them', async () => {
    const content = randomBytes(10_000);
    const buffers = new ReadBuffers(4096, 2);
    const out = new Collector();
    await new FileSender(await open(await fileWith('first', content), 'r'), 0, content.length - 1, buffers).sendTo(out);
    assert.deepEqual(Buffer.concat(out.chunks), content);
    const again = [buffers.take(), buffers.take()];
    assert.ok(again.every((buffer) => out.writtenFrom.has(buffer.buffer)), 'the two buffers of the finished send');
  });

  it('sends a file smaller than a buffer from buffers of its own size, and gives none back', async () => {
    const content = randomBytes(100);
    const buffers = new ReadBuffers(4096, 2);
    const out = new Collector();
    await new FileSender(await open(await fileWith('small', content), 'r'), 0, 99, buffers).sendTo(out);
    assert.deepEqual(Buffer.concat(out.chunks), content);
    assert.ok(!out.writtenFrom.has(buffers.take().buffer));
  });
});
