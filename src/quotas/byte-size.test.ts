import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidByteSizeError, formatByteSize, parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it('reads bytes, decimal and binary units in any case', () => {
    assert.equal(parseByteSize('1234'), 1234);
    assert.equal(parseByteSize('10GiB'), 10 * 2 ** 30);
    assert.equal(parseByteSize('500mb'), 500_000_000);
    assert.equal(parseByteSize('1.5 KiB'), 1536);
    assert.equal(parseByteSize('0'), 0);
  });

  it('refuses negative numbers, unknown units and sizes past 2^53', () => {
    for (const text of ['-1', '10 parsecs', '', 'GiB', '9999999TiB']) assert.throws(() => parseByteSize(text), InvalidByteSizeError, text);
  });
});

describe('formatByteSize', () => {
  it('picks the largest binary unit', () => {
    assert.equal(formatByteSize(312), '312 B');
    assert.equal(formatByteSize(1536), '1.50 KiB');
    assert.equal(formatByteSize(10 * 2 ** 30), '10.0 GiB');
  });
});
