import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusOf } from '../http/registry-status.js';
import { RegistryError } from './errors.js';
import { digestOf, parseDigest } from './digest.js';

describe('parseDigest', () => {
  it('accepts sha256 and sha512 digests of the right length', () => {
    const sha256 = digestOf('x');
    const sha512 = digestOf('x', 'sha512');
    assert.equal(parseDigest(sha256), sha256);
    assert.equal(parseDigest(sha512), sha512);
    assert.equal(sha512.length, 'sha512:'.length + 128);
  });

  for (const [value, why] of [
    ['sha256:abc', 'too short'],
    [`sha256:${'A'.repeat(64)}`, 'uppercase hex'],
    [`md5:${'a'.repeat(32)}`, 'unsupported algorithm'],
    [`sha256:${'a'.repeat(63)}/`, 'path characters'],
    ['../../etc/passwd', 'not a digest at all'],
    ['sha256:totallywrong', 'not hex'],
    [`sha256:${'a'.repeat(64)}:../../etc/passwd`, 'a valid digest followed by another colon and a path'],
    [`sha256:${'a'.repeat(64)}:`, 'a trailing colon'],
    [`sha256:${'a'.repeat(63)}Z`, 'the right length with a last character that is not hex'],
  ]) {
    it(`rejects ${why} with DIGEST_INVALID`, () => {
      assert.throws(
        () => parseDigest(value as string),
        (error: unknown) => error instanceof RegistryError && error.code === 'DIGEST_INVALID' && statusOf(error) === 400,
      );
    });
  }
});
