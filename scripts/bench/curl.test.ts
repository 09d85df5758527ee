import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCurl } from './curl.js';

describe('parseCurl', () => {
  it('reads the status, the bytes downloaded and the transfer time', () => {
    assert.deepEqual(parseCurl('200 268435456 0.104512\n'), { status: 200, bytes: 268435456, seconds: 0.104512 });
  });

  it('fails on a report it cannot read', () => {
    assert.throws(() => parseCurl(''), /unreadable/);
    assert.throws(() => parseCurl('000 0 0.000000'), /unreadable/);
  });
});
