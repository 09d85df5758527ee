import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { initialPasswordFile } from '../../src/accounts/first-admin.js';
import { loadConfig } from '../../src/config.js';
import { createBerth } from '../../src/server.js';
import { pushImage } from './helpers.js';

describe('the auth switch', () => {
  it('auth is on by default; BERTH_AUTH=off (or --auth off) turns it off', () => {
    assert.equal(loadConfig({}, {}).auth, true);
    assert.equal(loadConfig({}, { BERTH_AUTH: 'off' }).auth, false);
    assert.equal(loadConfig({ auth: 'off' }, { BERTH_AUTH: 'on' }).auth, false);
    assert.throws(() => loadConfig({}, { BERTH_AUTH: 'maybe' }), /auth/);
  });

  it('with auth off, anonymous push and pull work as before accounts, and /token does not exist', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-noauth-'));
    const printed: string[] = [];
    const berth = await createBerth(loadConfig({ dataDir: dir }, {}), { logger: false, auth: false, print: (text) => printed.push(text) });
    t.after(async () => {
      await berth.close();
      await rm(dir, { recursive: true, force: true });
    });
    const { manifestDigest } = await pushImage(berth, 'anyone/app', '');
    const res = await berth.app.inject({ method: 'GET', url: `/v2/anyone/app/manifests/${manifestDigest}` });
    assert.equal(res.statusCode, 200);
    assert.equal((await berth.app.inject({ method: 'GET', url: '/v2/' })).statusCode, 200);
    assert.equal((await berth.app.inject({ method: 'GET', url: '/token' })).statusCode, 404);
    assert.deepEqual(printed, [], 'no administrator is created while auth is off');
  });

  it('with auth on and no BERTH_ADMIN_* variables, the first start creates admin, writes its password to a file and says where once', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-admin-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const printed: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const berth = await createBerth(loadConfig({ dataDir: dir }, {}), { logger: false, env: {}, print: (text) => printed.push(text) });
      await berth.close();
    }
    const password = (await readFile(initialPasswordFile(dir), 'utf8')).trim();
    assert.match(password, /^\S{24}$/);
    assert.equal(printed.length, 1);
    assert.match(printed[0] ?? '', /administrator "admin"\. Its password is in\n\n {4}\S+initial-admin-password\n/);
    assert.ok(!(printed[0] ?? '').includes(password), 'the note does not carry the password');
  });
});
