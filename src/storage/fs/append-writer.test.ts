import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { AppendWriter } from './append-writer.js';
import { FlushBehind } from './flush-behind.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-append-writer-'));
after(() => rm(dir, { recursive: true, force: true }));

describe('AppendWriter', () => {
  it('appends every byte in order across batched writes and background flushes', async () => {
    const file = path.join(dir, 'many-pieces');
    await writeFile(file, 'head:');
    const pieces = Array.from({ length: 200 }, () => randomBytes(1000 + Math.floor(Math.random() * 9000)));
    // A tiny buffer and flush interval make the writer batch, flush and wait many times over.
    const flushBehind = new FlushBehind(file, { everyBytes: 64 * 1024 });
    await pipeline(Readable.from(pieces), new AppendWriter(file, { bufferBytes: 16 * 1024, flushBehind }));
    await flushBehind.settled();
    assert.deepEqual(await readFile(file), Buffer.concat([Buffer.from('head:'), ...pieces]));
  });

  it('is closed, with only whole prefixes of the stream on disk, once a failed source is reported', async () => {
    const file = path.join(dir, 'cut-off');
    await writeFile(file, '');
    const sent = [randomBytes(300_000), randomBytes(300_000)];
    let reads = 0;
    const source = new Readable({
      read() {
        const piece = sent[reads++];
        if (piece) this.push(piece);
        else this.destroy(new Error('connection reset'));
      },
    });
    const writer = new AppendWriter(file, { bufferBytes: 64 * 1024, flushBehind: new FlushBehind(file, { everyBytes: 128 * 1024 }) });
    await assert.rejects(pipeline(source, writer), /connection reset/);
    await writer.whenClosed();
    const size = (await stat(file)).size;
    assert.ok([0, 300_000, 600_000].includes(size), `size after the failure is ${size}`);
    assert.deepEqual(await readFile(file), Buffer.concat(sent).subarray(0, size));
  });

  it('fails when the file cannot be opened', async () => {
    const writer = new AppendWriter(path.join(dir, 'missing-dir', 'file'));
    await assert.rejects(pipeline(Readable.from([Buffer.from('x')]), writer), { code: 'ENOENT' });
  });
});
