import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.js';
import { generateToken, isWellFormedToken, tokenPrefix } from '../../src/auth/personal-access-token-format.js';
import { parseResourceScopes, parseTokenScopes } from '../../src/auth/scopes.js';

describe('personal access tokens, passwords, names, scopes', () => {
  it('tokens have the prefix, 36 base62 characters and a checksum that catches a changed character', () => {
    const token = generateToken();
    assert.ok(token.startsWith(tokenPrefix));
    assert.match(token, /^berth_pat_[0-9A-Za-z]{36}$/);
    assert.ok(isWellFormedToken(token));
    const i = tokenPrefix.length + 3;
    const changed = token.slice(0, i) + (token[i] === 'a' ? 'b' : 'a') + token.slice(i + 1);
    assert.ok(!isWellFormedToken(changed));
    assert.notEqual(generateToken(), token);
  });

  it('scrypt hashes verify the password and nothing else', async () => {
    const hash = await hashPassword('s3cret');
    assert.match(hash, /^scrypt\$16384\$8\$1\$/);
    assert.ok(await verifyPassword('s3cret', hash));
    assert.ok(!(await verifyPassword('s3cret ', hash)));
  });

  it('names follow GitHub rules', () => {
    for (const good of ['a', 'alice', 'Alice-Smith', 'a1-b2-c3', 'x'.repeat(39)]) assert.equal(parseAccountName(good), good);
    for (const bad of ['', '-a', 'a-', 'a--b', 'a_b', 'a.b', 'x'.repeat(40), 'é']) assert.throws(() => parseAccountName(bad), /invalid/);
  });

  it('parses token and resource scopes', () => {
    assert.deepEqual(parseTokenScopes('write:packages,read:packages'), ['read:packages', 'write:packages']);
    assert.throws(() => parseTokenScopes('repo'));
    assert.deepEqual(parseResourceScopes(['repository:a/b:pull repository:a/b:push', 'repository:localhost:5000/x:pull', 'garbage']), [
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'localhost:5000/x', actions: ['pull'] },
    ]);
  });
});
