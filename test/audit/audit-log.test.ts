import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { hashToken } from '../../src/auth/personal-access-token-format.js';
import { type AuthApp, adminPassword, authApp, basic, mintRepositoryToken, pushImage, registryToken } from '../auth/helpers.js';
import { alteredSecret } from '../support/altered-secret.js';

type Entry = {
  action: string;
  actor: string;
  actor_kind: string;
  org: string | null;
  target: string;
  details: Record<string, unknown>;
  actor_ip: string | null;
  request_id: string | null;
};

/** Every entry, oldest first, read as a site administrator would export them. */
async function allEntries(app: AuthApp): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const record of app.berth.audit.all({})) {
    entries.push({
      action: record.action,
      actor: record.actor.name,
      actor_kind: record.actor.kind,
      org: record.owner?.name ?? null,
      target: record.target,
      details: record.details,
      actor_ip: record.clientAddress,
      request_id: record.requestId,
    });
  }
  return entries;
}

/** The one entry a response's request wrote with this action. */
async function entryOf(app: AuthApp, response: LightMyRequestResponse, action: string): Promise<Entry> {
  const id = String(response.headers['x-request-id']);
  const found = (await allEntries(app)).filter((entry) => entry.request_id === id && entry.action === action);
  assert.equal(found.length, 1, `one ${action} entry for request ${id}, found ${found.length}: ${JSON.stringify(await allEntries(app))}`);
  return found[0] as Entry;
}

function as(user: { token: string }, address = '198.51.100.7') {
  return { authorization: `Bearer ${user.token}`, address };
}

async function call(app: AuthApp, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, who: { authorization: string; address: string }, payload?: object) {
  const response = await app.berth.app.inject({
    method,
    url,
    remoteAddress: who.address,
    headers: { authorization: who.authorization, ...(payload && { 'content-type': 'application/json' }) },
    ...(payload && { payload: JSON.stringify(payload) }),
  });
  assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
  return response;
}

describe('audit log entries', () => {
  it('a password sign-in on /api is user.sign_in, a wrong password user.sign_in_failed, each with the client address and request id', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    const ok = await app.berth.app.inject({ method: 'GET', url: '/api/user', remoteAddress: '203.0.113.9', headers: { authorization: basic('alice', 'alice-password') } });
    assert.equal(ok.statusCode, 200);
    const signIn = await entryOf(app, ok, 'user.sign_in');
    assert.deepEqual([signIn.actor, signIn.actor_kind, signIn.actor_ip, signIn.org], ['alice', 'user', '203.0.113.9', 'alice']);

    const bad = await app.berth.app.inject({ method: 'GET', url: '/api/user', remoteAddress: '203.0.113.66', headers: { authorization: basic('alice', 'not-her-password') } });
    assert.equal(bad.statusCode, 401);
    const failed = await entryOf(app, bad, 'user.sign_in_failed');
    assert.equal(failed.actor_ip, '203.0.113.66');
    assert.equal(failed.target, 'alice');
    assert.deepEqual(failed.details, { credential: 'password', username: 'alice' });

    const badToken = await app.berth.app.inject({ method: 'GET', url: '/api/user', remoteAddress: '203.0.113.67', headers: { authorization: 'Bearer berth_pat_nonsense' } });
    assert.equal(badToken.statusCode, 401);
    assert.equal((await entryOf(app, badToken, 'user.sign_in_failed')).actor_ip, '203.0.113.67');
  });

  it('the web sign-in form records user.sign_in with the browser address', async (t) => {
    const app = await authApp(t);
    const page = await app.berth.app.inject({ method: 'GET', url: '/login' });
    const csrf = /berth_csrf=([^;]+)/.exec(String(page.headers['set-cookie']))?.[1] ?? '';
    const response = await app.berth.app.inject({
      method: 'POST',
      url: '/login',
      remoteAddress: '192.0.2.44',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `berth_csrf=${csrf}` },
      payload: new URLSearchParams({ username: 'root', password: adminPassword, next: '/', csrf }).toString(),
    });
    assert.equal(response.statusCode, 303, response.body);
    const entry = await entryOf(app, response, 'user.sign_in');
    assert.deepEqual([entry.actor, entry.actor_ip], ['root', '192.0.2.44']);
  });

  it('tokens: created, used for the first time (once), revoked, and expired (recorded once by the sweep)', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const created = await call(app, 'POST', '/api/user/tokens', as(alice), { scopes: ['read:packages'], note: 'laptop' });
    const { id, token } = created.json() as { id: number; token: string };
    const create = await entryOf(app, created, 'token.create');
    assert.equal(create.actor, 'alice');
    assert.equal(create.details['token_id'], id);
    assert.equal(create.details['note'], 'laptop');

    const first = await call(app, 'GET', '/api/user', { authorization: `Bearer ${token}`, address: '198.51.100.200' });
    const firstUse = await entryOf(app, first, 'token.first_use');
    assert.deepEqual([firstUse.actor, firstUse.actor_ip, firstUse.details['token_id']], ['alice', '198.51.100.200', id]);
    await call(app, 'GET', '/api/user', { authorization: `Bearer ${token}`, address: '198.51.100.201' });
    assert.equal((await allEntries(app)).filter((entry) => entry.action === 'token.first_use' && entry.details['token_id'] === id).length, 1);

    const revoked = await call(app, 'DELETE', `/api/user/tokens/${id}`, as(alice));
    assert.equal((await entryOf(app, revoked, 'token.revoke')).details['token_id'], id);

    const old = await app.berth.accessTokens.create(alice.id, ['read:packages'], { expiresAt: new Date(Date.now() - 1000) });
    assert.equal(await app.berth.accessTokens.recordExpired(), 1);
    assert.equal(await app.berth.accessTokens.recordExpired(), 0);
    const expired = (await allEntries(app)).filter((entry) => entry.action === 'token.expire');
    assert.equal(expired.length, 1);
    assert.deepEqual([expired[0]?.actor, expired[0]?.actor_kind, expired[0]?.details['token_id']], ['sweep', 'system', old.info.id]);
  });

  it('package changes: publish, visibility, role grant and revoke, link and unlink, version delete and restore, delete and restore', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await app.user('bob');
    const { manifestDigest } = await pushImage(app.berth, 'alice/app', basic(alice.name, alice.token));
    const publish = (await allEntries(app)).filter((entry) => entry.action === 'package.publish');
    assert.equal(publish.length, 1);
    assert.deepEqual([publish[0]?.actor, publish[0]?.target, publish[0]?.details['tag']], ['alice', 'alice/app', 'latest']);
    assert.ok(publish[0]?.request_id, 'the push request is named');

    const base = '/api/user/packages/container/app';
    const visibility = await entryOf(app, await call(app, 'PATCH', base, as(alice), { visibility: 'public' }), 'package.visibility');
    assert.deepEqual([visibility.actor, visibility.target, visibility.actor_ip, visibility.details], ['alice', 'alice/app', '198.51.100.7', { from: 'private', to: 'public' }]);
    const grant = await entryOf(app, await call(app, 'PUT', `${base}/roles`, as(alice), { user: 'bob', role: 'write' }), 'package.role_grant');
    assert.deepEqual(grant.details, { user: 'bob', role: 'write' });
    const revoke = await entryOf(app, await call(app, 'DELETE', `${base}/roles?user=bob`, as(alice)), 'package.role_revoke');
    assert.deepEqual(revoke.details, { user: 'bob', role: 'write' });

    await app.berth.sourceRepositories.create('alice/source');
    const link = await entryOf(app, await call(app, 'PUT', `${base}/repository`, as(alice), { repository: 'alice/source' }), 'package.link');
    assert.equal(link.details['repository'], 'alice/source');
    const unlink = await entryOf(app, await call(app, 'DELETE', `${base}/repository`, as(alice)), 'package.unlink');
    assert.equal(unlink.details['repository'], 'alice/source');

    const versions = (await call(app, 'GET', `${base}/versions`, as(alice))).json() as Array<{ id: number }>;
    const versionId = versions[0]?.id as number;
    const deleted = await entryOf(app, await call(app, 'DELETE', `${base}/versions/${versionId}`, as(alice)), 'package_version.delete');
    assert.deepEqual([deleted.actor, deleted.target, deleted.details['version_id']], ['alice', `alice/app@${manifestDigest}`, versionId]);
    const restored = await entryOf(app, await call(app, 'POST', `${base}/versions/${versionId}/restore`, as(alice)), 'package_version.restore');
    assert.equal(restored.target, `alice/app@${manifestDigest}`);

    const gone = await entryOf(app, await call(app, 'DELETE', base, as(alice)), 'package.delete');
    assert.deepEqual([gone.actor, gone.target], ['alice', 'alice/app']);
    const back = await entryOf(app, await call(app, 'POST', `${base}/restore`, as(alice)), 'package.restore');
    assert.deepEqual([back.actor, back.target], ['alice', 'alice/app']);
  });

  it('a manifest deleted on /v2 is a package_version.delete by the token holder', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const { manifestDigest } = await pushImage(app.berth, 'alice/app', basic(alice.name, alice.token));
    // A second tag keeps the package published; the manifest is deleted by digest.
    const response = await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/app/manifests/${manifestDigest}`, remoteAddress: '198.51.100.99', headers: { authorization: basic('alice', alice.token) } });
    assert.equal(response.statusCode, 202, response.body);
    const entry = await entryOf(app, response, 'package_version.delete');
    assert.deepEqual([entry.actor, entry.actor_ip, entry.target, entry.details['via']], ['alice', '198.51.100.99', `alice/app@${manifestDigest}`, 'registry']);
  });

  it('a push and a deletion with a registry token, as clients send them, name the token\'s user, the client and the request', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const token = await registryToken(app, 'repository:alice/app:pull,push,delete', basic(alice.name, alice.token));
    const { manifestDigest } = await pushImage(app.berth, 'alice/app', `Bearer ${token}`);
    const publish = (await allEntries(app)).filter((entry) => entry.action === 'package.publish');
    assert.deepEqual([publish.length, publish[0]?.actor, publish[0]?.actor_kind, publish[0]?.target], [1, 'alice', 'user', 'alice/app']);
    assert.ok(publish[0]?.request_id, 'the push request is named');
    const response = await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/app/manifests/${manifestDigest}`, remoteAddress: '198.51.100.98', headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.statusCode, 202, response.body);
    const entry = await entryOf(app, response, 'package_version.delete');
    assert.deepEqual([entry.actor, entry.actor_ip, entry.details['via']], ['alice', '198.51.100.98', 'registry']);
  });

  it('a package a repository token creates with a registry token is published and linked by that token', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await app.berth.sourceRepositories.create('alice/widget');
    const minted = await mintRepositoryToken(app, 'alice/widget', alice.token);
    const token = await registryToken(app, 'repository:alice/built:pull,push', basic('ci', minted.token));
    await pushImage(app.berth, 'alice/built', `Bearer ${token}`);
    const entries = (await allEntries(app)).filter((entry) => entry.target === 'alice/built');
    assert.deepEqual(
      entries.map((entry) => [entry.action, entry.actor_kind, entry.actor]),
      [
        ['package.publish', 'repository_token', 'alice/widget'],
        ['package.link', 'repository_token', 'alice/widget'],
      ],
    );
    assert.ok(entries.every((entry) => entry.request_id !== null), 'both name the push request');
  });

  it('a token first used, or refused, with Basic on /v2 is recorded with the client address', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const created = await call(app, 'POST', '/api/user/tokens', as(alice), { scopes: ['read:packages'], note: 'ci' });
    const { id, token } = created.json() as { id: number; token: string };
    const first = await app.berth.app.inject({ method: 'GET', url: '/v2/', remoteAddress: '198.51.100.31', headers: { authorization: basic('alice', token) } });
    assert.equal(first.statusCode, 200, first.body);
    const firstUse = await entryOf(app, first, 'token.first_use');
    assert.deepEqual([firstUse.actor, firstUse.actor_ip, firstUse.details['token_id']], ['alice', '198.51.100.31', id]);
    const refused = await app.berth.app.inject({ method: 'GET', url: '/v2/', remoteAddress: '198.51.100.32', headers: { authorization: basic('alice', alteredSecret(token)) } });
    assert.equal(refused.statusCode, 401, refused.body);
    assert.equal((await entryOf(app, refused, 'user.sign_in_failed')).actor_ip, '198.51.100.32');
  });

  it('organization membership and teams, and site-admin actions', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await app.user('bob');
    await app.berth.accounts.createOrg('acme' as never, 'alice');
    const add = await entryOf(app, await call(app, 'PUT', '/api/orgs/acme/memberships/bob', as(alice)), 'org.member_add');
    assert.deepEqual([add.actor, add.org, add.details], ['alice', 'acme', { user: 'bob', role: 'member' }]);
    const promoted = await entryOf(app, await call(app, 'PUT', '/api/orgs/acme/memberships/bob', as(alice), { role: 'admin' }), 'org.member_role_change');
    assert.deepEqual(promoted.details, { user: 'bob', role: 'owner', from: 'member' });
    const team = await entryOf(app, await call(app, 'POST', '/api/orgs/acme/teams', as(alice), { name: 'devs' }), 'team.create');
    assert.deepEqual([team.org, team.target], ['acme', 'acme/devs']);
    const joined = await entryOf(app, await call(app, 'PUT', '/api/orgs/acme/teams/devs/memberships/bob', as(alice)), 'team.member_add');
    assert.deepEqual(joined.details, { team: 'devs', user: 'bob' });
    const left = await entryOf(app, await call(app, 'DELETE', '/api/orgs/acme/teams/devs/memberships/bob', as(alice)), 'team.member_remove');
    assert.deepEqual(left.details, { team: 'devs', user: 'bob' });
    const removed = await entryOf(app, await call(app, 'DELETE', '/api/orgs/acme/memberships/bob', as(alice)), 'org.member_remove');
    assert.deepEqual([removed.org, removed.details], ['acme', { user: 'bob' }]);

    const root = await app.user('root');
    const gc = await entryOf(app, await call(app, 'POST', '/api/admin/gc', as(root), { dry_run: true }), 'admin.gc');
    assert.deepEqual([gc.actor, gc.details['dry_run']], ['root', true]);
    await app.berth.accounts.setSuspended('bob', true);
    await app.berth.accounts.setAdmin('bob', true);
    const actions = (await allEntries(app)).map((entry) => entry.action);
    for (const action of ['admin.user_create', 'org.create', 'admin.user_suspend', 'admin.user_promote']) assert.ok(actions.includes(action), action);
  });
});

describe('reading the audit log', () => {
  async function orgWithHistory(t: Parameters<typeof authApp>[0]) {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    const carol = await app.user('carol');
    await app.berth.accounts.createOrg('acme' as never, 'alice');
    await app.berth.accounts.createOrg('other' as never, 'carol');
    await call(app, 'PUT', '/api/orgs/acme/memberships/bob', as(alice));
    await pushImage(app.berth, 'acme/one', basic(alice.name, alice.token));
    await pushImage(app.berth, 'acme/two', basic(alice.name, alice.token));
    await pushImage(app.berth, 'other/three', basic(carol.name, carol.token));
    await call(app, 'PATCH', '/api/orgs/acme/packages/container/one', as(alice), { visibility: 'internal' });
    return { app, alice, bob, carol };
  }

  it('GET /api/orgs/{org}/audit-log answers an owner the organization\'s entries only, filtered by phrase and paged', async (t) => {
    const { app, alice } = await orgWithHistory(t);
    const all = (await call(app, 'GET', '/api/orgs/acme/audit-log', as(alice))).json() as Entry[];
    assert.ok(all.length >= 5);
    assert.ok(all.every((entry) => entry.org === 'acme'), JSON.stringify(all));
    assert.ok(!all.some((entry) => entry.target.startsWith('other/')));

    const packages = (await call(app, 'GET', '/api/orgs/acme/audit-log?phrase=action:package.+actor:alice', as(alice))).json() as Entry[];
    assert.deepEqual(packages.map((entry) => entry.action), ['package.visibility', 'package.publish', 'package.publish']);
    const byCategory = (await call(app, 'GET', '/api/orgs/acme/audit-log?phrase=action:org', as(alice))).json() as Entry[];
    assert.deepEqual(byCategory.map((entry) => entry.action).sort(), ['org.create', 'org.member_add']);
    assert.deepEqual((await call(app, 'GET', '/api/orgs/acme/audit-log?phrase=actor:nobody', as(alice))).json(), []);

    const first = await call(app, 'GET', '/api/orgs/acme/audit-log?phrase=action:package.&per_page=2', as(alice));
    assert.equal((first.json() as Entry[]).length, 2);
    assert.match(String(first.headers["link"]), /per_page=2&page=2>; rel="next"/);
    const second = await call(app, 'GET', '/api/orgs/acme/audit-log?phrase=action:package.&per_page=2&page=2', as(alice));
    assert.deepEqual((second.json() as Entry[]).map((entry) => entry.action), ['package.publish']);

    const bad = await app.berth.app.inject({ method: 'GET', url: '/api/orgs/acme/audit-log?phrase=colour:red', headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(bad.statusCode, 422);
  });

  it('GET /api/orgs/{org}/audit-log answers a member 403, an outsider and anonymous 404 and 401, and the site endpoint only admins', async (t) => {
    const { app, bob, carol } = await orgWithHistory(t);
    const get = (url: string, token?: string) => app.berth.app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });
    assert.equal((await get('/api/orgs/acme/audit-log', bob.token)).statusCode, 403);
    assert.equal((await get('/api/orgs/acme/audit-log', carol.token)).statusCode, 404);
    assert.equal((await get('/api/orgs/acme/audit-log')).statusCode, 401);
    assert.equal((await get('/api/orgs/nowhere/audit-log', carol.token)).statusCode, 404);
    const other = (await get('/api/orgs/other/audit-log', carol.token)).json() as Entry[];
    assert.ok(other.length > 0 && other.every((entry) => entry.org === 'other'));
    assert.equal((await get('/api/admin/audit-log', bob.token)).statusCode, 403);
    const root = await app.user('root');
    const site = (await get('/api/admin/audit-log?per_page=100', root.token)).json() as Entry[];
    assert.ok(site.some((entry) => entry.org === 'acme') && site.some((entry) => entry.org === 'other'));
  });

  it('?format=jsonl and Accept: application/x-ndjson export every matching entry as JSON lines, oldest first', async (t) => {
    const { app } = await orgWithHistory(t);
    const root = await app.user('root');
    const lines = await app.berth.app.inject({ method: 'GET', url: '/api/admin/audit-log?format=jsonl&phrase=action:package.publish', headers: { authorization: `Bearer ${root.token}` } });
    assert.equal(lines.statusCode, 200);
    assert.match(String(lines.headers['content-type']), /^application\/x-ndjson/);
    assert.ok(lines.body.endsWith('\n'));
    const parsed = lines.body.trimEnd().split('\n').map((line) => JSON.parse(line) as Entry & { id: number });
    assert.deepEqual(parsed.map((entry) => entry.target), ['acme/one', 'acme/two', 'other/three']);
    assert.ok(parsed[0] && parsed[1] && parsed[0].id < parsed[1].id);
    for (const key of ['@timestamp', 'created_at', 'action', 'actor', 'actor_kind', 'org', 'target', 'details', 'actor_ip', 'request_id']) assert.ok(key in (parsed[0] as object), key);
    const accepted = await app.berth.app.inject({ method: 'GET', url: '/api/admin/audit-log?phrase=action:package.publish', headers: { authorization: `Bearer ${root.token}`, accept: 'application/x-ndjson' } });
    assert.equal(accepted.body, lines.body);
  });
});

it('no token, token hash, password or Authorization value appears in any column of any entry', async (t) => {
  const app = await authApp(t);
  const alice = await app.user('alice');
  const secrets = [alice.token, hashToken(alice.token), 'alice-password', adminPassword, basic('alice', 'alice-password'), basic('alice', alice.token)];
  await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: basic('alice', 'alice-password') } });
  await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: basic('alice', 'wrong-password-1') } });
  await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: basic('wrong-password-2', 'alice-password') } });
  secrets.push('wrong-password-1');
  await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: `Bearer ${alice.token}` } });
  const created = await app.berth.app.inject({ method: 'POST', url: '/api/user/tokens', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' }, payload: JSON.stringify({ scopes: ['read:packages'] }) });
  const second = (created.json() as { token: string }).token;
  secrets.push(second, hashToken(second));
  await app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization: `Bearer ${second}` } });
  await pushImage(app.berth, 'alice/app', basic('alice', alice.token));
  await app.berth.sourceRepositories.create('alice/source');
  const minted = await app.berth.repositoryTokens.create((await app.berth.sourceRepositories.require('alice/source')).id, 60_000);
  secrets.push(minted.token, hashToken(minted.token));
  await app.berth.app.inject({ method: 'GET', url: '/token?scope=repository:alice/app:pull', headers: { authorization: basic('x', minted.token) } });
  await app.berth.app.inject({ method: 'GET', url: '/token', headers: { authorization: basic('x', alteredSecret(minted.token)) } });
  await app.berth.repositoryTokens.revoke(minted.id === undefined ? 0 : (await app.berth.sourceRepositories.require('alice/source')).id, minted.id);

  const rows = await app.berth.db.selectFrom('audit_log').selectAll().execute();
  assert.ok(rows.length >= 8, `${rows.length} entries`);
  const text = JSON.stringify(rows);
  for (const secret of secrets) assert.ok(!text.includes(secret), `an entry holds the secret ${secret.slice(0, 12)}…`);
});
