import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateToken, hashToken, hashesEqual, isWellFormedToken, tokenHint, tokenPrefix } from './personal-access-token-format.js';

/** The same token with the character at `index` replaced by another of the alphabet. */
function withCharacterChanged(token: string, index: number): string {
  const replacement = token[index] === 'a' ? 'b' : 'a';
  return token.slice(0, index) + replacement + token.slice(index + 1);
}

describe('personal access token format', () => {
  it('generates tokens of the prefix, 30 random and 6 checksum base62 characters, each different', () => {
    const tokens = Array.from({ length: 50 }, generateToken);
    for (const token of tokens) {
      assert.match(token, /^berth_pat_[0-9A-Za-z]{36}$/);
      assert.equal(isWellFormedToken(token), true, token);
    }
    assert.equal(new Set(tokens).size, tokens.length);
    const randomParts = tokens.map((token) => token.slice(tokenPrefix.length, -6)).join('');
    assert.ok(new Set(randomParts).size > 40, 'the random part draws on the whole alphabet');
  });

  it('refuses a token with any one character changed, by its shape or its checksum', () => {
    const token = generateToken();
    for (let index = tokenPrefix.length; index < token.length; index += 1) {
      assert.equal(isWellFormedToken(withCharacterChanged(token, index)), false, `character ${index}`);
    }
  });

  it('accepts a token made elsewhere by the same rules: the checksum is CRC32 in base62, most significant first', () => {
    assert.equal(isWellFormedToken('berth_pat_0123456789abcdefghijABCDEFGHIJ3b9MiW'), true);
  });

  it('refuses a text whose checksum is right but whose shape is not a token\'s', () => {
    // 'short' followed by the checksum of 'short'.
    assert.equal(isWellFormedToken('short2cXhzO'), false);
  });

  it('refuses texts that are not of the token\'s shape', () => {
    const token = generateToken();
    for (const text of ['', tokenPrefix, token.slice(0, -1), `${token}a`, ` ${token}`, `${token}\n`, token.replace('berth_pat_', 'berth_pak_'), token.toUpperCase(), `${token.slice(0, -7)}-${token.slice(-6)}`]) {
      assert.equal(isWellFormedToken(text), false, JSON.stringify(text));
    }
  });

  it('stores the sha256 of the token and compares stored hashes exactly', () => {
    const token = generateToken();
    const stored = hashToken(token);
    assert.equal(stored, createHash('sha256').update(token).digest('hex'));
    assert.equal(hashesEqual(stored, hashToken(token)), true);
    assert.equal(hashesEqual(stored, hashToken(generateToken())), false);
    assert.equal(hashesEqual(stored, stored.slice(0, -2)), false);
    assert.equal(hashesEqual(stored, ''), false);
  });

  it('shows the prefix and four characters as the hint', () => {
    const token = generateToken();
    assert.equal(tokenHint(token), token.slice(0, 14));
    assert.ok(tokenHint(token).startsWith(tokenPrefix));
  });
});
