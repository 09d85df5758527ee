import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { authApp, basic } from '../auth/helpers.js';
import { apiRequest } from '../support/api-request.js';
import { pushIndex, pushLabelledImage } from './helpers.js';

type App = Awaited<ReturnType<typeof authApp>>;

async function world(t: Parameters<typeof authApp>[0]) {
  const app = await authApp(t);
  const boss = await app.user('boss');
  const dev = await app.user('dev');
  const carol = await app.user('carol');
  await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
  await app.berth.accounts.setOrgMember('acme', 'dev', 'member');
  await app.berth.accounts.createTeam('acme', parseAccountName('devs'));
  await app.berth.accounts.addTeamMember('acme', 'devs', 'dev');
  const repos = app.berth.sourceRepositories;
  await repos.create('acme/widget');
  await repos.setCollaborator('acme/widget', 'team', 'devs', 'write');
  await repos.setCollaborator('acme/widget', 'user', 'carol', 'read');
  return { app, boss, dev, carol };
}

const pull = (app: App, repo: string, authorization: string) =>
  app.berth.app.inject({ method: 'GET', url: `/v2/${repo}/manifests/v1`, headers: { authorization } });

describe('source repositories: linking by org.opencontainers.image.source and inherited access', () => {
  it('the first push with a source label naming a known repository links the package and inherits its access', async (t) => {
    const { app, boss, dev, carol } = await world(t);
    await pushLabelledImage(app.berth, 'acme/widget', basic('boss', boss.token), {
      tag: 'v1',
      labels: { 'org.opencontainers.image.source': 'https://github.com/acme/widget.git/' },
    });
    const pkg = await app.berth.packages.require('acme/widget');
    assert.equal(pkg.source?.name, 'widget');
    assert.equal(pkg.inheritAccess, true);
    assert.equal(pkg.visibility, 'private', 'access is inherited, visibility is not');
    assert.equal((await pull(app, 'acme/widget', basic('carol', carol.token))).statusCode, 200, 'a read collaborator of the repository pulls');
    const push = await app.berth.app.inject({ method: 'POST', url: '/v2/acme/widget/blobs/uploads/', headers: { authorization: basic('dev', dev.token) } });
    assert.equal(push.statusCode, 202, 'a team with write on the repository pushes');
    const carolPush = await app.berth.app.inject({ method: 'POST', url: '/v2/acme/widget/blobs/uploads/', headers: { authorization: basic('carol', carol.token) } });
    assert.equal(carolPush.statusCode, 403);
    assert.equal(carolPush.json().errors[0].message, 'permission_denied: write_package');

    const json = (await app.berth.app.inject({ method: 'GET', url: '/api/orgs/acme/packages/container/widget', headers: { authorization: `Bearer ${boss.token}` } })).json();
    assert.deepEqual(
      { id: json.repository.id, name: json.repository.name, full_name: json.repository.full_name, login: json.repository.owner.login },
      { id: pkg.source?.id, name: 'widget', full_name: 'acme/widget', login: 'acme' },
    );
    const access = await app.berth.app.inject({ method: 'GET', url: '/api/orgs/acme/packages/container/widget/repository-access', headers: { authorization: `Bearer ${boss.token}` } });
    assert.deepEqual(access.json(), [{ repository: 'acme/widget', role: 'admin' }], 'the linked repository is added to the access list');
  });

  it('an index annotation links too; a repository of another owner or an unknown one does not', async (t) => {
    const { app, boss } = await world(t);
    const auth = basic('boss', boss.token);
    const image = await pushLabelledImage(app.berth, 'acme/multi', auth, {});
    await pushIndex(app.berth, 'acme/multi', auth, [{ image, platform: { os: 'linux', architecture: 'amd64' } }], {
      tag: 'v1',
      annotations: { 'org.opencontainers.image.source': 'https://github.com/acme/widget' },
    });
    assert.equal((await app.berth.packages.require('acme/multi')).source?.name, 'widget');
    await pushLabelledImage(app.berth, 'acme/other', auth, { tag: 'v1', labels: { 'org.opencontainers.image.source': 'https://github.com/someone/widget' } });
    assert.equal((await app.berth.packages.require('acme/other')).source, undefined);
    await pushLabelledImage(app.berth, 'acme/third', auth, { tag: 'v1', labels: { 'org.opencontainers.image.source': 'https://github.com/acme/unknown' } });
    assert.equal((await app.berth.packages.require('acme/third')).source, undefined);
  });

  it('a source with a malformed percent-escape is ignored: the manifest PUT answers 201 and the package is unlinked', async (t) => {
    const { app, boss } = await world(t);
    const auth = basic('boss', boss.token);
    for (const [repo, source] of [
      ['acme/escaped', 'https://h/o/%E0%A4%A'],
      ['acme/escaped-owner', 'https://github.com/acme/widget%E0%A4%A'],
    ]) {
      // Both as a manifest annotation and as a config label; pushLabelledImage checks the 201.
      await pushLabelledImage(app.berth, repo as string, auth, { tag: 'v1', annotations: { 'org.opencontainers.image.source': source as string } });
      await pushLabelledImage(app.berth, repo as string, auth, { tag: 'v2', seed: 'label', labels: { 'org.opencontainers.image.source': source as string } });
      const pkg = await app.berth.packages.require(repo as string);
      assert.equal(pkg.source, undefined);
      assert.equal((await pull(app, repo as string, auth)).statusCode, 200);
    }
  });

  it('linking after the first publish keeps the access as it was until inheritance is turned on (PATCH inherit_access)', async (t) => {
    const { app, boss, carol } = await world(t);
    const auth = basic('boss', boss.token);
    await pushLabelledImage(app.berth, 'acme/late', auth, { tag: 'v1' });
    await pushLabelledImage(app.berth, 'acme/late', auth, { tag: 'v1', seed: 'two', labels: { 'org.opencontainers.image.source': 'https://github.com/acme/widget' } });
    const pkg = await app.berth.packages.require('acme/late');
    assert.equal(pkg.source?.name, 'widget');
    assert.equal(pkg.inheritAccess, false);
    assert.equal((await pull(app, 'acme/late', basic('carol', carol.token))).statusCode, 404);
    const patched = await app.berth.app.inject({
      method: 'PATCH',
      url: '/api/orgs/acme/packages/container/late',
      headers: { authorization: `Bearer ${boss.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ inherit_access: true }),
    });
    assert.equal(patched.statusCode, 200);
    assert.equal((await pull(app, 'acme/late', basic('carol', carol.token))).statusCode, 200);
    const unlinked = await app.berth.app.inject({ method: 'DELETE', url: '/api/orgs/acme/packages/container/late/repository', headers: { authorization: `Bearer ${boss.token}` } });
    assert.equal(unlinked.statusCode, 204);
    assert.equal((await pull(app, 'acme/late', basic('carol', carol.token))).statusCode, 404);
  });

  it('the repository API creates repositories and sets collaborators and teams', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    const call = (method: 'POST' | 'PUT' | 'GET', url: string, token: string, payload?: object) => apiRequest(app, method, url, token, payload);
    const created = await call('POST', '/api/user/repos', alice.token, { name: 'tool' });
    assert.equal(created.statusCode, 201);
    assert.equal(created.json().full_name, 'alice/tool');
    assert.equal((await call('PUT', '/api/repos/alice/tool/collaborators/bob', bob.token, { permission: 'admin' })).statusCode, 404);
    assert.equal((await call('PUT', '/api/repos/alice/tool/collaborators/bob', alice.token, { permission: 'write' })).statusCode, 204);
    assert.deepEqual((await call('GET', '/api/repos/alice/tool', bob.token)).json().collaborators, [{ kind: 'user', name: 'bob', role: 'write' }]);
  });
});
