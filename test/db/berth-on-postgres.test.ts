import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { openPostgres } from '../../src/db/postgres/engine.js';
import { type AuthApp, authApp, basic } from '../auth/helpers.js';
import { pushLabelledImage } from '../packages/helpers.js';
import { apiRequest } from '../support/api-request.js';
import { newDatabase } from '../support/postgres-process.js';
import { postgresSuite, skipWithoutPostgres } from '../support/postgres-suite.js';

/**
 * The whole of Berth on the PostgreSQL engine, through its HTTP surfaces: accounts, tokens,
 * pushes, package pages of the API, visibility, deletion and restore. The services do not know
 * which engine they run on; these flows would fail where a query of theirs is SQLite-only.
 */
describe('Berth on PostgreSQL', { skip: await skipWithoutPostgres() }, () => {
  const postgres = postgresSuite();

  async function berthOnPostgres(t: TestContext): Promise<AuthApp> {
    // Berth closes the engine it is given.
    return authApp(t, {}, { database: await openPostgres(await newDatabase(postgres.server)) });
  }

  it('pushes, pulls, and answers the package with its labels; private to others until made public', async (t) => {
    const app = await berthOnPostgres(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    const labels = {
      'org.opencontainers.image.description': 'An app on PostgreSQL',
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.source': 'https://example.com/alice/app',
    };
    const image = await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1', labels });
    const pulled = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: basic('alice', alice.token), accept: image.mediaType } });
    assert.equal(pulled.statusCode, 200);
    assert.equal(pulled.headers['docker-content-digest'], image.digest);

    const pkg = await apiRequest(app, 'GET', '/api/user/packages/container/app', alice.token);
    assert.equal(pkg.statusCode, 200, pkg.body);
    assert.equal(pkg.json().visibility, 'private');
    const stored = await app.berth.packages.require('alice/app');
    assert.deepEqual(
      [stored.metadata.description, stored.metadata.licenses, stored.metadata.source],
      ['An app on PostgreSQL', 'Apache-2.0', 'https://example.com/alice/app'],
    );
    const versions = await apiRequest(app, 'GET', '/api/user/packages/container/app/versions', alice.token);
    assert.deepEqual(
      versions.json().map((version: { name: string; metadata: { container: { tags: string[] } } }) => [version.name, version.metadata.container.tags]),
      [[image.digest, ['v1']]],
    );

    const hidden = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: basic('bob', bob.token) } });
    assert.equal(hidden.statusCode, 404);
    assert.equal((await apiRequest(app, 'PATCH', '/api/users/alice/packages/container/app', alice.token, { visibility: 'public' })).statusCode, 200);
    const shown = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: basic('bob', bob.token), accept: image.mediaType } });
    assert.equal(shown.statusCode, 200);
  });

  it('deletes a version and a package softly, and restores both', async (t) => {
    const app = await berthOnPostgres(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const image = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    const deleted = await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/app/manifests/${image.digest}`, headers: { authorization: auth } });
    assert.equal(deleted.statusCode, 202);
    const gone = await apiRequest(app, 'GET', '/api/user/packages/container/app/versions?state=deleted', alice.token);
    const [version] = gone.json() as Array<{ id: number; name: string }>;
    assert.equal(version?.name, image.digest);
    assert.equal((await apiRequest(app, 'POST', `/api/user/packages/container/app/versions/${version?.id}/restore`, alice.token)).statusCode, 204);
    assert.equal((await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: auth } })).statusCode, 200);

    assert.equal((await apiRequest(app, 'DELETE', '/api/user/packages/container/app', alice.token)).statusCode, 204);
    assert.equal((await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: auth } })).statusCode, 404);
    assert.equal((await apiRequest(app, 'POST', '/api/user/packages/container/app/restore', alice.token)).statusCode, 204);
    assert.equal((await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: auth } })).statusCode, 200);
  });

  it('gives an organization’s team access to a package, and takes it away', async (t) => {
    const app = await berthOnPostgres(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    await app.berth.accounts.createTeam('acme', parseAccountName('builders'));
    await app.berth.accounts.setOrgMember('acme', 'bob', 'member');
    await app.berth.accounts.addTeamMember('acme', 'builders', 'bob');
    await pushLabelledImage(app.berth, 'acme/app', basic('alice', alice.token), { tag: 'v1' });
    const pull = () => app.berth.app.inject({ method: 'GET', url: '/v2/acme/app/manifests/v1', headers: { authorization: basic('bob', bob.token) } });
    assert.equal((await pull()).statusCode, 404);
    const granted = await app.berth.app.inject({
      method: 'PUT',
      url: '/api/orgs/acme/packages/container/app/roles',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ team: 'builders', role: 'read' }),
    });
    assert.equal(granted.statusCode, 200, granted.body);
    assert.equal((await pull()).statusCode, 200);
    const revoked = await apiRequest(app, 'DELETE', '/api/orgs/acme/packages/container/app/roles?team=builders', alice.token);
    assert.equal(revoked.statusCode, 204, revoked.body);
    assert.equal((await pull()).statusCode, 404);
  });
});
