import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectEveryBytes, YoungCollections } from './young-collections.js';

describe('YoungCollections', () => {
  it('collects the young generation once every collectEveryBytes, counted across calls', () => {
    const calls: unknown[] = [];
    const collections = new YoungCollections((options) => calls.push(options));
    const chunk = 64 * 1024;
    const chunksPerCollection = collectEveryBytes / chunk;
    for (let i = 0; i < chunksPerCollection - 1; i++) collections.passed(chunk);
    assert.equal(calls.length, 0);
    collections.passed(chunk);
    assert.deepEqual(calls, [{ type: 'minor' }]);
    for (let i = 0; i < 2 * chunksPerCollection; i++) collections.passed(chunk);
    assert.equal(calls.length, 3);
  });

  it('does nothing without a collector (Node run without --expose-gc)', () => {
    const collections = new YoungCollections(undefined);
    assert.doesNotThrow(() => collections.passed(10 * collectEveryBytes));
  });
});
