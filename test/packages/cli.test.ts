import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { parseTokenScopes } from '../../src/auth/scopes.js';
import { loadConfig } from '../../src/config.js';
import { createBerth } from '../../src/server.js';
import { basic } from '../auth/helpers.js';
import { runBerth } from '../support/berth-cli.js';
import { pushLabelledImage } from './helpers.js';

const berth = (args: string[], dir: string) => runBerth(args, { env: { BERTH_DATA_DIR: dir } });

describe('berth CLI: package and repo commands', () => {
  it('lists packages, changes visibility, grants and revokes roles, registers repositories and links them, while the server runs', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-pkg-cli-'));
    const server = await createBerth(loadConfig({ dataDir: dir, publicUrl: 'http://registry.test:5000' }, {}), {
      logger: false,
      auth: true,
      env: { BERTH_ADMIN_USERNAME: 'root', BERTH_ADMIN_PASSWORD: 'a-long-admin-password' },
    });
    t.after(async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    });
    const alice = await server.accounts.createUser(parseAccountName('alice'));
    await server.accounts.createUser(parseAccountName('bob'));
    await server.accounts.createOrg(parseAccountName('acme'), 'alice');
    await server.accounts.setOrgMember('acme', 'bob', 'member');
    await server.accounts.createTeam('acme', parseAccountName('devs'));
    const { token } = await server.accessTokens.create(alice.id, parseTokenScopes('read:packages,write:packages,delete:packages'));
    await pushLabelledImage(server, 'acme/app', basic('alice', token), { tag: 'v1' });

    const ok = async (args: string[]) => {
      const res = await berth(args, dir);
      assert.equal(res.code, 0, `berth ${args.join(' ')}: ${res.stderr}`);
      return res.stdout;
    };
    assert.equal(await ok(['package', 'list', 'acme']), 'acme/app\tprivate\tversions=1\tdownloads=0\tsource=-\n');
    await ok(['package', 'grant', 'acme/app', '--user', 'bob', '--role', 'write']);
    await ok(['package', 'grant', 'acme/app', '--team', 'devs', '--role', 'read']);
    assert.equal(await ok(['package', 'roles', 'acme/app']), 'user\talice\tadmin\nuser\tbob\twrite\nteam\tdevs\tread\n');
    await ok(['package', 'revoke', 'acme/app', '--user', 'bob']);
    const badRole = await berth(['package', 'grant', 'acme/app', '--user', 'bob', '--role', 'owner'], dir);
    assert.equal(badRole.code, 1);
    assert.match(badRole.stderr, /invalid role "owner"/);

    await ok(['repo', 'create', 'acme/app-src']);
    await ok(['repo', 'collaborator', 'add', 'acme/app-src', 'bob', '--role', 'write']);
    await ok(['repo', 'team', 'add', 'acme/app-src', 'devs', '--role', 'read']);
    assert.equal(await ok(['repo', 'show', 'acme/app-src']), 'user\tbob\twrite\nteam\tdevs\tread\n');
    await ok(['package', 'link', 'acme/app', 'acme/app-src', '--inherit']);
    await ok(['package', 'visibility', 'acme/app', 'public']);
    assert.equal(await ok(['package', 'list', 'acme']), 'acme/app\tpublic\tversions=1\tdownloads=0\tsource=acme/app-src (inherits access)\n');
    const back = await berth(['package', 'visibility', 'acme/app', 'private'], dir);
    assert.equal(back.code, 1);
    assert.match(back.stderr, /public package cannot be made private/);
    assert.match(await ok(['token', 'create', '--repo', 'acme/app-src', '--ttl', '1h']), /^berth_rpt_[\w-]{32}\n$/);
    assert.equal((await berth(['token', 'create', '--repo', 'acme/app-src', '--ttl', '2d'], dir)).code, 1);
    assert.equal(await ok(['package', 'org-settings', 'acme', '--members-can-create', 'off', '--visibilities', 'private,internal']), 'members-can-create=off\tvisibilities=private,internal\n');
  });
});
