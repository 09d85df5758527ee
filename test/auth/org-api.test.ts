import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { apiRequest } from '../support/api-request.js';
import { aliceOwnsAcme } from './helpers.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

const user = (account: { name: string; id: number }, siteAdmin = false) => ({ login: account.name, id: account.id, type: 'User', site_admin: siteAdmin });
const notFound = { message: 'Not Found' };
const notOwner = { message: 'You must be an owner of this organization.' };

/** Every endpoint, with a body where it takes one. */
const endpoints: Array<[Method, string, object?]> = [
  ['GET', '/members'],
  ['GET', '/memberships/bob'],
  ['PUT', '/memberships/bob', { role: 'member' }],
  ['DELETE', '/memberships/bob'],
  ['GET', '/teams'],
  ['POST', '/teams', { name: 'ops' }],
  ['GET', '/teams/devs/members'],
  ['PUT', '/teams/devs/memberships/bob', {}],
  ['DELETE', '/teams/devs/memberships/bob'],
];

describe('organization API: members and teams in GitHub shapes under /api/orgs', () => {
  it('an owner adds a member (PUT memberships 200), a team (POST teams 201) and a team member (PUT team memberships 200); GETs answer them', async (t) => {
    const { app, alice, bob, org } = await aliceOwnsAcme(t);
    const dave = await app.user('dave');
    const root = (await app.berth.accounts.find('root'))!;

    const added = await apiRequest(app, 'PUT', '/api/orgs/acme/memberships/dave', alice.token, {});
    assert.equal(added.statusCode, 200);
    assert.deepEqual(added.json(), { state: 'active', role: 'member', organization: { login: 'acme', id: org.id }, user: user(dave) });

    const rootAdmin = await apiRequest(app, 'PUT', '/api/orgs/ACME/memberships/root', alice.token, { role: 'admin' });
    assert.equal(rootAdmin.statusCode, 200);
    assert.deepEqual(rootAdmin.json(), { state: 'active', role: 'admin', organization: { login: 'acme', id: org.id }, user: user(root, true) });

    // A PUT without a body makes a member, as GitHub's default role.
    const noBody = await app.berth.app.inject({ method: 'PUT', url: '/api/orgs/acme/memberships/bob', headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(noBody.statusCode, 200);
    assert.equal(noBody.json().role, 'member');

    const members = await apiRequest(app, 'GET', '/api/orgs/acme/members', alice.token);
    assert.equal(members.statusCode, 200);
    assert.equal(members.headers['link'], undefined);
    assert.deepEqual(members.json(), [user(alice), user(bob), user(dave), user(root, true)]);

    const created = await apiRequest(app, 'POST', '/api/orgs/acme/teams', alice.token, { name: 'Dev-Ops' });
    assert.equal(created.statusCode, 201);
    const team = { id: created.json().id, name: 'Dev-Ops', slug: 'dev-ops', privacy: 'closed', permission: 'pull' };
    assert.equal(typeof team.id, 'number');
    assert.deepEqual(created.json(), team);

    const joined = await apiRequest(app, 'PUT', '/api/orgs/acme/teams/dev-ops/memberships/dave', alice.token, { role: 'member' });
    assert.equal(joined.statusCode, 200);
    assert.deepEqual(joined.json(), { state: 'active', role: 'member' });
    assert.equal((await apiRequest(app, 'PUT', '/api/orgs/acme/teams/dev-ops/memberships/bob', alice.token)).statusCode, 200);

    assert.deepEqual((await apiRequest(app, 'GET', '/api/orgs/acme/teams', alice.token)).json(), [team]);
    const teamMembers = await apiRequest(app, 'GET', '/api/orgs/acme/teams/dev-ops/members', alice.token);
    assert.equal(teamMembers.statusCode, 200);
    assert.deepEqual(teamMembers.json(), [user(bob), user(dave)]);
    assert.deepEqual(await app.berth.accounts.listTeamMembers('acme', 'Dev-Ops'), ['bob', 'dave']);

    const left = await apiRequest(app, 'DELETE', '/api/orgs/acme/teams/dev-ops/memberships/bob', alice.token);
    assert.equal(left.statusCode, 204);
    assert.equal(left.body, '');
    assert.deepEqual((await apiRequest(app, 'GET', '/api/orgs/acme/teams/dev-ops/members', alice.token)).json(), [user(dave)]);
    assert.deepEqual(await app.berth.accounts.listOrgMembers('acme').then((list) => list.map((m) => m.name)), ['alice', 'bob', 'dave', 'root'], 'leaving a team keeps the organization membership');
    const again = await apiRequest(app, 'DELETE', '/api/orgs/acme/teams/dev-ops/memberships/bob', alice.token);
    assert.equal(again.statusCode, 404);
    assert.deepEqual(again.json(), { message: 'member of acme/Dev-Ops "bob" not found' });

    const removed = await apiRequest(app, 'DELETE', '/api/orgs/acme/memberships/dave', alice.token);
    assert.equal(removed.statusCode, 204);
    const gone = await apiRequest(app, 'GET', '/api/orgs/acme/memberships/dave', alice.token);
    assert.equal(gone.statusCode, 404);
    assert.deepEqual(gone.json(), notFound);
  });

  it('a member reads members, memberships and teams (200) but gets 403 on every write', async (t) => {
    const { app, alice, bob, org } = await aliceOwnsAcme(t);
    await app.berth.accounts.createTeam('acme', parseAccountName('devs'));
    await app.berth.accounts.addTeamMember('acme', 'devs', 'bob');

    const members = await apiRequest(app, 'GET', '/api/orgs/acme/members', bob.token);
    assert.equal(members.statusCode, 200);
    assert.deepEqual(members.json(), [user(alice), user(bob)]);
    const aliceMembership = await apiRequest(app, 'GET', '/api/orgs/acme/memberships/Alice', bob.token);
    assert.equal(aliceMembership.statusCode, 200);
    assert.deepEqual(aliceMembership.json(), { state: 'active', role: 'admin', organization: { login: 'acme', id: org.id }, user: user(alice) });
    const teams = await apiRequest(app, 'GET', '/api/orgs/acme/teams', bob.token);
    assert.equal(teams.statusCode, 200);
    assert.deepEqual(teams.json(), [{ id: teams.json()[0].id, name: 'devs', slug: 'devs', privacy: 'closed', permission: 'pull' }]);
    const teamMembers = await apiRequest(app, 'GET', '/api/orgs/acme/teams/devs/members', bob.token);
    assert.equal(teamMembers.statusCode, 200);
    assert.deepEqual(teamMembers.json(), [user(bob)]);

    for (const [method, path, body] of endpoints.filter(([method]) => method !== 'GET')) {
      const res = await apiRequest(app, method, `/api/orgs/acme${path}`, bob.token, body);
      assert.equal(res.statusCode, 403, `${method} ${path}`);
      assert.deepEqual(res.json(), notOwner, `${method} ${path}`);
    }
    assert.deepEqual(await app.berth.accounts.listTeams('acme'), [{ name: 'devs', members: ['bob'] }], 'nothing changed');
  });

  it('an owner\'s token without every package scope reads but changes nothing: 403 naming the missing scopes', async (t) => {
    const { app, alice } = await aliceOwnsAcme(t);
    await app.berth.accounts.createTeam('acme', parseAccountName('devs'));
    const readOnly = await app.user('alice', ['read:packages']);
    const pushing = await app.user('alice', ['read:packages', 'write:packages']);
    assert.equal((await apiRequest(app, 'GET', '/api/orgs/acme/members', readOnly.token)).statusCode, 200);
    for (const [method, path, body] of endpoints.filter(([method]) => method !== 'GET')) {
      const res = await apiRequest(app, method, `/api/orgs/acme${path}`, readOnly.token, body);
      assert.equal(res.statusCode, 403, `${method} ${path}`);
      assert.deepEqual(res.json(), { message: 'permission_denied: changing an organization needs a token with write:packages, delete:packages' });
    }
    const promote = await apiRequest(app, 'PUT', '/api/orgs/acme/memberships/bob', pushing.token, { role: 'admin' });
    assert.equal(promote.statusCode, 403);
    assert.deepEqual(promote.json(), { message: 'permission_denied: changing an organization needs a token with delete:packages' });
    assert.equal(await app.berth.accounts.orgRoleOf('acme', (await app.berth.accounts.find('bob'))!.id), 'member', 'bob was not made an owner');
    assert.equal((await apiRequest(app, 'PUT', '/api/orgs/acme/memberships/bob', alice.token, { role: 'admin' })).statusCode, 200, 'a token with every package scope may');
  });

  it('an outsider gets 404 Not Found on every endpoint, as for an organization that does not exist or a user', async (t) => {
    const { app, alice, carol } = await aliceOwnsAcme(t);
    await app.berth.accounts.createTeam('acme', parseAccountName('devs'));
    for (const [method, path, body] of endpoints) {
      for (const [org, token] of [['acme', carol.token], ['nowhere', carol.token], ['alice', alice.token], ['nowhere', alice.token]] as const) {
        const res = await apiRequest(app, method, `/api/orgs/${org}${path}`, token, body);
        assert.equal(res.statusCode, 404, `${method} /api/orgs/${org}${path}`);
        assert.equal(res.body, '{"message":"Not Found"}', `${method} /api/orgs/${org}${path}`);
      }
    }
    // A member asking about a team that does not exist gets the same answer.
    const noTeam = await apiRequest(app, 'GET', '/api/orgs/acme/teams/nope/members', alice.token);
    assert.equal(noTeam.statusCode, 404);
    assert.equal(noTeam.body, '{"message":"Not Found"}');
    // And so does one asking about someone who is not a member.
    const notMember = await apiRequest(app, 'GET', '/api/orgs/acme/memberships/carol', alice.token);
    assert.equal(notMember.statusCode, 404);
    assert.equal(notMember.body, '{"message":"Not Found"}');
  });

  it('without credentials 401 Requires authentication; with a suspended user\'s token 401 Bad credentials', async (t) => {
    const { app, alice, bob } = await aliceOwnsAcme(t);
    for (const [method, path, body] of endpoints) {
      const res = await apiRequest(app, method, `/api/orgs/acme${path}`, undefined, body);
      assert.equal(res.statusCode, 401, `${method} ${path}`);
      assert.deepEqual(res.json(), { message: 'Requires authentication' });
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="berth"');
    }
    await app.berth.accounts.setSuspended('bob', true);
    await app.berth.accounts.setSuspended('alice', true);
    // A few requests only: each counts against the sign-in failure limit of the client address.
    const refused: Array<[string, Method, string, object?]> = [
      [bob.token, 'GET', '/members'],
      [bob.token, 'GET', '/teams'],
      [alice.token, 'PUT', '/memberships/bob', { role: 'admin' }],
      [alice.token, 'POST', '/teams', { name: 'ops' }],
    ];
    for (const [token, method, path, body] of refused) {
      const res = await apiRequest(app, method, `/api/orgs/acme${path}`, token, body);
      assert.equal(res.statusCode, 401, `${method} ${path}`);
      assert.deepEqual(res.json(), { message: 'Bad credentials' });
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="berth"');
    }
    assert.deepEqual(await app.berth.accounts.listOrgMembers('acme').then((list) => list.map((m) => `${m.name}:${m.role}`)), ['alice:owner', 'bob:member']);
    assert.deepEqual(await app.berth.accounts.listTeams('acme'), []);
    await app.berth.accounts.setSuspended('bob', false);
    assert.equal((await apiRequest(app, 'GET', '/api/orgs/acme/members', bob.token)).statusCode, 200);
  });

  it('GET /api/orgs/{org}/members pages with per_page (default 30, at most 100) and page, with a Link header', async (t) => {
    const { app, alice } = await aliceOwnsAcme(t);
    const names: string[] = [];
    for (let i = 0; i < 103; i++) {
      const name = `user-${String(i).padStart(3, '0')}`;
      names.push(name);
      await app.berth.accounts.createUser(parseAccountName(name));
      await app.berth.accounts.setOrgMember('acme', name, 'member');
    }
    const all = ['alice', 'bob', ...names];

    const first = await apiRequest(app, 'GET', '/api/orgs/acme/members', alice.token);
    assert.equal(first.statusCode, 200);
    assert.deepEqual(first.json().map((u: { login: string }) => u.login), all.slice(0, 30));
    assert.equal(first.headers['link'], '</api/orgs/acme/members?page=2&per_page=30>; rel="next", </api/orgs/acme/members?page=4&per_page=30>; rel="last"');

    const second = await apiRequest(app, 'GET', '/api/orgs/acme/members?per_page=2&page=2', alice.token);
    assert.deepEqual(second.json().map((u: { login: string }) => u.login), all.slice(2, 4));
    assert.equal(
      second.headers['link'],
      [
        '</api/orgs/acme/members?per_page=2&page=3>; rel="next"',
        '</api/orgs/acme/members?per_page=2&page=53>; rel="last"',
        '</api/orgs/acme/members?per_page=2&page=1>; rel="first"',
        '</api/orgs/acme/members?per_page=2&page=1>; rel="prev"',
      ].join(', '),
    );

    const capped = await apiRequest(app, 'GET', '/api/orgs/acme/members?per_page=500&page=2', alice.token);
    assert.deepEqual(capped.json().map((u: { login: string }) => u.login), all.slice(100));
    assert.equal(capped.headers['link'], '</api/orgs/acme/members?per_page=100&page=1>; rel="first", </api/orgs/acme/members?per_page=100&page=1>; rel="prev"');

    const past = await apiRequest(app, 'GET', '/api/orgs/acme/members?per_page=100&page=3', alice.token);
    assert.equal(past.statusCode, 200);
    assert.deepEqual(past.json(), []);

    const bad = await apiRequest(app, 'GET', '/api/orgs/acme/members?per_page=0', alice.token);
    assert.equal(bad.statusCode, 422);
    assert.deepEqual(bad.json(), { message: 'per_page must be a positive integer' });
  });

  it('demoting or removing the last owner is 422; with a second owner both work', async (t) => {
    const { app, alice, bob } = await aliceOwnsAcme(t);
    const demote = await apiRequest(app, 'PUT', '/api/orgs/acme/memberships/alice', alice.token, { role: 'member' });
    assert.equal(demote.statusCode, 422);
    assert.deepEqual(demote.json(), { message: 'alice is the last owner of acme' });
    const remove = await apiRequest(app, 'DELETE', '/api/orgs/acme/memberships/alice', alice.token);
    assert.equal(remove.statusCode, 422);
    assert.deepEqual(remove.json(), { message: 'alice is the last owner of acme' });
    assert.equal(await app.berth.accounts.orgRoleOf('acme', alice.id), 'owner');

    assert.equal((await apiRequest(app, 'PUT', '/api/orgs/acme/memberships/bob', alice.token, { role: 'admin' })).statusCode, 200);
    const demoted = await apiRequest(app, 'PUT', '/api/orgs/acme/memberships/alice', alice.token, { role: 'member' });
    assert.equal(demoted.statusCode, 200);
    assert.equal(demoted.json().role, 'member');
    // alice is no longer an owner: her next write is refused.
    assert.deepEqual((await apiRequest(app, 'DELETE', '/api/orgs/acme/memberships/bob', alice.token)).json(), notOwner);
    assert.equal((await apiRequest(app, 'DELETE', '/api/orgs/acme/memberships/alice', bob.token)).statusCode, 204);
    assert.deepEqual(await app.berth.accounts.listOrgMembers('acme').then((list) => list.map((m) => `${m.name}:${m.role}`)), ['bob:owner']);
  });

  it('two owners demoting each other at the same moment leave one owner: one change succeeds, the other is refused (on PostgreSQL, truly at once)', async (t) => {
    const { app } = await aliceOwnsAcme(t);
    await app.berth.accounts.setOrgMember('acme', 'bob', 'owner');
    for (let round = 0; round < 5; round += 1) {
      const answers = await Promise.all([
        app.berth.accounts.setOrgMember('acme', 'alice', 'member').then(() => 200, () => 422),
        app.berth.accounts.setOrgMember('acme', 'bob', 'member').then(() => 200, () => 422),
      ]);
      assert.deepEqual([...answers].sort(), [200, 422], `round ${round}`);
      const owners = (await app.berth.accounts.listOrgMembers('acme')).filter((member) => member.role === 'owner');
      assert.equal(owners.length, 1, `round ${round}`);
      await app.berth.accounts.setOrgMember('acme', owners[0]!.name === 'alice' ? 'bob' : 'alice', 'owner');
    }
  });

  it('DELETE /api/orgs/{org}/memberships/{username} also takes the user off the organization\'s teams', async (t) => {
    const { app, alice, bob } = await aliceOwnsAcme(t);
    await app.berth.accounts.createTeam('acme', parseAccountName('devs'));
    await app.berth.accounts.createTeam('acme', parseAccountName('ops'));
    await app.berth.accounts.addTeamMember('acme', 'devs', 'bob');
    await app.berth.accounts.addTeamMember('acme', 'ops', 'bob');
    await app.berth.accounts.addTeamMember('acme', 'ops', 'alice');

    assert.equal((await apiRequest(app, 'DELETE', '/api/orgs/acme/memberships/bob', alice.token)).statusCode, 204);
    assert.deepEqual((await apiRequest(app, 'GET', '/api/orgs/acme/teams/devs/members', alice.token)).json(), []);
    assert.deepEqual((await apiRequest(app, 'GET', '/api/orgs/acme/teams/ops/members', alice.token)).json(), [user(alice)]);
    // bob, out of the organization, now sees it as not existing.
    const after = await apiRequest(app, 'GET', '/api/orgs/acme/teams', bob.token);
    assert.equal(after.statusCode, 404);
    assert.deepEqual(after.json(), notFound);
    // Back in the organization, he is on no team.
    assert.equal((await apiRequest(app, 'PUT', '/api/orgs/acme/memberships/bob', alice.token, {})).statusCode, 200);
    assert.deepEqual((await apiRequest(app, 'GET', '/api/orgs/acme/teams/devs/members', bob.token)).json(), []);
  });

  it('bad input: unknown roles, team names and bodies are 422 or 400; a missing user 404; a team member must belong to the organization (422)', async (t) => {
    const { app, alice } = await aliceOwnsAcme(t);
    await app.user('carol');
    await app.berth.accounts.createTeam('acme', parseAccountName('devs'));
    const cases: Array<[Method, string, object | string | undefined, number, object]> = [
      ['PUT', '/memberships/bob', { role: 'owner' }, 422, { message: 'role must be admin or member' }],
      ['PUT', '/memberships/bob', { role: 1 }, 422, { message: 'role must be admin or member' }],
      ['PUT', '/memberships/bob', '["member"]', 400, { message: 'Problems parsing JSON: the body must be a JSON object' }],
      ['PUT', '/memberships/nobody', { role: 'member' }, 404, { message: 'user "nobody" not found' }],
      ['DELETE', '/memberships/carol', undefined, 404, { message: 'member of acme "carol" not found' }],
      ['POST', '/teams', {}, 422, { message: 'name is required' }],
      ['POST', '/teams', '', 400, { message: 'Problems parsing JSON: the body must be a JSON object' }],
      ['POST', '/teams', { name: 'no spaces' }, 422, { message: 'invalid team name "no spaces": use letters, digits and single inner hyphens, at most 39 characters' }],
      ['POST', '/teams', { name: 'DEVS' }, 422, { message: 'team acme/DEVS already exists' }],
      ['POST', '/teams', { name: 'ops', privacy: 'secret' }, 422, { message: 'privacy must be closed: teams are visible to every member of the organization' }],
      ['POST', '/teams', { name: 'ops', permission: 'push' }, 422, { message: "permission must be pull: a team gets more on a package through the package's roles" }],
      ['PUT', '/teams/devs/memberships/bob', { role: 'maintainer' }, 422, { message: 'role must be member: teams have no maintainers' }],
      ['PUT', '/teams/devs/memberships/carol', {}, 422, { message: 'carol is not a member of acme' }],
      ['PUT', '/teams/nope/memberships/bob', {}, 404, { message: 'team "acme/nope" not found' }],
    ];
    for (const [method, path, body, status, answer] of cases) {
      const res = await apiRequest(app, method, `/api/orgs/acme${path}`, alice.token, body);
      assert.equal(res.statusCode, status, `${method} ${path} ${JSON.stringify(body)}`);
      assert.deepEqual(res.json(), answer, `${method} ${path} ${JSON.stringify(body)}`);
    }
    const tooLarge = await apiRequest(app, 'POST', '/api/orgs/acme/teams', alice.token, { name: 'ops', description: 'x'.repeat(100 * 1024) });
    assert.equal(tooLarge.statusCode, 413);
    assert.deepEqual(tooLarge.json(), { message: 'the request body is larger than 65536 bytes' });
    assert.deepEqual(await app.berth.accounts.listTeams('acme'), [{ name: 'devs', members: [] }]);
    assert.deepEqual(await app.berth.accounts.listOrgMembers('acme').then((list) => list.map((m) => `${m.name}:${m.role}`)), ['alice:owner', 'bob:member']);
  });
});
