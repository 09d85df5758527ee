import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadBuffers } from './read-buffers.js';

describe('ReadBuffers', () => {
  it('hands out buffers given back before allocating new ones, and keeps only keepIdle of them', () => {
    const buffers = new ReadBuffers(16, 2);
    const taken = [buffers.take(), buffers.take(), buffers.take()];
    assert.ok(taken.every((buffer) => buffer.length === 16));
    assert.equal(new Set(taken).size, 3);
    for (const buffer of taken) buffers.giveBack(buffer);
    const again = [buffers.take(), buffers.take(), buffers.take()];
    assert.deepEqual(
      again.map((buffer) => taken.indexOf(buffer)),
      [1, 0, -1],
      'the two kept, the last given back first; then a new one',
    );
  });

  it('does not keep a buffer of another size', () => {
    const buffers = new ReadBuffers(16, 2);
    const other = Buffer.alloc(8);
    buffers.giveBack(other);
    assert.notEqual(buffers.take(), other);
  });
});
