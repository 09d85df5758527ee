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
    [`sha256:G${'a'.repeat(63)}`, 'the right length with a first character that is not hex'],
    [`sha256:A${'a'.repeat(63)}`, 'the right length with an uppercase first character'],
  ]) {
    it(`rejects ${why} with DIGEST_INVALID`, () => {
      assert.throws(
        () => parseDigest(value as string),
        (error: unknown) => error instanceof RegistryError && error.code === 'DIGEST_INVALID' && statusOf(error) === 400,
      );
    });
  }

  it('says what is wrong, and quotes at most 80 characters of what it was given', () => {
    const messageOf = (value: string) => {
      try {
        parseDigest(value);
      } catch (error) {
        return (error as Error).message;
      }
      return assert.fail(`${value} was accepted`);
    };
    assert.equal(messageOf('not a digest'), 'invalid digest "not a digest"');
    assert.equal(messageOf('sha256:abc'), 'invalid sha256 digest "sha256:abc"');
    assert.equal(messageOf(`md5:${'a'.repeat(32)}`), 'unsupported digest algorithm "md5": use sha256 or sha512');
    const eighty = `x${'y'.repeat(79)}`;
    assert.equal(messageOf(eighty), `invalid digest "${eighty}"`);
    assert.equal(messageOf(`${eighty}z`.repeat(100)), `invalid digest "${eighty}..."`);
  });
});
