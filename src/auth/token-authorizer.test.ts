import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerToken } from './token-authorizer.js';

describe('bearerToken', () => {
  it('takes the token after the scheme in any case and any whitespace', () => {
    assert.equal(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi');
    assert.equal(bearerToken('bearer\tabc'), 'abc');
    assert.equal(bearerToken('BEARER   abc  '), 'abc');
    assert.equal(bearerToken('Bearer x'), 'x');
  });

  it('refuses other schemes, a missing token and a token with whitespace inside', () => {
    for (const header of ['Basic YWxpY2U6cGF0', 'Bearer', 'Bearer ', 'Bearerabc', 'Bearer abc def', 'Bearer abc\tdef', 'Bearer\u00a0abc', 'Token abc', 'Bearex abc', 'Bearer  ', 'Bearer \t ']) {
      assert.equal(bearerToken(header), undefined, header);
    }
  });
});
