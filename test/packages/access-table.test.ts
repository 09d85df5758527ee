import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import type { PackageRole, Visibility } from '../../src/db/schema.js';
import { authApp, basic, jwtPayload, registryToken, sha256 } from '../auth/helpers.js';
import { pushLabelledImage } from './helpers.js';

const visibilities: Visibility[] = ['private', 'internal', 'public'];
const roles: Array<PackageRole | 'none'> = ['none', 'read', 'write', 'admin'];
const scopeSets: Record<string, string[]> = {
  read: ['read:packages'],
  write: ['write:packages'],
  delete: ['delete:packages'],
  all: ['read:packages', 'write:packages', 'delete:packages'],
};
const rank = { read: 1, write: 2, admin: 3 } as const;

/** Who calls: a user granted the role, a member of a team granted it, a plain member, an outsider, the org owner, nobody. */
type Who = 'granted' | 'teamie' | 'member' | 'outsider' | 'owner' | 'anonymous';
const people: Who[] = ['granted', 'teamie', 'member', 'outsider', 'owner', 'anonymous'];

/** The role the rules give: grants, team grants, internal for members, public for all, owners admin. */
function expectedRole(who: Who, visibility: Visibility, role: PackageRole | 'none'): PackageRole | undefined {
  if (who === 'owner') return 'admin';
  const candidates: Array<PackageRole | undefined> = [];
  if (visibility === 'public') candidates.push('read');
  if (visibility === 'internal' && who !== 'outsider' && who !== 'anonymous') candidates.push('read');
  if ((who === 'granted' || who === 'teamie') && role !== 'none') candidates.push(role);
  return candidates.reduce<PackageRole | undefined>((best, item) => (item && (!best || rank[item] > rank[best]) ? item : best), undefined);
}

function actions(role: PackageRole | undefined, scopes: string[] | undefined): Set<string> {
  const byRole = new Set(role === 'admin' ? ['pull', 'push', 'delete'] : role === 'write' ? ['pull', 'push'] : role === 'read' ? ['pull'] : []);
  if (!scopes) return byRole;
  const byScope = new Set<string>();
  if (scopes.includes('read:packages') || scopes.includes('write:packages')) byScope.add('pull');
  if (scopes.includes('write:packages')) byScope.add('push');
  if (scopes.includes('delete:packages')) byScope.add('delete');
  return new Set([...byRole].filter((action) => byScope.has(action)));
}

describe('authorization table: role x visibility x token scope x action, for users, team members, outsiders, anonymous', () => {
  it('answers every combination as the rules say, and never reveals a package the caller cannot read', async (t) => {
    const app = await authApp(t);
    const names = ['boss', 'granted', 'teamie', 'member', 'outsider'];
    const tokens: Record<string, Record<string, string>> = {};
    for (const name of names) {
      tokens[name] = {};
      for (const [label, scopes] of Object.entries(scopeSets)) tokens[name]![label] = (await app.user(name, scopes)).token;
    }
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
    for (const name of ['granted', 'teamie', 'member']) await app.berth.accounts.setOrgMember('acme', name, 'member');
    await app.berth.accounts.createTeam('acme', parseAccountName('devs'));
    await app.berth.accounts.addTeamMember('acme', 'devs', 'teamie');

    const bossAuth = basic('boss', tokens['boss']!['all']!);
    const packages: Array<{ repo: string; visibility: Visibility; role: PackageRole | 'none'; manifest: string; layer: string }> = [];
    for (const visibility of visibilities) {
      for (const role of roles) {
        const repo = `acme/${visibility}-${role}`;
        const image = await pushLabelledImage(app.berth, repo, bossAuth, { tag: 'v1', seed: repo });
        const pkg = await app.berth.packages.require(repo);
        if (role !== 'none') {
          await app.berth.packages.grant(pkg, 'user', 'granted', role);
          await app.berth.packages.grant(pkg, 'team', 'devs', role);
        }
        if (visibility !== 'private') await app.berth.packages.setVisibility(pkg, visibility, { byOrgOwner: true });
        const layer = `layer ${repo} amd64 ${repo}`;
        packages.push({ repo, visibility, role, manifest: image.digest, layer: sha256(layer) });
      }
    }
    const inject = (method: 'GET' | 'HEAD' | 'POST' | 'DELETE' | 'PATCH', url: string, authorization: string | undefined, payload?: string) =>
      app.berth.app.inject({ method, url, headers: { ...(authorization ? { authorization } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(payload ? { payload } : {}) });

    let rows = 0;
    for (const who of people) {
      const scopeLabels = who === 'anonymous' ? [undefined] : who === 'owner' ? ['all', 'read'] : Object.keys(scopeSets);
      for (const scopeLabel of scopeLabels) {
        const user = who === 'owner' ? 'boss' : who;
        const token = scopeLabel === undefined ? undefined : tokens[user]![scopeLabel]!;
        const authorization = token && basic(user, token);
        const scopes = scopeLabel === undefined ? undefined : scopeSets[scopeLabel];
        const catalog = authorization ? (await inject('GET', '/v2/_catalog', authorization)).json().repositories as string[] : undefined;
        for (const pkg of packages) {
          rows += 1;
          const role = expectedRole(who, pkg.visibility, pkg.role);
          const allowed = actions(role, scopes);
          const label = `${who} (${scopeLabel ?? 'no token'}) on ${pkg.repo}`;

          const pull = await inject('HEAD', `/v2/${pkg.repo}/manifests/${pkg.manifest}`, authorization);
          assert.equal(pull.statusCode, allowed.has('pull') ? 200 : !authorization ? 401 : role ? 403 : 404, `${label}: pull`);

          const push = await inject('POST', `/v2/${pkg.repo}/blobs/uploads/`, authorization);
          assert.equal(push.statusCode, allowed.has('push') ? 202 : !authorization ? 401 : 403, `${label}: push`);
          if (push.statusCode === 403) {
            const message = push.json().errors[0].message as string;
            if (role) assert.match(message, /^permission_denied: (write_package|the token lacks the write:packages scope)$/, label);
            else assert.equal(message, 'permission_denied: write_package', `${label}: same refusal as for a name that does not exist`);
          }

          const del = await inject('DELETE', `/v2/${pkg.repo}/manifests/${sha256('nothing')}`, authorization);
          assert.equal(del.statusCode, allowed.has('delete') ? 404 : !authorization ? 401 : 403, `${label}: delete`);

          if (authorization && who !== 'owner') {
            const mount = await inject('POST', `/v2/${user}/mounted/blobs/uploads/?mount=${pkg.layer}&from=${pkg.repo}`, authorization);
            const canPushOwn = scopes?.includes('write:packages') === true;
            if (canPushOwn) assert.equal(mount.statusCode, allowed.has('pull') ? 201 : 202, `${label}: mount from`);
            assert.equal(catalog?.includes(pkg.repo), allowed.has('pull'), `${label}: _catalog`);
          }

          const restBase = `/api/orgs/acme/packages/container/${pkg.repo.slice('acme/'.length)}`;
          const bearer = token && `Bearer ${token}`;
          const readScope = !scopes || scopes.includes('read:packages') || scopes.includes('write:packages');
          const read = await inject('GET', restBase, bearer);
          assert.equal(read.statusCode, !role ? 404 : readScope ? 200 : 403, `${label}: REST read`);
          const write = await inject('PATCH', restBase, bearer, JSON.stringify({ inherit_access: false }));
          assert.equal(write.statusCode, !bearer ? 401 : !role ? 404 : role === 'admin' && scopes?.includes('write:packages') ? 200 : 403, `${label}: REST write`);
          const remove = await inject('DELETE', `${restBase}/versions/999999`, bearer);
          const mayDelete = role === 'admin' && scopes?.includes('delete:packages');
          assert.equal(remove.statusCode, !bearer ? 401 : !role || mayDelete ? 404 : 403, `${label}: REST delete`);
          if (remove.statusCode === 404) assert.equal(remove.json().message === 'Package not found.', !role, `${label}: REST delete hides the package`);
        }
      }
    }
    assert.ok(rows >= 12 * 18, `${rows} rows`);
  });

  it('registry tokens carry the same decisions: anonymous pull tokens for public packages, 404 for a private one with a user token, 401 for an anonymous one', async (t) => {
    const app = await authApp(t);
    const boss = await app.user('boss');
    const outsider = await app.user('outsider');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
    const secret = await pushLabelledImage(app.berth, 'acme/secret', basic('boss', boss.token), { tag: 'v1' });
    const open = await pushLabelledImage(app.berth, 'acme/open', basic('boss', boss.token), { tag: 'v1' });
    await app.berth.packages.setVisibility(await app.berth.packages.require('acme/open'), 'public', { byOrgOwner: true });
    const token = (scope: string, authorization?: string) => registryToken(app, scope, authorization);

    const anonymousOpen = await token('repository:acme/open:pull,push');
    assert.deepEqual(jwtPayload(anonymousOpen).access[0]?.actions, ['pull']);
    const pulled = await app.berth.app.inject({ method: 'GET', url: `/v2/acme/open/manifests/${open.digest}`, headers: { authorization: `Bearer ${anonymousOpen}` } });
    assert.equal(pulled.statusCode, 200);

    const anonymousSecret = await token('repository:acme/secret:pull');
    assert.deepEqual(jwtPayload(anonymousSecret).access[0]?.actions, []);
    const refused = await app.berth.app.inject({ method: 'GET', url: `/v2/acme/secret/manifests/${secret.digest}`, headers: { authorization: `Bearer ${anonymousSecret}` } });
    assert.equal(refused.statusCode, 401);
    assert.match(refused.headers['www-authenticate'] as string, /error="insufficient_scope"/);

    const outsiderSecret = await token('repository:acme/secret:pull', basic('outsider', outsider.token));
    for (const repo of ['acme/secret', 'acme/nothing-here']) {
      const res = await app.berth.app.inject({ method: 'GET', url: `/v2/${repo}/manifests/${secret.digest}`, headers: { authorization: `Bearer ${outsiderSecret}` } });
      if (repo === 'acme/secret') {
        assert.equal(res.statusCode, 404);
        assert.equal(res.json().errors[0].code, 'NAME_UNKNOWN');
      }
    }
    const push = await token('repository:acme/secret:pull,push', basic('outsider', outsider.token));
    const pushRes = await app.berth.app.inject({ method: 'POST', url: '/v2/acme/secret/blobs/uploads/', headers: { authorization: `Bearer ${push}` } });
    assert.equal(pushRes.statusCode, 403);
    assert.equal(pushRes.json().errors[0].message, 'permission_denied: write_package');
  });
});
