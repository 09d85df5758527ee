import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseContentRange, parseRangeHeader } from './range.js';

describe('parseRangeHeader', () => {
  it('reads first-last, open-ended and suffix ranges, clamped to the size', () => {
    assert.deepEqual(parseRangeHeader('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRangeHeader('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=-10', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=-500', 100), { start: 0, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=50-1000', 100), { start: 50, end: 99 });
  });

  it('answers unsatisfiable past the end and for empty suffixes', () => {
    assert.equal(parseRangeHeader('bytes=100-', 100), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=100-200', 100), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=-0', 100), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=0-0', 0), 'unsatisfiable');
  });

  it('serves the whole resource for no header, other units, multiple ranges and invalid ranges (RFC 9110 14.2)', () => {
    assert.equal(parseRangeHeader(undefined, 100), undefined);
    assert.equal(parseRangeHeader('items=0-1', 100), undefined);
    assert.equal(parseRangeHeader('bytes=0-1,5-6', 100), undefined);
    for (const invalid of ['bytes=abc', 'bytes=5-3', 'bytes=9-3', 'bytes=-', 'bytes=1-x', 'bytes=', 'bytes=--5']) {
      assert.equal(parseRangeHeader(invalid, 100), undefined, invalid);
    }
  });
});

describe('parseContentRange', () => {
  it('reads the OCI form and tolerates the RFC unit and total', () => {
    assert.deepEqual(parseContentRange('0-21'), { start: 0, end: 21 });
    assert.deepEqual(parseContentRange('bytes 22-41/42'), { start: 22, end: 41 });
    assert.equal(parseContentRange(undefined), undefined);
  });

  it('rejects malformed and inverted ranges', () => {
    assert.equal(parseContentRange('abc'), 'invalid');
    assert.equal(parseContentRange('5-2'), 'invalid');
    assert.equal(parseContentRange('-5'), 'invalid');
  });
});
