import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { initialPasswordFile } from '../../src/accounts/first-admin.js';
import { basic } from '../auth/helpers.js';
import { startBerth } from '../support/registry-process.js';

describe('the first administrator', () => {
  it('a first start writes the generated password to a 0600 file, says where on stderr, and prints the password nowhere', async (t) => {
    const env = { BERTH_ADMIN_USERNAME: '', BERTH_ADMIN_PASSWORD: '' };
    const registry = await startBerth({ firstStart: true, env });
    t.after(() => registry.close());
    const file = initialPasswordFile(registry.dataDir);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const password = (await readFile(file, 'utf8')).trim();
    assert.ok(password.length >= 16, 'a generated password');
    assert.ok(registry.logs().includes(file), 'the output names the file');
    assert.ok(!registry.logs().includes(password), 'the output does not carry the password');

    // The account API takes the password (registry clients need a token made with it).
    const res = await fetch(`${registry.url}/api/user`, { headers: { authorization: basic('admin', password) } });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { login?: unknown }).login, 'admin');
  });
});
