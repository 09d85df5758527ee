import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { authApp, basic, berthCli, tryBerthCli } from '../auth/helpers.js';
import { apiRequest } from '../support/api-request.js';
import { pushLabelledImage, pushMultiArch } from './helpers.js';

type App = Awaited<ReturnType<typeof authApp>>;

async function v2(app: App, method: 'GET' | 'PUT' | 'DELETE', url: string, authorization: string, manifest?: object) {
  return app.berth.app.inject({
    method,
    url,
    headers: { authorization, ...(manifest ? { 'content-type': (manifest as { mediaType: string }).mediaType } : {}) },
    ...(manifest ? { payload: JSON.stringify(manifest) } : {}),
  });
}

/** The manifest bytes a tag or digest serves. */
async function manifestOf(app: App, repo: string, reference: string, authorization: string): Promise<object> {
  const res = await v2(app, 'GET', `/v2/${repo}/manifests/${reference}`, authorization);
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as object;
}

async function versionIdOf(app: App, base: string, token: string, digest: string): Promise<number> {
  const versions = (await apiRequest(app, 'GET', `${base}/versions`, token)).json() as Array<{ id: number; name: string }>;
  const found = versions.find((version) => version.name === digest);
  assert.ok(found, `version ${digest}`);
  return found.id;
}

describe('immutable tags: patterns on a package and its owner keep tags where they point', () => {
  it('PUT /v2/<name>/manifests/<immutable tag> of another manifest answers 403 DENIED naming the rule; the same manifest again is 201; other tags move', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const a = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1.0.0', seed: 'a' });
    await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'latest', seed: 'a' });
    const set = await apiRequest(app, 'PUT', '/api/user/packages/container/app/immutable-tags', alice.token, { patterns: ['v\\d+\\.\\d+\\.\\d+', 'v\\d+\\.\\d+\\.\\d+'] });
    assert.equal(set.statusCode, 200, set.body);
    assert.deepEqual(set.json(), { patterns: ['v\\d+\\.\\d+\\.\\d+'], owner_patterns: [] });

    const aManifest = await manifestOf(app, 'alice/app', a.digest, auth);
    const b = await pushLabelledImage(app.berth, 'alice/app', auth, { seed: 'b' });
    const bManifest = await manifestOf(app, 'alice/app', b.digest, auth);

    const moved = await v2(app, 'PUT', '/v2/alice/app/manifests/v1.0.0', auth, bManifest);
    assert.equal(moved.statusCode, 403);
    assert.equal(moved.headers['content-type'], 'application/json');
    assert.deepEqual(moved.json(), {
      errors: [
        {
          code: 'DENIED',
          message: `tag "v1.0.0" is immutable (pattern "v\\\\d+\\\\.\\\\d+\\\\.\\\\d+" of package alice/app): cannot move it from ${a.digest} to ${b.digest}`,
          detail: { tag: 'v1.0.0', pattern: 'v\\d+\\.\\d+\\.\\d+' },
        },
      ],
    });
    assert.deepEqual(await manifestOf(app, 'alice/app', 'v1.0.0', auth), aManifest, 'the tag still points at the first manifest');

    assert.equal((await v2(app, 'PUT', '/v2/alice/app/manifests/v1.0.0', auth, aManifest)).statusCode, 201, 'the same manifest again: a client retrying');
    assert.equal((await v2(app, 'PUT', '/v2/alice/app/manifests/latest', auth, bManifest)).statusCode, 201, 'a tag no pattern matches moves');
    assert.deepEqual(await manifestOf(app, 'alice/app', 'latest', auth), bManifest);
    assert.equal((await v2(app, 'PUT', '/v2/alice/app/manifests/v2.0.0', auth, bManifest)).statusCode, 201, 'a new immutable tag is set once');
    assert.equal((await v2(app, 'PUT', '/v2/alice/app/manifests/v1.0.0-rc1', auth, bManifest)).statusCode, 201, 'the pattern matches the whole tag');
    assert.equal((await v2(app, 'PUT', '/v2/alice/app/manifests/v1.0.0-rc1', auth, aManifest)).statusCode, 201, 'and only the whole tag');
    assert.equal((await v2(app, 'PUT', '/v2/alice/app/manifests/v2.0.0', auth, aManifest)).statusCode, 403);
  });

  it('DELETE of an immutable tag, of the manifest carrying one, of its version, of its package, and a forced delete of a platform image under one: all refused', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const base = '/api/user/packages/container/app';
    const { arm, index } = await pushMultiArch(app.berth, 'alice/app', auth, { index: { tag: 'stable' } });
    await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'stable-old', seed: 'old' });
    assert.equal((await apiRequest(app, 'PUT', `${base}/immutable-tags`, alice.token, { patterns: ['stable'] })).statusCode, 200);
    const rule = 'tag "stable" is immutable (pattern "stable" of package alice/app)';

    const byTag = await v2(app, 'DELETE', '/v2/alice/app/manifests/stable', auth);
    assert.equal(byTag.statusCode, 403);
    assert.deepEqual(byTag.json().errors, [{ code: 'DENIED', message: `${rule}: cannot delete it`, detail: { tag: 'stable', pattern: 'stable' } }]);
    const byDigest = await v2(app, 'DELETE', `/v2/alice/app/manifests/${index.digest}`, auth);
    assert.equal(byDigest.statusCode, 403);
    assert.equal(byDigest.json().errors[0].code, 'DENIED');
    assert.equal(byDigest.json().errors[0].message, `${rule}: cannot delete manifest ${index.digest}`);

    const indexId = await versionIdOf(app, base, alice.token, index.digest);
    const version = await apiRequest(app, 'DELETE', `${base}/versions/${indexId}`, alice.token);
    assert.equal(version.statusCode, 409);
    assert.equal(version.json().message, `${rule}: cannot delete version ${indexId} (${index.digest})`);
    const armId = await versionIdOf(app, base, alice.token, arm.digest);
    const forced = await apiRequest(app, 'DELETE', `${base}/versions/${armId}?force=true`, alice.token);
    assert.equal(forced.statusCode, 409, 'force breaks a tagged index, not an immutable one');
    assert.equal(forced.json().message, `${rule}: cannot delete version ${armId} (${arm.digest}), which the index it points at lists`);
    const whole = await apiRequest(app, 'DELETE', base, alice.token);
    assert.equal(whole.statusCode, 409);
    assert.equal(whole.json().message, `${rule}: cannot delete package alice/app`);

    assert.equal((await v2(app, 'DELETE', '/v2/alice/app/manifests/stable-old', auth)).statusCode, 202, 'a tag no pattern matches is deleted');
    assert.equal((await v2(app, 'GET', '/v2/alice/app/manifests/stable', auth)).statusCode, 200, 'the refusals changed nothing');
    assert.equal((await apiRequest(app, 'GET', `${base}/versions/${armId}`, alice.token)).json().deleted_at, undefined);

    const cleared = await apiRequest(app, 'PUT', `${base}/immutable-tags`, alice.token, { patterns: [] });
    assert.deepEqual(cleared.json(), { patterns: [], owner_patterns: [] });
    assert.equal((await v2(app, 'DELETE', '/v2/alice/app/manifests/stable', auth)).statusCode, 202, 'without the pattern the tag goes');
    assert.equal((await apiRequest(app, 'DELETE', base, alice.token)).statusCode, 204);
  });

  it("an organization's default applies to its packages and adds up with a package's own; members read it, owners change it", async (t) => {
    const app = await authApp(t);
    const boss = await app.user('boss');
    const alice = await app.user('alice');
    const eve = await app.user('eve');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
    await app.berth.accounts.setOrgMember('acme', 'alice', 'member');
    const auth = basic('alice', alice.token);

    const byMember = await apiRequest(app, 'PUT', '/api/orgs/acme/packages/immutable-tags', alice.token, { patterns: ['release-.*'] });
    assert.equal(byMember.statusCode, 403);
    assert.equal(byMember.json().message, 'You must be an owner of this organization.');
    assert.equal((await apiRequest(app, 'GET', '/api/orgs/acme/packages/immutable-tags', eve.token)).statusCode, 404, 'an outsider learns nothing');
    assert.equal((await apiRequest(app, 'GET', '/api/orgs/acme/packages/immutable-tags')).statusCode, 401);
    const set = await apiRequest(app, 'PUT', '/api/orgs/acme/packages/immutable-tags', boss.token, { patterns: ['release-.*'] });
    assert.equal(set.statusCode, 200, set.body);
    assert.deepEqual(set.json(), { patterns: ['release-.*'] });
    assert.deepEqual((await apiRequest(app, 'GET', '/api/orgs/acme/packages/immutable-tags', alice.token)).json(), { patterns: ['release-.*'] });

    // The default holds from a package's first push on.
    const a = await pushLabelledImage(app.berth, 'acme/app', auth, { tag: 'release-1', seed: 'a' });
    const b = await pushLabelledImage(app.berth, 'acme/app', auth, { tag: 'edge', seed: 'b' });
    const bManifest = await manifestOf(app, 'acme/app', b.digest, auth);
    const moved = await v2(app, 'PUT', '/v2/acme/app/manifests/release-1', auth, bManifest);
    assert.equal(moved.statusCode, 403);
    assert.equal(moved.json().errors[0].message, `tag "release-1" is immutable (pattern "release-.*" set by acme for its packages): cannot move it from ${a.digest} to ${b.digest}`);

    const base = '/api/orgs/acme/packages/container/app';
    const own = await apiRequest(app, 'PUT', `${base}/immutable-tags`, alice.token, { patterns: ['edge'] });
    assert.equal(own.statusCode, 200, own.body);
    assert.deepEqual(own.json(), { patterns: ['edge'], owner_patterns: ['release-.*'] });
    const aManifest = await manifestOf(app, 'acme/app', a.digest, auth);
    assert.equal((await v2(app, 'PUT', '/v2/acme/app/manifests/edge', auth, aManifest)).statusCode, 403, "the package's own pattern");
    assert.equal((await v2(app, 'PUT', '/v2/acme/app/manifests/release-1', auth, bManifest)).statusCode, 403, "the owner's pattern still holds");
    assert.equal((await apiRequest(app, 'PUT', `${base}/immutable-tags`, alice.token, { patterns: [] })).statusCode, 200);
    assert.equal((await v2(app, 'PUT', '/v2/acme/app/manifests/release-1', auth, bManifest)).statusCode, 403, 'clearing the package leaves the default');
    assert.equal((await v2(app, 'PUT', '/v2/acme/app/manifests/edge', auth, aManifest)).statusCode, 201);

    // A user's own namespace has a default too, set by the user alone.
    const mine = await apiRequest(app, 'PUT', '/api/user/packages/immutable-tags', alice.token, { patterns: ['v.*'] });
    assert.deepEqual(mine.json(), { patterns: ['v.*'] });
    assert.deepEqual((await apiRequest(app, 'GET', '/api/users/alice/packages/immutable-tags', alice.token)).json(), { patterns: ['v.*'] });
    assert.equal((await apiRequest(app, 'GET', '/api/users/alice/packages/immutable-tags', eve.token)).statusCode, 404);
    assert.equal((await apiRequest(app, 'PUT', '/api/users/alice/packages/immutable-tags', eve.token, { patterns: [] })).statusCode, 404);
  });

  it('PUT immutable-tags answers 422 for a pattern that does not compile, escapes its anchors, may backtrack exponentially, is too long, or too many', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1' });
    const url = '/api/user/packages/container/app/immutable-tags';
    const refused = async (patterns: unknown, message: RegExp) => {
      const res = await apiRequest(app, 'PUT', url, alice.token, { patterns });
      assert.equal(res.statusCode, 422, `${JSON.stringify(patterns)}: ${res.body}`);
      assert.match(res.json().message, message);
    };
    await refused('v.*', /patterns must be an array/);
    await refused([''], /non-empty string/);
    await refused([3], /non-empty string/);
    await refused(['v[0-9'], /pattern "v\[0-9" is not a valid regular expression/);
    await refused(['a)|(b'], /not a valid regular expression/);
    await refused(['(a+)+'], /a repeated group may not contain a quantifier/);
    await refused(['v\\d+(\\.\\d+)*'], /a repeated group may not contain a quantifier/);
    await refused(['(a|ab)*c'], /a repeated group may not contain an alternation/);
    await refused(['(a)\\1'], /backreferences are not allowed/);
    await refused(['x'.repeat(101)], /longer than 100 characters/);
    await refused(Array.from({ length: 21 }, (_, i) => `t${i}`), /at most 20 patterns/);
    assert.deepEqual((await apiRequest(app, 'GET', url, alice.token)).json(), { patterns: [], owner_patterns: [] }, 'nothing was stored');

    const accepted = ['v\\d+(?:\\.\\d+)?', '(?:alpha|beta)-[0-9]+', '(?!dev-).+-final', '[a-z]{2,8}'];
    const res = await apiRequest(app, 'PUT', url, alice.token, { patterns: accepted });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().patterns, [...accepted].sort());
  });

  it('who may: GET and PUT need admin and write:packages; readers, writers, read-only tokens and repository tokens are refused', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    const carol = await app.user('carol');
    await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1' });
    const pkg = await app.berth.packages.require('alice/app');
    await app.berth.packages.setVisibility(pkg, 'public', { byOrgOwner: false });
    await app.berth.packages.grant(pkg, 'user', 'bob', 'read');
    await app.berth.packages.grant(pkg, 'user', 'carol', 'write');
    const url = '/api/users/alice/packages/container/app/immutable-tags';
    for (const [who, token] of [['reader', bob.token], ['writer', carol.token]] as const) {
      const put = await apiRequest(app, 'PUT', url, token, { patterns: ['.*'] });
      assert.equal(put.statusCode, 403, who);
      assert.equal(put.json().message, 'permission_denied: admin_package');
      assert.equal((await apiRequest(app, 'GET', url, token)).statusCode, 403, who);
    }
    assert.equal((await apiRequest(app, 'PUT', url, undefined, { patterns: ['.*'] })).statusCode, 401);
    const readOnly = await app.user('alice', ['read:packages']);
    const scoped = await apiRequest(app, 'PUT', url, readOnly.token, { patterns: ['.*'] });
    assert.equal(scoped.statusCode, 403);
    assert.equal(scoped.json().message, 'permission_denied: the token lacks the write:packages scope');
    assert.equal((await apiRequest(app, 'PUT', '/api/user/packages/immutable-tags', readOnly.token, { patterns: ['.*'] })).statusCode, 403);

    const repo = await app.berth.sourceRepositories.create('alice/src');
    const repoToken = await app.berth.repositoryTokens.create(repo.id, 60_000);
    await app.berth.sourceRepositories.setAccess(pkg.id, repo, 'admin');
    const byRepo = await apiRequest(app, 'PUT', url, repoToken.token, { patterns: ['.*'] });
    assert.equal(byRepo.statusCode, 403);
    assert.match(byRepo.json().message, /repository tokens cannot change package settings/);
    assert.deepEqual((await apiRequest(app, 'GET', url, alice.token)).json(), { patterns: [], owner_patterns: [] });
  });

  it('berth package immutable-tags lists, adds, removes and clears the patterns of a package and of an owner', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1' });
    const run = async (...args: string[]) => (await berthCli(app.dataDir, ['package', 'immutable-tags', ...args])).stdout;
    assert.equal(await run('alice/app'), '');
    assert.equal(await run('alice/app', '--add', 'v.*', '--add', 'latest'), 'package\tlatest\npackage\tv.*\n');
    assert.equal(await run('alice', '--add', 'release-.*'), 'alice\trelease-.*\n');
    assert.equal(await run('alice/app', '--remove', 'latest'), 'package\tv.*\nalice\trelease-.*\n');
    assert.equal(await run('alice/app', '--clear'), 'alice\trelease-.*\n');
    assert.equal(await run('alice', '--clear'), '');
    const bad = await tryBerthCli(app.dataDir, ['package', 'immutable-tags', 'alice/app', '--add', '(a+)+']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /pattern "\(a\+\)\+" is refused: a repeated group may not contain a quantifier/);
  });
});
