import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiTokenSchemes, bearerToken, parseBasic } from './credentials.js';

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

describe('bearerToken with the /api schemes', () => {
  it('takes GitHub\'s token scheme as well as Bearer', () => {
    assert.equal(bearerToken('token abc', apiTokenSchemes), 'abc');
    assert.equal(bearerToken('Token\tabc ', apiTokenSchemes), 'abc');
    assert.equal(bearerToken('Bearer abc', apiTokenSchemes), 'abc');
    assert.equal(bearerToken('token abc'), undefined, '/v2 takes Bearer only');
    for (const header of ['token', 'token ', 'tokens abc', 'token a b', 'Basic abc']) assert.equal(bearerToken(header, apiTokenSchemes), undefined, header);
  });
});

describe('parseBasic', () => {
  const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

  it('splits user name and secret at the first colon', () => {
    assert.deepEqual(parseBasic(basic('alice:berth_pat_x')), { username: 'alice', password: 'berth_pat_x' });
    assert.deepEqual(parseBasic(basic('alice:pass:with:colons')), { username: 'alice', password: 'pass:with:colons' });
    assert.deepEqual(parseBasic(`basic   ${Buffer.from('a:b').toString('base64')}  `), { username: 'a', password: 'b' });
    assert.deepEqual(parseBasic(basic(':')), { username: '', password: '' });
  });

  it('refuses other schemes, values that are not base64, and a decoded value without a colon', () => {
    for (const header of [undefined, '', 'Basic', 'Basic ', 'Bearer abc', 'Basic a b', 'Basic !!!', basic('no-colon')]) {
      assert.equal(parseBasic(header), undefined, String(header));
    }
  });

  it('takes the credentials only as the whole header: nothing before the scheme or after the value', () => {
    const credentials = basic('alice:secret');
    for (const header of [`x${credentials}`, `Bearer ${credentials}`, `${credentials} trailing`, `${credentials},Basic ${Buffer.from('b:c').toString('base64')}`]) {
      assert.equal(parseBasic(header), undefined, header);
    }
  });
});
