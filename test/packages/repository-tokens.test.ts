import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { parseTokenScopes } from '../../src/auth/scopes.js';
import { type AuthApp, authApp, basic, berthCli, jwtPayload, mintRepositoryToken, registryToken, tryBerthCli } from '../auth/helpers.js';
import { pushLabelledImage } from './helpers.js';

/** An organization `acme` owned by boss, with the source repository `acme/widget`. */
async function orgWithRepository(t: Parameters<typeof authApp>[0]) {
  const app = await authApp(t);
  const boss = await app.user('boss');
  await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
  await app.berth.sourceRepositories.create('acme/widget');
  return { app, boss };
}

function pull(app: AuthApp, token: string) {
  return app.berth.app.inject({ method: 'GET', url: '/v2/acme/built/tags/list', headers: { authorization: basic('ci', token) } });
}

describe('repository tokens: the analogue of a workflow token', () => {
  it('creates packages in the owner namespace linked to the repository, pushes, pulls, deletes and restores them; anything else is DENIED naming the permission', async (t) => {
    const { app, boss } = await orgWithRepository(t);
    await pushLabelledImage(app.berth, 'acme/unlisted', basic('boss', boss.token), { tag: 'v1' });

    const { token } = await mintRepositoryToken(app, 'acme/widget', boss.token);
    assert.match(token, /^berth_rpt_/);
    const auth = basic('ci', token);

    const image = await pushLabelledImage(app.berth, 'acme/built', auth, { tag: 'v1' });
    const pkg = await app.berth.packages.require('acme/built');
    assert.equal(pkg.source?.name, 'widget');
    assert.equal(pkg.inheritAccess, true);
    assert.deepEqual(await app.berth.packages.roles(pkg), [], 'no user became admin');
    const pulled = await app.berth.app.inject({ method: 'GET', url: '/v2/acme/built/manifests/v1', headers: { authorization: auth } });
    assert.equal(pulled.statusCode, 200);

    // The organization's package list shows the token the packages its repository may read.
    const listed = await app.berth.app.inject({ method: 'GET', url: '/api/orgs/acme/packages?package_type=container', headers: { authorization: `Bearer ${token}` } });
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(listed.json().map((item: { name: string }) => item.name), ['built']);

    const base = '/api/orgs/acme/packages/container/built';
    const versions = await app.berth.app.inject({ method: 'GET', url: `${base}/versions`, headers: { authorization: `Bearer ${token}` } });
    assert.equal(versions.statusCode, 200);
    const id = versions.json()[0].id as number;
    assert.equal(versions.json()[0].name, image.digest);
    assert.equal((await app.berth.app.inject({ method: 'DELETE', url: `${base}/versions/${id}`, headers: { authorization: `Bearer ${token}` } })).statusCode, 204);
    assert.equal((await app.berth.app.inject({ method: 'POST', url: `${base}/versions/${id}/restore`, headers: { authorization: `Bearer ${token}` } })).statusCode, 204);

    const settings = await app.berth.app.inject({
      method: 'PATCH',
      url: base,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ visibility: 'public' }),
    });
    assert.equal(settings.statusCode, 403);
    assert.equal(settings.json().message, 'permission_denied: repository tokens cannot change package settings or access');

    const unlisted = await app.berth.app.inject({ method: 'POST', url: '/v2/acme/unlisted/blobs/uploads/', headers: { authorization: auth } });
    assert.equal(unlisted.statusCode, 403);
    assert.equal(unlisted.json().errors[0].code, 'DENIED');
    assert.equal(unlisted.json().errors[0].message, 'permission_denied: write_package');
    const elsewhere = await app.berth.app.inject({ method: 'POST', url: '/v2/boss/app/blobs/uploads/', headers: { authorization: auth } });
    assert.equal(elsewhere.statusCode, 403);
    assert.equal(elsewhere.json().errors[0].message, 'permission_denied: write_package');
    const del = await app.berth.app.inject({ method: 'DELETE', url: `/v2/acme/unlisted/manifests/v1`, headers: { authorization: auth } });
    assert.equal(del.json().errors[0].message, 'permission_denied: delete_package');
    assert.equal((await app.berth.app.inject({ method: 'HEAD', url: '/v2/acme/unlisted/manifests/v1', headers: { authorization: auth } })).statusCode, 404);

    // The Docker token flow with the repository token as the password.
    const issued = await registryToken(app, 'repository:acme/built:pull,push,delete repository:acme/unlisted:pull,push', auth);
    const claims = jwtPayload(issued);
    assert.equal(claims['sub'], 'repository:acme/widget');
    assert.deepEqual(claims.access.map((entry) => entry.actions), [['pull', 'push', 'delete'], []]);
    const viaBearer = await app.berth.app.inject({ method: 'POST', url: '/v2/acme/unlisted/blobs/uploads/', headers: { authorization: `Bearer ${issued}` } });
    assert.equal(viaBearer.statusCode, 403);
    assert.equal(viaBearer.json().errors[0].message, 'permission_denied: write_package');

    // Listed in another package's repository access list, the token may use that package too.
    const unlistedPkg = await app.berth.packages.require('acme/unlisted');
    const widget = await app.berth.sourceRepositories.require('acme/widget');
    await app.berth.sourceRepositories.setAccess(unlistedPkg.id, widget, 'write');
    assert.equal((await app.berth.app.inject({ method: 'POST', url: '/v2/acme/unlisted/blobs/uploads/', headers: { authorization: auth } })).statusCode, 202);
  });

  it('GET /v2/_catalog with a repository token lists the packages its repository may pull, by Basic and by a registry token; an anonymous catalog token lists nothing', async (t) => {
    const { app, boss } = await orgWithRepository(t);
    await pushLabelledImage(app.berth, 'acme/unlisted', basic('boss', boss.token), { tag: 'v1' });
    const { token } = await mintRepositoryToken(app, 'acme/widget', boss.token);
    await pushLabelledImage(app.berth, 'acme/built', basic('ci', token), { tag: 'v1' });
    const catalog = (authorization: string) => app.berth.app.inject({ method: 'GET', url: '/v2/_catalog', headers: { authorization } });

    const viaBasic = await catalog(basic('ci', token));
    assert.equal(viaBasic.statusCode, 200, viaBasic.body);
    assert.deepEqual(viaBasic.json().repositories, ['acme/built']);

    const issued = await registryToken(app, 'registry:catalog:*', basic('ci', token));
    assert.deepEqual(jwtPayload(issued).access, [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    const viaBearer = await catalog(`Bearer ${issued}`);
    assert.equal(viaBearer.statusCode, 200, viaBearer.body);
    assert.deepEqual(viaBearer.json().repositories, ['acme/built']);

    const anonymous = await registryToken(app, 'registry:catalog:*');
    const refused = await catalog(`Bearer ${anonymous}`);
    assert.equal(refused.statusCode, 401);
    assert.match(refused.headers['www-authenticate'] as string, /error="insufficient_scope"/);
  });

  it('an expired repository token is refused with 401', async (t) => {
    const app = await authApp(t);
    await app.user('boss');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
    const repo = await app.berth.sourceRepositories.create('acme/widget');
    const { token } = await app.berth.repositoryTokens.create(repo.id, 1000, new Date(Date.now() - 5000));
    const res = await app.berth.app.inject({ method: 'POST', url: '/v2/acme/app/blobs/uploads/', headers: { authorization: basic('ci', token) } });
    assert.equal(res.statusCode, 401);
  });

  it('a token minted with a read:packages,write:packages token pushes and pulls but may not delete: 403 on the API and on /v2, no delete in registry tokens', async (t) => {
    const { app } = await orgWithRepository(t);
    const writer = await app.user('boss', ['read:packages', 'write:packages']);
    const minted = await mintRepositoryToken(app, 'acme/widget', writer.token);
    const image = await pushLabelledImage(app.berth, 'acme/built', basic('ci', minted.token), { tag: 'v1' });
    assert.equal((await pull(app, minted.token)).statusCode, 200);

    const bearer = { authorization: `Bearer ${minted.token}` };
    const base = '/api/orgs/acme/packages/container/built';
    const versions = await app.berth.app.inject({ method: 'GET', url: `${base}/versions`, headers: bearer });
    assert.equal(versions.statusCode, 200);
    for (const url of [`${base}/versions/${versions.json()[0].id}`, base]) {
      const res = await app.berth.app.inject({ method: 'DELETE', url, headers: bearer });
      assert.equal(res.statusCode, 403, `DELETE ${url}`);
      assert.equal(res.json().message, 'permission_denied: the token lacks the delete:packages scope');
    }
    const del = await app.berth.app.inject({ method: 'DELETE', url: `/v2/acme/built/manifests/${image.digest}`, headers: { authorization: basic('ci', minted.token) } });
    assert.equal(del.statusCode, 403);
    assert.equal(del.json().errors[0].code, 'DENIED');
    const issued = await registryToken(app, 'repository:acme/built:pull,push,delete', basic('ci', minted.token));
    assert.deepEqual(jwtPayload(issued).access[0]?.actions, ['pull', 'push']);
    assert.equal((await app.berth.packages.require('acme/built')).versionCount, 1);
    assert.deepEqual(minted.scopes, ['read:packages', 'write:packages']);
  });

  it('revoking the personal access token that minted it ends a repository token: Basic, Bearer on the API and registry tokens issued before answer 401', async (t) => {
    const { app, boss } = await orgWithRepository(t);
    const { token: pat, info } = await app.berth.accessTokens.create(boss.id, parseTokenScopes('read:packages,write:packages,delete:packages'));
    const minted = await mintRepositoryToken(app, 'acme/widget', pat);
    await pushLabelledImage(app.berth, 'acme/built', basic('ci', minted.token), { tag: 'v1' });
    const issued = await registryToken(app, 'repository:acme/built:pull', basic('ci', minted.token));
    const viaRegistryToken = () => app.berth.app.inject({ method: 'GET', url: '/v2/acme/built/tags/list', headers: { authorization: `Bearer ${issued}` } });
    assert.equal((await viaRegistryToken()).statusCode, 200);

    const revoked = await app.berth.app.inject({ method: 'DELETE', url: `/api/user/tokens/${info.id}`, headers: { authorization: `Bearer ${boss.token}` } });
    assert.equal(revoked.statusCode, 204);
    assert.equal((await pull(app, minted.token)).statusCode, 401);
    assert.equal((await viaRegistryToken()).statusCode, 401);
    const api = await app.berth.app.inject({ method: 'GET', url: '/api/orgs/acme/packages/container/built', headers: { authorization: `Bearer ${minted.token}` } });
    assert.equal(api.statusCode, 401);
  });

  it('a repository token ends when its minter is no longer an admin of the repository: removed from the organization, made a read collaborator, deleted', async (t) => {
    const { app, boss } = await orgWithRepository(t);
    const alice = await app.user('alice');
    const carol = await app.user('carol');
    const dave = await app.user('dave');
    await app.berth.accounts.setOrgMember('acme', 'alice', 'owner');
    await app.berth.accounts.setOrgMember('acme', 'dave', 'owner');
    await app.berth.sourceRepositories.setCollaborator('acme/widget', 'user', 'carol', 'admin');
    const tokens = {
      boss: (await mintRepositoryToken(app, 'acme/widget', boss.token)).token,
      alice: (await mintRepositoryToken(app, 'acme/widget', alice.token)).token,
      carol: (await mintRepositoryToken(app, 'acme/widget', carol.token)).token,
      dave: (await mintRepositoryToken(app, 'acme/widget', dave.token)).token,
    };
    await pushLabelledImage(app.berth, 'acme/built', basic('ci', tokens.boss), { tag: 'v1' });
    for (const token of Object.values(tokens)) assert.equal((await pull(app, token)).statusCode, 200);

    await app.berth.accounts.removeOrgMember('acme', 'alice');
    await app.berth.sourceRepositories.setCollaborator('acme/widget', 'user', 'carol', 'read');
    await app.berth.accounts.deleteUser('dave');
    for (const name of ['alice', 'carol', 'dave'] as const) assert.equal((await pull(app, tokens[name])).statusCode, 401, name);
    assert.equal((await pull(app, tokens.boss)).statusCode, 200);
  });

  it('GET /api/repos/{owner}/{repo}/tokens lists tokens (never the secret), DELETE .../tokens/{id} revokes at once; the CLI lists and revokes too', async (t) => {
    const { app, boss } = await orgWithRepository(t);
    const mallory = await app.user('mallory');
    await app.berth.accounts.setOrgMember('acme', 'mallory', 'member');
    const first = await mintRepositoryToken(app, 'acme/widget', boss.token);
    const second = await mintRepositoryToken(app, 'acme/widget', boss.token);
    await pushLabelledImage(app.berth, 'acme/built', basic('ci', first.token), { tag: 'v1' });
    const list = (authorization: string) => app.berth.app.inject({ method: 'GET', url: '/api/repos/acme/widget/tokens', headers: { authorization } });
    const listed = await list(`Bearer ${boss.token}`);
    assert.equal(listed.statusCode, 200);
    assert.ok(!listed.body.includes(first.token) && !listed.body.includes(second.token));
    assert.deepEqual(
      listed.json().map((item: Record<string, unknown>) => [item['id'], item['hint'], item['scopes'], item['created_by']]),
      [first, second].map((m) => [m.id, m.token.slice(0, 14), ['read:packages', 'write:packages', 'delete:packages'], 'boss']),
    );
    assert.equal((await list(`Bearer ${mallory.token}`)).statusCode, 404);
    const revoke = (id: number, authorization: string) => app.berth.app.inject({ method: 'DELETE', url: `/api/repos/acme/widget/tokens/${id}`, headers: { authorization } });
    assert.equal((await revoke(first.id, `Bearer ${mallory.token}`)).statusCode, 404);
    assert.equal((await pull(app, first.token)).statusCode, 200);
    assert.equal((await revoke(first.id, `Bearer ${boss.token}`)).statusCode, 204);
    assert.equal((await pull(app, first.token)).statusCode, 401);
    assert.equal((await pull(app, second.token)).statusCode, 200);
    assert.equal((await revoke(first.id, `Bearer ${boss.token}`)).statusCode, 404);

    // An operator's token (no minting token) has every scope, and is listed and revoked by the CLI.
    const made = (await berthCli(app.dataDir, ['token', 'create', '--repo', 'acme/widget'])).stdout.trim();
    assert.deepEqual(jwtPayload(await registryToken(app, 'repository:acme/built:pull,push,delete', basic('ci', made))).access[0]?.actions, ['pull', 'push', 'delete']);
    const lines = (await berthCli(app.dataDir, ['token', 'list', '--repo', 'acme/widget'])).stdout.trim().split('\n').map((line) => line.split('\t'));
    assert.deepEqual(lines.map((cells) => [cells[1], cells[2], cells[3], cells[5]]), [
      [`${second.token.slice(0, 14)}…`, 'read:packages,write:packages,delete:packages', 'active', 'created-by=boss'],
      [`${made.slice(0, 14)}…`, 'all', 'active', 'created-by=-'],
    ]);
    await berthCli(app.dataDir, ['token', 'revoke', '--repo', 'acme/widget', lines[1]?.[0] ?? '']);
    assert.equal((await pull(app, made)).statusCode, 401);
  });

  it('POST /api/repos/{owner}/{repo}/tokens answers 422 for an expires_in of zero, over 24h or not a duration, and creates nothing', async (t) => {
    const { app, boss } = await orgWithRepository(t);
    for (const expiresIn of ['0s', '25h', '99999999999d', 'soon', 3600]) {
      const res = await app.berth.app.inject({
        method: 'POST',
        url: '/api/repos/acme/widget/tokens',
        headers: { authorization: `Bearer ${boss.token}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ expires_in: expiresIn }),
      });
      assert.equal(res.statusCode, 422, `${expiresIn}: ${res.body}`);
      assert.equal(res.json().message, 'expires_in must be a duration from 1s to 24h, like 1h');
    }
    const listed = await app.berth.app.inject({ method: 'GET', url: '/api/repos/acme/widget/tokens', headers: { authorization: `Bearer ${boss.token}` } });
    assert.deepEqual(listed.json(), []);
    const cli = await tryBerthCli(app.dataDir, ['token', 'create', '--repo', 'acme/widget', '--ttl', '0s']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /--ttl must be a duration from 1s to 24h/);
  });
});
