import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isWellFormedToken } from '../../src/auth/personal-access-token-format.js';
import { runBerth } from '../support/berth-cli.js';

const berth = (args: string[], env: NodeJS.ProcessEnv, input?: string) => runBerth(args, { env, input });

describe('berth CLI: users, organizations, teams, tokens', () => {
  it('manages accounts and tokens in the data dir given by BERTH_DATA_DIR', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-cli-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const env = { BERTH_DATA_DIR: dir };
    const ok = async (args: string[], input?: string) => {
      const res = await berth(args, env, input);
      assert.equal(res.code, 0, `berth ${args.join(' ')}: ${res.stderr}`);
      return res.stdout;
    };
    assert.equal(await ok(['user', 'create', 'Alice', '--admin', '--password-stdin'], 'a-long-password\n'), '');
    assert.match(await ok(['user', 'create', 'bob']), /^\S{24}\n$/); // the generated password
    assert.equal(await ok(['user', 'list']), 'Alice\tadmin\nbob\n');

    const taken = await berth(['user', 'create', 'ALICE'], env);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /already taken/);
    const invalid = await berth(['user', 'create', 'no--way'], env);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /invalid user name/);

    await ok(['org', 'create', 'acme', '--owner', 'alice']);
    assert.equal((await berth(['org', 'create', 'bob', '--owner', 'alice'], env)).code, 1, 'orgs share the namespace of users');
    await ok(['org', 'member', 'add', 'acme', 'bob']);
    await ok(['team', 'create', 'acme', 'devs']);
    await ok(['team', 'add', 'acme', 'devs', 'bob']);
    assert.equal(await ok(['team', 'list', 'acme', 'devs']), 'bob\n');
    assert.equal(await ok(['org', 'member', 'list', 'acme']), 'Alice\towner\nbob\tmember\n');
    await ok(['org', 'member', 'remove', 'acme', 'bob']);
    assert.equal(await ok(['team', 'list', 'acme', 'devs']), '', 'leaving the org leaves its teams');
    const lastOwner = await berth(['org', 'member', 'remove', 'acme', 'alice'], env);
    assert.equal(lastOwner.code, 1);

    const out = await ok(['token', 'create', '--user', 'bob', '--scopes', 'read:packages,write:packages', '--expires', '30d', '--note', 'ci']);
    assert.ok(isWellFormedToken(out.trim()), 'prints only the token');
    assert.equal(out.split('\n').length, 2);
    const list = await ok(['token', 'list', '--user', 'bob']);
    assert.match(list, /^1\tberth_pat_\w{4}…\tread:packages,write:packages\tactive\texpires=\S+\tlast-used=never\tci\n$/);
    assert.ok(!list.includes(out.trim()));
    await ok(['token', 'revoke', '1', '--user', 'bob']);
    assert.match(await ok(['token', 'list', '--user', 'bob']), /\trevoked\t/);
    assert.equal((await berth(['token', 'create', '--user', 'bob', '--scopes', 'admin'], env)).code, 1);

    await ok(['user', 'delete', 'bob']);
    assert.equal(await ok(['user', 'list']), 'Alice\tadmin\n');
  });

  it('token create refuses an --expires of zero or over a year, and creates nothing', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-cli-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const env = { BERTH_DATA_DIR: dir };
    assert.equal((await berth(['user', 'create', 'bob'], env)).code, 0);
    for (const expires of ['0s', '366d', '99999999999d']) {
      const res = await berth(['token', 'create', '--user', 'bob', '--scopes', 'read:packages', '--expires', expires], env);
      assert.equal(res.code, 1, `--expires ${expires}: ${res.stdout}`);
      assert.match(res.stderr, /--expires must be /);
      assert.equal(res.stdout, '');
    }
    assert.equal((await berth(['token', 'list', '--user', 'bob'], env)).stdout, '');
  });
});
