import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import type { Berth } from '../../src/server.js';
import { authApp, basic, berthCli, sha256 } from '../auth/helpers.js';
import { apiRequest } from '../support/api-request.js';
import { type Pushed, pushBlob, pushIndex, pushLabelledImage, putManifest } from './helpers.js';

type App = Awaited<ReturnType<typeof authApp>>;
type Listed = { id: number; name: string; tags: string[]; reason: string };

const dayMs = 24 * 60 * 60 * 1000;

async function manifestStatus(app: App, repo: string, reference: string, auth: string): Promise<number> {
  return (await app.berth.app.inject({ method: 'GET', url: `/v2/${repo}/manifests/${reference}`, headers: { authorization: auth } })).statusCode;
}

/**
 * Makes versions look `days` old: pushed then, and tagged then. Pushes happen now, so the tests
 * age them in the database; `order` spreads their push times so that `keep_newest` sees them in
 * the order given (first = oldest).
 */
async function age(berth: Berth, days: number, ...versions: Pushed[]): Promise<void> {
  for (const [order, version] of versions.entries()) {
    const then = new Date(Date.now() - days * dayMs + order * 1000).toISOString();
    await berth.db.updateTable('package_versions').set({ created_at: then, updated_at: then }).where('digest', '=', version.digest).execute();
    await berth.db.updateTable('tags').set({ updated_at: then }).where('digest', '=', version.digest).execute();
  }
}

/** An artifact (a signature, an SBOM) whose `subject` is `subject`, pushed by digest or with `tag`. */
async function pushReferrer(app: App, repo: string, auth: string, subject: Pushed, seed: string, tag?: string): Promise<Pushed> {
  const empty = await pushBlob(app.berth, repo, auth, '{}');
  const layer = await pushBlob(app.berth, repo, auth, `signature ${seed} of ${subject.digest}`);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty.digest, size: empty.size },
    layers: [{ mediaType: 'application/octet-stream', digest: layer.digest, size: layer.size }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
  const reference = tag ?? sha256(JSON.stringify(manifest));
  return putManifest(app.berth, repo, auth, reference, manifest);
}

async function preview(app: App, base: string, token: string, policy?: object): Promise<{ policy: string | null; versions: Listed[] }> {
  const res = await apiRequest(app, 'POST', `${base}/retention/preview`, token, policy && { policy });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

async function apply(app: App, base: string, token: string): Promise<{ policy: string | null; versions: Listed[] }> {
  const res = await apiRequest(app, 'POST', `${base}/retention/apply`, token);
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

async function setPolicy(app: App, url: string, token: string, policy: object): Promise<void> {
  const res = await apiRequest(app, 'PUT', url, token, policy);
  assert.equal(res.statusCode, 200, res.body);
}

async function deletedVersions(app: App, base: string, token: string): Promise<Array<{ id: number; name: string; deleted_by_policy: string | null; metadata: { container: { tags: string[] } } }>> {
  return (await apiRequest(app, 'GET', `${base}/versions?state=deleted`, token)).json();
}

/** Signs in through the login form, as a browser does; answers the Cookie header to send. */
async function signIn(app: App, user: string): Promise<string> {
  const cookies = (res: { headers: Record<string, unknown> }) => [res.headers['set-cookie'] ?? []].flat().map((line) => String(line).split(';')[0] ?? '');
  const login = await app.berth.app.inject({ method: 'GET', url: '/login' });
  const csrf = cookies(login).find((pair) => pair.startsWith('berth_csrf=')) ?? '';
  const form = new URLSearchParams({ csrf: csrf.slice('berth_csrf='.length), username: user, password: `${user}-password`, next: '/' });
  const res = await app.berth.app.inject({ method: 'POST', url: '/login', headers: { cookie: csrf, 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() });
  assert.equal(res.statusCode, 303, res.body);
  return [csrf, ...cookies(res)].join('; ');
}

describe('retention policies: what a package keeps, previewed and applied as soft deletions', () => {
  it('delete_untagged_older_than_days: an old untagged image goes, a young one and an old tagged one stay; the preview changes nothing and lists what apply deletes; the deleted version names the policy and restores', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const base = '/api/user/packages/container/app';
    const tagged = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1', seed: 'tagged' });
    const old = await pushLabelledImage(app.berth, 'alice/app', auth, { seed: 'old' });
    const young = await pushLabelledImage(app.berth, 'alice/app', auth, { seed: 'young' });
    await age(app.berth, 10, tagged, old);
    await age(app.berth, 6, young);
    await setPolicy(app, `${base}/retention`, alice.token, { delete_untagged_older_than_days: 7 });

    const dry = await preview(app, base, alice.token);
    assert.equal(dry.policy, 'package:alice/app');
    assert.deepEqual(dry.versions.map((version) => version.name), [old.digest]);
    assert.match(dry.versions[0]?.reason ?? '', /^untagged, last active .*, older than 7 days$/);
    assert.equal(await manifestStatus(app, 'alice/app', old.digest, auth), 200, 'the preview deleted nothing');
    assert.deepEqual(await deletedVersions(app, base, alice.token), []);

    const applied = await apply(app, base, alice.token);
    assert.deepEqual(applied, dry, 'apply deletes what the preview listed');
    assert.equal(await manifestStatus(app, 'alice/app', old.digest, auth), 404);
    assert.equal(await manifestStatus(app, 'alice/app', young.digest, auth), 200);
    assert.equal(await manifestStatus(app, 'alice/app', 'v1', auth), 200);
    const [deleted] = await deletedVersions(app, base, alice.token);
    assert.equal(deleted?.name, old.digest);
    assert.equal(deleted?.deleted_by_policy, 'package:alice/app');

    assert.equal((await apiRequest(app, 'POST', `${base}/versions/${deleted?.id}/restore`, alice.token)).statusCode, 204);
    assert.equal(await manifestStatus(app, 'alice/app', old.digest, auth), 200, 'restorable');
    assert.equal((await apiRequest(app, 'GET', `${base}/versions/${deleted?.id}`, alice.token)).json().deleted_by_policy, undefined, 'a live version has no deleting policy');
    assert.deepEqual((await apply(app, base, alice.token)).versions, [], 'a restore is activity: the policy does not take it again at once');
  });

  it('multi-arch: the untagged platform images of an old tagged index stay; an old untagged index goes first, then the platform images no kept index lists', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const base = '/api/user/packages/container/multi';
    const amd = await pushLabelledImage(app.berth, 'alice/multi', auth, { arch: 'amd64', seed: 'kept' });
    const arm = await pushLabelledImage(app.berth, 'alice/multi', auth, { arch: 'arm64', seed: 'shared' });
    const kept = await pushIndex(app.berth, 'alice/multi', auth, [
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64' } },
    ], { tag: 'latest' });
    const amdOld = await pushLabelledImage(app.berth, 'alice/multi', auth, { arch: 'amd64', seed: 'gone' });
    const gone = await pushIndex(app.berth, 'alice/multi', auth, [
      { image: amdOld, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64' } },
    ]);
    await age(app.berth, 30, amd, arm, kept, amdOld, gone);
    await setPolicy(app, `${base}/retention`, alice.token, { delete_untagged_older_than_days: 7 });

    const dry = await preview(app, base, alice.token);
    assert.deepEqual(dry.versions.map((version) => version.name), [gone.digest, amdOld.digest], 'the index before its platform image');
    assert.equal(dry.versions[1]?.reason, `listed only by deleted index ${gone.digest}`);
    assert.deepEqual(await apply(app, base, alice.token), dry);
    for (const digest of [kept.digest, amd.digest, arm.digest]) assert.equal(await manifestStatus(app, 'alice/multi', digest, auth), 200, digest);
    for (const digest of [gone.digest, amdOld.digest]) assert.equal(await manifestStatus(app, 'alice/multi', digest, auth), 404, digest);
    const deleted = await deletedVersions(app, base, alice.token);
    assert.deepEqual(deleted.map((version) => [version.name, version.deleted_by_policy]).sort(), [[gone.digest, 'package:alice/multi'], [amdOld.digest, 'package:alice/multi']].sort());

    // Restored in the same order the other way round: the platform image, then its index.
    const byName = new Map(deleted.map((version) => [version.name, version.id]));
    assert.equal((await apiRequest(app, 'POST', `${base}/versions/${byName.get(amdOld.digest)}/restore`, alice.token)).statusCode, 204);
    assert.equal((await apiRequest(app, 'POST', `${base}/versions/${byName.get(gone.digest)}/restore`, alice.token)).statusCode, 204);
    assert.equal(await manifestStatus(app, 'alice/multi', gone.digest, auth), 200);
  });

  it('referrers: the signature of a kept image stays, the signature of a deleted image goes with it, a tagged referrer stays', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const base = '/api/user/packages/container/signed';
    const keptImage = await pushLabelledImage(app.berth, 'alice/signed', auth, { tag: 'v1', seed: 'kept' });
    const keptSignature = await pushReferrer(app, 'alice/signed', auth, keptImage, 'kept');
    const oldImage = await pushLabelledImage(app.berth, 'alice/signed', auth, { seed: 'old' });
    const oldSignature = await pushReferrer(app, 'alice/signed', auth, oldImage, 'old');
    const taggedSbom = await pushReferrer(app, 'alice/signed', auth, oldImage, 'sbom', 'sbom-of-old');
    await age(app.berth, 30, keptImage, keptSignature, oldImage, oldSignature, taggedSbom);
    await setPolicy(app, `${base}/retention`, alice.token, { delete_untagged_older_than_days: 7 });

    const dry = await preview(app, base, alice.token);
    assert.deepEqual(dry.versions.map((version) => [version.name, version.reason.replace(/last active [^,]+/, 'last active T')]), [
      [oldImage.digest, 'untagged, last active T, older than 7 days'],
      [oldSignature.digest, `referrer of deleted ${oldImage.digest}`],
    ]);
    assert.deepEqual(await apply(app, base, alice.token), dry);
    assert.equal(await manifestStatus(app, 'alice/signed', keptSignature.digest, auth), 200);
    assert.equal(await manifestStatus(app, 'alice/signed', 'sbom-of-old', auth), 200);
    assert.equal(await manifestStatus(app, 'alice/signed', oldSignature.digest, auth), 404);
  });

  it('keep_newest, keep_tags, and delete_tagged_older_than_days with delete_tags, which takes only versions all of whose tags match; immutable tags are never deleted', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const base = '/api/user/packages/container/prs';
    const immutable = await pushLabelledImage(app.berth, 'alice/prs', auth, { tag: 'pr-1', seed: '1' });
    const alsoStable = await pushLabelledImage(app.berth, 'alice/prs', auth, { tag: 'pr-2', seed: '2' });
    await putManifest(app.berth, 'alice/prs', auth, 'stable', (await app.berth.app.inject({ method: 'GET', url: '/v2/alice/prs/manifests/pr-2', headers: { authorization: auth } })).json());
    const keptByPattern = await pushLabelledImage(app.berth, 'alice/prs', auth, { tag: 'pr-3', seed: '3' });
    const doomed = await pushLabelledImage(app.berth, 'alice/prs', auth, { tag: 'pr-4', seed: '4' });
    const newestOld = await pushLabelledImage(app.berth, 'alice/prs', auth, { tag: 'pr-5', seed: '5' });
    const untagged = await pushLabelledImage(app.berth, 'alice/prs', auth, { seed: 'untagged' });
    await age(app.berth, 20, immutable, alsoStable, keptByPattern, doomed, newestOld, untagged);
    assert.equal((await apiRequest(app, 'PUT', `${base}/immutable-tags`, alice.token, { patterns: ['pr-1'] })).statusCode, 200);
    await setPolicy(app, `${base}/retention`, alice.token, { keep_newest: 2, keep_tags: ['pr-3'], delete_tagged_older_than_days: 7, delete_tags: ['pr-\\d+'] });
    const got = await apiRequest(app, 'GET', `${base}/retention`, alice.token);
    assert.deepEqual(got.json(), {
      policy: { keep_newest: 2, keep_tags: ['pr-3'], delete_untagged_older_than_days: null, delete_tagged_older_than_days: 7, delete_tags: ['pr-\\d+'] },
      owner_policy: null,
      applies: 'package',
    });

    const dry = await preview(app, base, alice.token);
    assert.deepEqual(dry.versions.map((version) => [version.name, version.tags]), [[doomed.digest, ['pr-4']]], 'pr-5 and the untagged image are the 2 newest');
    assert.match(dry.versions[0]?.reason ?? '', /^tagged pr-4, last active .*, older than 7 days$/);
    // A policy tried before it is set: without keep_newest, pr-5 goes too, and the untagged image stays.
    const tried = await preview(app, base, alice.token, { keep_tags: ['pr-3'], delete_tagged_older_than_days: 7, delete_tags: ['pr-\\d+'] });
    assert.deepEqual(tried.versions.map((version) => version.name).sort(), [doomed.digest, newestOld.digest].sort());
    assert.deepEqual((await apply(app, base, alice.token)).versions, dry.versions, 'apply used the saved policy, not the one tried');
    assert.equal(await manifestStatus(app, 'alice/prs', 'pr-4', auth), 404);
    for (const tag of ['pr-1', 'pr-2', 'stable', 'pr-3', 'pr-5']) assert.equal(await manifestStatus(app, 'alice/prs', tag, auth), 200, tag);
    const [deleted] = await deletedVersions(app, base, alice.token);
    assert.deepEqual(deleted?.metadata.container.tags, ['pr-4'], 'the deleted version keeps its tag for a restore');

    // Even a policy that would delete every pr-* tag leaves the immutable one.
    const everything = await preview(app, base, alice.token, { delete_tagged_older_than_days: 1, delete_tags: ['.*'] });
    assert.ok(!everything.versions.some((version) => version.name === immutable.digest));
    assert.ok(everything.versions.some((version) => version.name === alsoStable.digest), 'when every tag matches, a version with several tags goes');
  });

  it("an owner's default applies to its packages without a policy of their own; a package's policy replaces it, {} keeps everything; the sweep applies it and logs the package", async (t) => {
    const app = await authApp(t, { uploadExpiry: '4s' });
    const boss = await app.user('boss');
    const alice = await app.user('alice');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
    await app.berth.accounts.setOrgMember('acme', 'alice', 'member');
    const auth = basic('boss', boss.token);
    const one = await pushLabelledImage(app.berth, 'acme/one', auth, { seed: 'one' });
    const two = await pushLabelledImage(app.berth, 'acme/two', auth, { seed: 'two' });
    const three = await pushLabelledImage(app.berth, 'acme/three', auth, { seed: 'three' });
    await age(app.berth, 10, one, two, three);

    const byMember = await apiRequest(app, 'PUT', '/api/orgs/acme/packages/retention', alice.token, { delete_untagged_older_than_days: 7 });
    assert.equal(byMember.statusCode, 403);
    assert.equal(byMember.json().message, 'You must be an owner of this organization.');
    await setPolicy(app, '/api/orgs/acme/packages/retention', boss.token, { delete_untagged_older_than_days: 30 });
    assert.deepEqual((await apiRequest(app, 'GET', '/api/orgs/acme/packages/retention', alice.token)).json().policy.delete_untagged_older_than_days, 30, 'members read it');
    await setPolicy(app, '/api/orgs/acme/packages/container/two/retention', boss.token, {});
    await setPolicy(app, '/api/orgs/acme/packages/container/three/retention', boss.token, { delete_untagged_older_than_days: 5 });
    assert.equal((await apiRequest(app, 'GET', '/api/orgs/acme/packages/container/two/retention', boss.token)).json().applies, 'package');
    assert.equal((await apiRequest(app, 'GET', '/api/orgs/acme/packages/container/one/retention', boss.token)).json().applies, 'owner');
    // Not yet 30 days old: nothing goes anywhere but where the package's own policy says.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(await manifestStatus(app, 'acme/one', one.digest, auth), 200);
    assert.equal(await manifestStatus(app, 'acme/two', two.digest, auth), 200);

    await setPolicy(app, '/api/orgs/acme/packages/retention', boss.token, { delete_untagged_older_than_days: 7 });
    assert.deepEqual((await preview(app, '/api/orgs/acme/packages/container/one', boss.token)).policy, 'org:acme');
    assert.deepEqual((await preview(app, '/api/orgs/acme/packages/container/two', boss.token)).versions, [], '{} keeps everything');
    // The sweep (every second with this upload expiry) applies the default and the package policies.
    for (let tries = 0; tries < 100 && !app.logs().includes('"package":"acme/one"'); tries++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await manifestStatus(app, 'acme/one', one.digest, auth), 404);
    assert.equal(await manifestStatus(app, 'acme/two', two.digest, auth), 200);
    assert.equal(await manifestStatus(app, 'acme/three', three.digest, auth), 404);
    const lines = app.logs().split('\n').filter((line) => line.includes('retention policy deleted versions'));
    const logged = lines.map((line) => JSON.parse(line) as { package: string; policy: string; versions: number });
    assert.deepEqual(logged.map((line) => [line.package, line.policy, line.versions]).sort(), [['acme/one', 'org:acme', 1], ['acme/three', 'package:acme/three', 1]]);
    const [deleted] = await deletedVersions(app, '/api/orgs/acme/packages/container/one', boss.token);
    assert.equal(deleted?.deleted_by_policy, 'org:acme');

    assert.equal((await apiRequest(app, 'DELETE', '/api/orgs/acme/packages/container/two/retention', boss.token)).statusCode, 204);
    assert.equal((await apiRequest(app, 'GET', '/api/orgs/acme/packages/container/two/retention', boss.token)).json().applies, 'owner', 'without its own, the package takes the default again');
  });

  it('PUT …/retention by a reader or a writer answers 403, by an outsider 404; apply needs delete:packages; bad policies answer 422', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    const carol = await app.user('carol');
    const eve = await app.user('eve');
    const noDelete = await app.user('alice', ['read:packages', 'write:packages']);
    const auth = basic('alice', alice.token);
    const base = '/api/user/packages/container/app';
    const old = await pushLabelledImage(app.berth, 'alice/app', auth, { seed: 'old' });
    await age(app.berth, 10, old);
    assert.equal((await apiRequest(app, 'PUT', `${base}/roles`, alice.token, { user: 'bob', role: 'read' })).statusCode, 200);
    assert.equal((await apiRequest(app, 'PUT', `${base}/roles`, alice.token, { user: 'carol', role: 'write' })).statusCode, 200);
    const policy = { delete_untagged_older_than_days: 7 };

    for (const [who, token] of [['reader', bob.token], ['writer', carol.token]] as const) {
      const put = await apiRequest(app, 'PUT', '/api/users/alice/packages/container/app/retention', token, policy);
      assert.equal(put.statusCode, 403, who);
      assert.equal(put.json().message, 'permission_denied: admin_package');
      assert.equal((await apiRequest(app, 'POST', '/api/users/alice/packages/container/app/retention/preview', token)).statusCode, 403, who);
      assert.equal((await apiRequest(app, 'POST', '/api/users/alice/packages/container/app/retention/apply', token)).statusCode, 403, who);
    }
    assert.equal((await apiRequest(app, 'PUT', '/api/users/alice/packages/container/app/retention', eve.token, policy)).statusCode, 404);
    assert.equal((await apiRequest(app, 'PUT', '/api/users/alice/packages/retention', bob.token, policy)).statusCode, 404, "another user's default");
    assert.equal((await apiRequest(app, 'GET', `${base}/retention`, alice.token)).json().applies, 'none', 'the refusals set nothing');

    await setPolicy(app, `${base}/retention`, noDelete.token, policy);
    const noScope = await apiRequest(app, 'POST', `${base}/retention/apply`, noDelete.token);
    assert.equal(noScope.statusCode, 403);
    assert.equal(noScope.json().message, 'permission_denied: the token lacks the delete:packages scope');
    assert.equal(await manifestStatus(app, 'alice/app', old.digest, auth), 200);

    for (const [body, message] of [
      [{ keep_newest: 0 }, 'keep_newest must be a whole number from 1 to 10000'],
      [{ delete_untagged_older_than_days: 0.5 }, 'delete_untagged_older_than_days must be a whole number from 1 to 3650'],
      [{ delete_tagged_older_than_days: 7 }, 'delete_tagged_older_than_days and delete_tags come together'],
      [{ delete_tags: ['pr-.*'] }, 'delete_tagged_older_than_days and delete_tags come together'],
      [{ keep_tags: ['(a+)+'] }, 'pattern "(a+)+" is refused: a repeated group may not contain a quantifier'],
      [{ keep: 3 }, 'unknown rule "keep": use keep_newest, keep_tags, delete_untagged_older_than_days, delete_tagged_older_than_days, delete_tags'],
    ] as const) {
      const res = await apiRequest(app, 'PUT', `${base}/retention`, alice.token, body);
      assert.equal(res.statusCode, 422, JSON.stringify(body));
      assert.equal(res.json().message, message);
    }
    assert.equal((await apiRequest(app, 'POST', `${base}/retention/preview`, alice.token, { policy: { keep_newest: -1 } })).statusCode, 422);
  });

  it('apply deletes nothing when the package changed after the plan (a tag set on a planned version), and the next run decides again', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const old = await pushLabelledImage(app.berth, 'alice/app', auth, { seed: 'old' });
    await age(app.berth, 10, old);
    const pkg = await app.berth.packages.require('alice/app');
    await app.berth.packages.retention.setForPackage(pkg.id, { deleteUntaggedOlderThanDays: 7 });
    const retention = app.berth.packages.retention;
    const plan = retention.plan.bind(retention);
    // A push tags the version between the plan and the deletion.
    retention.plan = async (...args) => {
      const planned = await plan(...args);
      const manifest = (await app.berth.app.inject({ method: 'GET', url: `/v2/alice/app/manifests/${old.digest}`, headers: { authorization: auth } })).json();
      await putManifest(app.berth, 'alice/app', auth, 'promoted', manifest);
      return planned;
    };
    await assert.rejects(app.berth.packages.applyRetention(pkg), /alice\/app changed while its retention policy was applied: nothing was deleted/);
    retention.plan = plan;
    assert.equal(await manifestStatus(app, 'alice/app', 'promoted', auth), 200);
    assert.deepEqual((await app.berth.packages.applyRetention(pkg)).versions, [], 'tagged now: the untagged rule no longer takes it');
  });

  it('GET …/settings shows the policy that applies and what it would delete; the deleted versions page names the policy', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const base = '/api/user/packages/container/app';
    const old = await pushLabelledImage(app.berth, 'alice/app', auth, { seed: 'old' });
    await age(app.berth, 10, old);
    const cookie = await signIn(app, 'alice');
    const page = async (url: string) => {
      const res = await app.berth.app.inject({ method: 'GET', url, headers: { cookie } });
      assert.equal(res.statusCode, 200, res.body);
      return res.body;
    };
    const settings = '/users/alice/packages/container/app/settings';
    assert.match(await page(settings), /No retention policy applies/);
    await setPolicy(app, '/api/user/packages/retention', alice.token, { delete_untagged_older_than_days: 7 });
    const html = await page(settings);
    assert.match(html, /The policy of <strong>alice<\/strong> applies/);
    assert.match(html, /<code>delete_untagged_older_than_days<\/code>: 7/);
    assert.match(html, /It would delete 1 version now/);
    assert.ok(html.includes(`<code>${old.digest}</code>`));
    await apply(app, base, alice.token);
    assert.match(await page(settings), /It would delete nothing now/);
    assert.match(await page('/users/alice/packages/container/app/versions?filter=deleted'), /Deleted \d{4}-\d\d-\d\d by the retention policy of alice/);
  });

  it('berth package retention: sets a policy from flags, --dry-run lists what it would delete, --apply deletes it; an owner default covers packages without their own', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const old = await pushLabelledImage(app.berth, 'alice/app', auth, { seed: 'old' });
    const other = await pushLabelledImage(app.berth, 'alice/other', auth, { seed: 'other' });
    await age(app.berth, 10, old, other);
    const cli = async (...args: string[]) => (await berthCli(app.dataDir, ['package', 'retention', ...args])).stdout;

    assert.equal(await cli('alice/app'), 'package\tnone\nalice\tnone\n');
    const dry = await cli('alice/app', '--delete-untagged-after', '7', '--dry-run');
    assert.match(dry, new RegExp(`^package\\tnone\\nalice\\tnone\\nwould delete\\talice/app\\t\\d+\\t${old.digest}\\t-\\tuntagged, last active \\S+, older than 7 days\\n$`));
    assert.equal(await manifestStatus(app, 'alice/app', old.digest, auth), 200, 'a dry run saves and deletes nothing');
    assert.equal(await cli('alice/app', '--keep-newest', '3', '--keep-tag', 'latest', '--keep-tag', 'v.*'), 'package\tkeep_newest=3 keep_tags=latest,v.*\nalice\tnone\n');
    assert.equal(await cli('alice/app', '--keep-all'), 'package\tkeeps everything\nalice\tnone\n');
    const applied = await cli('alice/app', '--delete-untagged-after', '7', '--apply');
    assert.match(applied, new RegExp(`^package\\tdelete_untagged_older_than_days=7\\nalice\\tnone\\ndeleted\\talice/app\\t\\d+\\t${old.digest}\\t-\\t`));
    assert.equal(await manifestStatus(app, 'alice/app', old.digest, auth), 404);

    const owner = await cli('alice', '--delete-untagged-after', '7', '--dry-run');
    assert.match(owner, new RegExp(`^alice\\tnone\\nwould delete\\talice/other\\t\\d+\\t${other.digest}\\t`), 'alice/app has its own policy');
    await cli('alice', '--delete-untagged-after', '7', '--apply');
    assert.equal(await manifestStatus(app, 'alice/other', other.digest, auth), 404);
    assert.equal((await app.berth.packages.versions(await app.berth.packages.require('alice/other'), 'deleted', 10, 0)).items[0]?.deletedByPolicy, 'user:alice');
    assert.equal(await cli('alice/app', '--clear'), 'package\tnone\nalice\tdelete_untagged_older_than_days=7\n');
  });
});
