import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import { type AuthApp, adminPassword, authApp, basic } from '../auth/helpers.js';
import { pushBlob, pushLabelledImage, pushMultiArch, putManifest } from '../packages/helpers.js';
import { parseAccountName } from '../../src/accounts/names.js';

/** A browser's cookie jar for one app: it keeps what `Set-Cookie` says and sends it back. */
class Browser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly app: AuthApp) {}

  async get(url: string): Promise<LightMyRequestResponse> {
    return this.keep(await this.app.berth.app.inject({ method: 'GET', url, headers: this.headers() }));
  }

  async post(url: string, fields: Record<string, string | string[]>, csrf = this.cookies.get('berth_csrf') ?? ''): Promise<LightMyRequestResponse> {
    const form = new URLSearchParams();
    form.set('csrf', csrf);
    for (const [name, value] of Object.entries(fields)) for (const each of [value].flat()) form.append(name, each);
    return this.keep(
      await this.app.berth.app.inject({
        method: 'POST',
        url,
        headers: { ...this.headers(), 'content-type': 'application/x-www-form-urlencoded' },
        payload: form.toString(),
      }),
    );
  }

  async signIn(user: string, password = `${user}-password`): Promise<void> {
    await this.get('/login');
    const res = await this.post('/login', { username: user, password, next: '/' });
    assert.equal(res.statusCode, 303, res.body);
  }

  private headers(): Record<string, string> {
    return this.cookies.size === 0 ? {} : { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }

  private keep(res: LightMyRequestResponse): LightMyRequestResponse {
    for (const cookie of [res.headers['set-cookie'] ?? []].flat()) {
      const [pair = ''] = cookie.split(';');
      const [name = '', value = ''] = pair.split('=');
      if (/Max-Age=0/.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
}

/** The packages a list page shows, in its order. */
function listedNames(html: string): string[] {
  return [...html.matchAll(/<a class="name" href="[^"]*">([^<]+)<\/a>/g)].map((match) => match[1] ?? '');
}

/** The href of the page's link with `rel`, decoded as a browser would read the attribute. */
function linkOf(html: string, rel: 'prev' | 'next'): string | undefined {
  return new RegExp(`<a rel="${rel}" href="([^"]*)"`).exec(html)?.[1]?.replaceAll('&amp;', '&');
}

const pkgName = (n: number) => `alice/pkg-${String(n).padStart(2, '0')}`;
const pkgRange = (from: number, to: number) => Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => pkgName(from <= to ? from + i : from - i));

const labels = {
  'org.opencontainers.image.description': 'The app <script>alert(1)</script> of Alice',
  'org.opencontainers.image.licenses': 'Apache-2.0',
  'org.opencontainers.image.source': 'javascript:alert(2)',
};

describe('web pages', () => {
  it('signs in with the password only, from a form that carries the browser’s CSRF value, and out again', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const browser = new Browser(app);
    const login = await browser.get('/login');
    assert.equal(login.statusCode, 200);
    const csrfCookie = String(login.headers['set-cookie']);
    assert.match(csrfCookie, /^berth_csrf=[A-Za-z0-9_-]{32}; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.match(login.body, /<input type="hidden" name="csrf" value="[A-Za-z0-9_-]{32}"/);

    assert.equal((await browser.post('/login', { username: 'alice', password: 'alice-password' }, 'x'.repeat(32))).statusCode, 403, 'a wrong CSRF value');
    assert.equal((await browser.post('/login', { username: 'alice', password: alice.token })).statusCode, 401, 'a token is no password here');
    assert.equal((await browser.post('/login', { username: 'alice', password: 'wrong' })).statusCode, 401);
    assert.equal(browser.cookies.has('berth_session'), false);

    const signedIn = await browser.post('/login', { username: 'alice', password: 'alice-password', next: '//evil.example/' });
    assert.equal(signedIn.statusCode, 303);
    assert.equal(signedIn.headers.location, '/', 'only a local path is followed after sign-in');
    assert.match(String(signedIn.headers['set-cookie']), /^berth_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    assert.match((await browser.get('/')).body, /Sign out alice/);
    const [session] = await app.berth.sessions.list(alice.id);
    assert.ok(session, 'the session is a row the user can list');

    const secret = browser.cookies.get('berth_session') ?? '';
    assert.equal((await browser.post('/logout', {})).statusCode, 303);
    assert.deepEqual(await app.berth.sessions.list(alice.id), []);
    assert.equal(await app.berth.sessions.find(secret), undefined, 'the old cookie signs nobody in');
    assert.match((await browser.get('/')).body, /Sign in/);
  });

  it('shows a signed-in user the newest versions of the packages they may read, newest first, and nothing of others’ private packages', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    await pushLabelledImage(app.berth, 'alice/first', basic('alice', alice.token), { tag: 'v1' });
    const second = await pushLabelledImage(app.berth, 'alice/second', basic('alice', alice.token), { tag: 'v2' });
    await pushLabelledImage(app.berth, 'bob/secret', basic('bob', bob.token), { tag: 'hidden' });
    const browser = new Browser(app);
    await browser.get('/login');
    assert.equal((await browser.post('/login', { username: 'alice', password: 'alice-password' })).statusCode, 303);
    const home = (await browser.get('/')).body;
    const section = home.slice(home.indexOf('<h2 id="recent-pushes">'));
    assert.ok(section.length < home.length, 'the home page has a recent pushes section');
    const pushed = [...section.matchAll(/<li><a href="([^"]+)">([^<]+)<\/a>/g)].map((match) => [match[2], match[1]]);
    const versions = await app.berth.packages.versions(await app.berth.packages.require('alice/second'), 'active', 1, 0);
    assert.deepEqual(pushed, [
      ['alice/second:v2', `/users/alice/packages/container/second/${versions.items[0]!.id}`],
      ['alice/first:v1', pushed[1]?.[1]],
    ]);
    assert.ok(section.includes(second.digest.slice(0, 19)), 'with the short digest');
    assert.equal(home.includes('bob/secret'), false);
    assert.equal((await new Browser(app).get('/')).body.includes('recent-pushes'), false, 'a visitor sees public packages only, without the section');
  });

  it('shows a package’s description, license and source from its labels, all of it escaped, under a strict CSP', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const image = await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1', labels });
    const browser = new Browser(app);
    await browser.signIn('alice');
    const page = await browser.get('/users/alice/packages/container/package/app');
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['content-security-policy'], "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    assert.match(page.body, /The app &lt;script>alert\(1\)&lt;\/script> of Alice/);
    assert.doesNotMatch(page.body, /<script>alert/);
    assert.doesNotMatch(page.body, /href="javascript:/, 'a javascript: source is shown, not linked');
    assert.match(page.body, /Apache-2\.0/);
    assert.match(page.body, new RegExp(`docker pull registry\\.test:5000/alice/app:v1`));
    assert.match(page.body, new RegExp(`docker pull registry\\.test:5000/alice/app@${image.digest}`));
  });

  it('answers the same 404 page for a private package to an outsider and for a name that does not exist', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await app.user('bob');
    await pushLabelledImage(app.berth, 'alice/secret', basic('alice', alice.token), { tag: 'v1', labels: { ...labels, 'org.opencontainers.image.description': 'Secret Sauce' } });
    const bob = new Browser(app);
    await bob.signIn('bob');
    const hidden = await bob.get('/users/alice/packages/container/package/secret');
    const missing = await bob.get('/users/alice/packages/container/package/nothing-here');
    assert.equal(hidden.statusCode, 404);
    assert.equal(hidden.body, missing.body);
    assert.doesNotMatch((await bob.get('/?q=sauce')).body, /alice\/secret/, 'search finds only what the viewer may read');
    const visitor = new Browser(app);
    await visitor.get('/');
    const unknownPath = await app.berth.app.inject({ method: 'GET', url: '/no/such/page', headers: { accept: 'text/html' } });
    assert.equal(unknownPath.statusCode, 404);
    assert.match(unknownPath.body, /<h1>Not found<\/h1>/);
    const apiPath = await app.berth.app.inject({ method: 'GET', url: '/v2/no/such/thing/here', headers: { accept: 'text/html' } });
    assert.match(String(apiPath.headers['content-type']), /json/, 'the APIs answer their own 404s');
    assert.equal((await visitor.get('/users/alice/packages/container/package/secret')).statusCode, 404);
    assert.doesNotMatch((await visitor.get('/users/alice/packages')).body, /secret/);

    await app.berth.packages.setVisibility(await app.berth.packages.require('alice/secret'), 'public', { byOrgOwner: false });
    assert.equal((await visitor.get('/users/alice/packages/container/package/secret')).statusCode, 200);
    assert.match((await visitor.get('/')).body, /alice\/secret/);
    assert.match((await visitor.get('/?q=sauce')).body, /alice\/secret/, 'found by its description');
    assert.doesNotMatch((await visitor.get('/?q=nothing-like-it')).body, /alice\/secret/);
  });

  it('GET /users/{user}/packages pages by 30 and filters by name and visibility, sorted by publication, downloads or name, over readable packages only', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await app.user('bob');
    const auth = basic('alice', alice.token);
    // pkg-01 … pkg-33, one pushed after another; a pause keeps their publication times apart.
    for (let n = 1; n <= 33; n++) {
      await pushLabelledImage(app.berth, pkgName(n), auth, { tag: 'v1' });
      await sleep(2);
    }
    for (let n = 1; n <= 5; n++) await app.berth.packages.setVisibility(await app.berth.packages.require(pkgName(n)), 'public', { byOrgOwner: false });
    for (const [n, pulls] of [[7, 3], [2, 2], [20, 1]] as const) {
      for (let i = 0; i < pulls; i++) {
        const pull = await app.berth.app.inject({ method: 'GET', url: `/v2/${pkgName(n)}/manifests/v1`, headers: { authorization: auth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
        assert.equal(pull.statusCode, 200);
      }
    }
    await app.berth.downloads.flush();
    await sleep(2);
    // A new version makes pkg-03 the most recently published, though it was created third.
    await pushLabelledImage(app.berth, pkgName(3), auth, { tag: 'v2', seed: 'second' });

    const owner = new Browser(app);
    await owner.signIn('alice');
    const first = await owner.get('/users/alice/packages');
    assert.equal(first.statusCode, 200);
    assert.match(first.body, />33 packages</);
    assert.deepEqual(listedNames(first.body), [pkgName(3), ...pkgRange(33, 5)]);
    assert.equal(linkOf(first.body, 'next'), '/users/alice/packages?page=2');
    assert.equal(linkOf(first.body, 'prev'), undefined);
    assert.match(first.body, /<option value="published" selected>Recently published<\/option>/);
    assert.match(first.body, /<label for="package-name">/);

    const second = await owner.get('/users/alice/packages?page=2');
    assert.deepEqual(listedNames(second.body), [pkgName(4), pkgName(2), pkgName(1)]);
    assert.equal(linkOf(second.body, 'prev'), '/users/alice/packages');
    assert.equal(linkOf(second.body, 'next'), undefined);
    const past = await owner.get('/users/alice/packages?page=9');
    assert.equal(past.statusCode, 200);
    assert.deepEqual(listedNames(past.body), []);
    assert.match(past.body, /Page 9 is past the end of the list, which has 2 pages\./);
    assert.equal(linkOf(past.body, 'prev'), '/users/alice/packages?page=2', 'back to the last page');
    for (const page of ['0', '-2', 'x', '1.5']) assert.deepEqual(listedNames((await owner.get(`/users/alice/packages?page=${page}`)).body), listedNames(first.body), `page=${page}`);

    const byName = await owner.get('/users/alice/packages?sort=name');
    assert.deepEqual(listedNames(byName.body), pkgRange(1, 30));
    assert.equal(linkOf(byName.body, 'next'), '/users/alice/packages?sort=name&page=2');
    assert.deepEqual(listedNames((await owner.get(linkOf(byName.body, 'next') ?? '')).body), pkgRange(31, 33));
    const byDownloads = await owner.get('/users/alice/packages?sort=downloads');
    assert.deepEqual(listedNames(byDownloads.body).slice(0, 6), [pkgName(7), pkgName(2), pkgName(20), pkgName(1), pkgName(3), pkgName(4)], 'most downloads first, then by name');
    assert.match(byDownloads.body, /<option value="downloads" selected>/);

    const found = await owner.get('/users/alice/packages?q=PKG-1&sort=name');
    assert.deepEqual(listedNames(found.body), pkgRange(10, 19));
    assert.match(found.body, />10 packages</);
    assert.match(found.body, /name="q" value="PKG-1"/, 'the form keeps the filter');
    const publicOnes = await owner.get('/users/alice/packages?visibility=public');
    assert.deepEqual(listedNames(publicOnes.body), [pkgName(3), pkgName(5), pkgName(4), pkgName(2), pkgName(1)]);
    assert.match(publicOnes.body, /<option value="public" selected>Public<\/option>/);
    assert.doesNotMatch(publicOnes.body, /value="internal"/, 'a user has no internal packages');
    const privateOnes = await owner.get('/users/alice/packages?visibility=private&sort=name');
    assert.match(privateOnes.body, />28 packages</);
    assert.deepEqual(listedNames(privateOnes.body), pkgRange(6, 33));
    assert.equal(linkOf(privateOnes.body, 'next'), undefined);
    assert.match((await owner.get('/users/alice/packages?visibility=everything')).body, />33 packages</, 'an unknown visibility filters nothing');
    const combined = await owner.get('/users/alice/packages?q=pkg&visibility=private&sort=downloads&page=1');
    assert.equal(linkOf(combined.body, 'next'), undefined);
    assert.deepEqual(listedNames(combined.body).slice(0, 3), [pkgName(7), pkgName(20), pkgName(6)]);
    const allByName = await owner.get('/users/alice/packages?q=pkg&sort=name');
    assert.equal(linkOf(allByName.body, 'next'), '/users/alice/packages?q=pkg&sort=name&page=2', 'Next keeps the other parameters');
    const quoted = await owner.get(`/users/alice/packages?q=${encodeURIComponent('"><script>alert(1)</script>')}`);
    assert.doesNotMatch(quoted.body, /<script>alert/);
    assert.match(quoted.body, /No package you can see matches these filters\./);

    const bob = new Browser(app);
    await bob.signIn('bob');
    const seen = await bob.get('/users/alice/packages');
    assert.match(seen.body, />5 packages</, 'the count leaves out what bob may not read');
    assert.deepEqual(listedNames(seen.body), [pkgName(3), pkgName(5), pkgName(4), pkgName(2), pkgName(1)]);
    assert.equal(linkOf(seen.body, 'next'), undefined);
    const bobPrivate = await bob.get('/users/alice/packages?visibility=private');
    assert.match(bobPrivate.body, />0 packages</);
    assert.deepEqual(listedNames(bobPrivate.body), []);
    assert.deepEqual(listedNames((await bob.get('/users/alice/packages?sort=downloads')).body), [pkgName(2), pkgName(1), pkgName(3), pkgName(4), pkgName(5)]);
    assert.deepEqual(listedNames((await bob.get('/users/alice/packages?page=2')).body), []);
    assert.match((await new Browser(app).get('/users/alice/packages?q=pkg-1')).body, />0 packages</, 'nor does it for anonymous visitors');
  });

  it('GET /{owner}?tab=packages, as on GitHub, leads to the owner’s packages; an unknown name is the 404 page or the JSON error', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    const get = (url: string, accept = 'text/html') => app.berth.app.inject({ method: 'GET', url, headers: { accept } });
    for (const [url, to] of [
      ['/alice?tab=packages', '/users/alice/packages'],
      ['/ALICE', '/users/alice/packages'],
      ['/acme?tab=packages', '/orgs/acme/packages'],
    ] as const) {
      const res = await get(url);
      assert.equal(res.statusCode, 303, url);
      assert.equal(res.headers.location, to, url);
    }
    const unknownPage = await get('/nobody?tab=packages');
    assert.equal(unknownPage.statusCode, 404);
    assert.match(String(unknownPage.headers['content-type']), /^text\/html/);
    const unknownJson = await get('/nobody', 'application/json');
    assert.equal(unknownJson.statusCode, 404);
    assert.equal(unknownJson.json().errors[0].code, 'UNSUPPORTED');
    assert.equal((await get('/healthz', 'application/json')).statusCode, 200, 'fixed paths keep their routes');
    assert.equal((await get('/v2/', 'application/json')).statusCode, 401);
  });

  it('GET /orgs/{org}/packages offers the internal filter and shows internal packages to members only', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await app.user('bob');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    const auth = basic('alice', alice.token);
    for (const name of ['acme/tool', 'acme/site']) await pushLabelledImage(app.berth, name, auth, { tag: 'v1' });
    await app.berth.packages.setVisibility(await app.berth.packages.require('acme/tool'), 'internal', { byOrgOwner: true });

    const owner = new Browser(app);
    await owner.signIn('alice');
    const internal = await owner.get('/orgs/acme/packages?visibility=internal');
    assert.equal(internal.statusCode, 200);
    assert.deepEqual(listedNames(internal.body), ['acme/tool']);
    assert.match(internal.body, /<option value="internal" selected>Internal<\/option>/);
    assert.deepEqual(listedNames((await owner.get('/orgs/acme/packages?sort=name')).body), ['acme/site', 'acme/tool']);

    const bob = new Browser(app);
    await bob.signIn('bob');
    const outside = await bob.get('/orgs/acme/packages?visibility=internal');
    assert.match(outside.body, />0 packages</);
    assert.deepEqual(listedNames(outside.body), []);
  });

  it('makes a token from /settings/tokens/new?scopes=write:packages, shows it once, and revokes it', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const browser = new Browser(app);
    assert.equal((await browser.get('/settings/tokens/new?scopes=write:packages')).headers.location, '/login?next=%2Fsettings%2Ftokens%2Fnew%3Fscopes%3Dwrite%3Apackages');
    await browser.signIn('alice');
    const form = await browser.get('/settings/tokens/new?scopes=write:packages');
    assert.match(form.body, /value="write:packages" checked/);
    assert.doesNotMatch(form.body, /value="read:packages" checked/);
    assert.doesNotMatch(form.body, /value="delete:packages" checked/);

    assert.equal((await browser.post('/settings/tokens', { note: 'ci', expiration: '30d', scopes: [] })).statusCode, 422);
    const created = await browser.post('/settings/tokens', { note: 'ci', expiration: '30d', scopes: ['write:packages'] });
    assert.equal(created.statusCode, 201);
    const token = /data-copy="(berth_pat_[A-Za-z0-9_]+)"/.exec(created.body)?.[1];
    assert.ok(token, 'the new token is on the page');
    const push = await app.berth.app.inject({ method: 'POST', url: '/v2/alice/new/blobs/uploads/', headers: { authorization: basic('alice', token), 'content-length': '0' } });
    assert.equal(push.statusCode, 202, 'the token pushes');
    assert.doesNotMatch((await browser.get('/settings/tokens')).body, new RegExp(token), 'shown once');

    const [info] = (await app.berth.accessTokens.list(alice.id)).filter((each) => each.note === 'ci');
    assert.equal((await browser.post(`/settings/tokens/${info?.id}/revoke`, {}, 'y'.repeat(32))).statusCode, 403);
    assert.equal((await browser.post(`/settings/tokens/${info?.id}/revoke`, {})).statusCode, 303);
    const refused = await app.berth.app.inject({ method: 'POST', url: '/v2/alice/new/blobs/uploads/', headers: { authorization: basic('alice', token), 'content-length': '0' } });
    assert.equal(refused.statusCode, 401);
  });

  it('lists versions by filter, shows a version with its platforms, and lets only admins delete and restore, with the 409 rule', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await app.user('bob');
    const auth = basic('alice', alice.token);
    const { amd, index } = await pushMultiArch(app.berth, 'alice/app', auth, { armVariant: 'v8', index: { tag: 'v1', annotations: { 'org.example.note': '<b>bold</b>' } } });
    const browser = new Browser(app);
    await browser.signIn('alice');
    const base = '/users/alice/packages/container/app';
    const tagged = await browser.get(`${base}/versions?filter=tagged`);
    assert.equal(tagged.statusCode, 200);
    assert.match(tagged.body, new RegExp(index.digest));
    assert.doesNotMatch(tagged.body, new RegExp(amd.digest));
    const untagged = await browser.get(`${base}/versions?filter=untagged`);
    assert.match(untagged.body, new RegExp(amd.digest));
    assert.doesNotMatch(untagged.body, new RegExp(index.digest));

    const versions = (await app.berth.packages.versions(await app.berth.packages.require('alice/app'), 'active', 10, 0)).items;
    const id = (digest: string) => versions.find((version) => version.digest === digest)?.id;
    const empty = await pushBlob(app.berth, 'alice/app', auth, '{}');
    const signature = await putManifest(app.berth, 'alice/app', auth, 'sig', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.signature',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty.digest, size: empty.size },
      layers: [],
      subject: { mediaType: index.mediaType, digest: index.digest, size: index.size },
    });
    const page = await browser.get(`${base}/${id(index.digest)}`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, new RegExp(`<code>${signature.digest}</code> <span class="muted">application/vnd.example.signature</span>`), 'its referrers');
    assert.match(page.body, /linux\/arm64\/v8/);
    assert.match(page.body, /&lt;b>bold&lt;\/b>/);

    const refused = await browser.post(`${base}/${id(amd.digest)}/delete`, {});
    assert.equal(refused.statusCode, 409, 'a platform image of a tagged index stays');
    assert.equal((await browser.post(`${base}/${id(index.digest)}/delete`, {})).statusCode, 303);
    assert.match((await browser.get(`${base}/versions?filter=deleted`)).body, new RegExp(index.digest));
    assert.equal((await browser.post(`${base}/${id(index.digest)}/restore`, {})).statusCode, 303);
    assert.match((await browser.get(`${base}/versions?filter=tagged`)).body, new RegExp(index.digest));

    await app.berth.packages.setVisibility(await app.berth.packages.require('alice/app'), 'public', { byOrgOwner: false });
    const bob = new Browser(app);
    await bob.signIn('bob');
    assert.equal((await bob.get(`${base}/versions?filter=tagged`)).statusCode, 200, 'a reader sees the versions');
    assert.equal((await bob.get(`${base}/versions?filter=deleted`)).statusCode, 404, 'but not the deleted ones');
    assert.equal((await bob.post(`${base}/${id(index.digest)}/delete`, {})).statusCode, 404);
    assert.equal((await app.berth.packages.versions(await app.berth.packages.require('alice/app'), 'deleted', 10, 0)).total, 0);
  });

  it('lets only admins change settings: roles, visibility after typing the name, and deletion', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await app.user('bob');
    await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1' });
    const settings = '/users/alice/packages/container/app/settings';
    const bob = new Browser(app);
    await bob.signIn('bob');
    assert.equal((await bob.get(settings)).statusCode, 404);

    const browser = new Browser(app);
    await browser.signIn('alice');
    assert.equal((await browser.get(settings)).statusCode, 200);
    assert.equal((await browser.post(`${settings}/roles`, { kind: 'user', principal: 'bob', role: 'read' })).statusCode, 303);
    assert.equal((await bob.get('/users/alice/packages/container/package/app')).statusCode, 200, 'bob reads it now');
    assert.equal((await bob.get(settings)).statusCode, 404, 'but is no admin');
    assert.equal((await bob.post(`${settings}/visibility`, { visibility: 'public', confirm: 'app' })).statusCode, 404);
    assert.equal((await browser.post(`${settings}/roles-remove`, { kind: 'user', principal: 'bob' })).statusCode, 303);
    assert.equal((await bob.get('/users/alice/packages/container/package/app')).statusCode, 404);

    await app.berth.sourceRepositories.create('alice/app');
    await app.berth.sourceRepositories.create('bob/tool');
    assert.equal((await browser.post(`${settings}/repository`, { repository: 'alice/app', inherit_access: 'yes' })).statusCode, 303);
    const linked = await app.berth.packages.require('alice/app');
    assert.deepEqual([linked.source?.name, linked.inheritAccess], ['app', true]);
    assert.equal((await browser.post(`${settings}/repository`, { repository: 'bob/tool' })).statusCode, 409, 'only a repository of the same owner');
    assert.equal((await browser.post(`${settings}/repository-access`, { repository: 'bob/tool', role: 'read' })).statusCode, 303);
    assert.match((await browser.get(settings)).body, /<td>bob\/tool<\/td><td>read<\/td>/);
    assert.equal((await browser.post(`${settings}/repository-access-remove`, { repository: 'bob/tool' })).statusCode, 303);
    assert.equal((await browser.post(`${settings}/repository-unlink`, {})).statusCode, 303);
    assert.equal((await app.berth.packages.require('alice/app')).source, undefined);

    const unconfirmed = await browser.post(`${settings}/visibility`, { visibility: 'public', confirm: 'ap' });
    assert.equal(unconfirmed.statusCode, 422);
    assert.equal((await app.berth.packages.require('alice/app')).visibility, 'private');
    assert.equal((await browser.post(`${settings}/visibility`, { visibility: 'public', confirm: 'app' })).statusCode, 303);
    assert.equal((await app.berth.packages.require('alice/app')).visibility, 'public');
    const back = await browser.post(`${settings}/visibility`, { visibility: 'private', confirm: 'app' });
    assert.equal(back.statusCode, 409);
    assert.match(back.body, /cannot be made private/);

    assert.equal((await browser.post(`${settings}/delete`, { confirm: 'nope' })).statusCode, 422);
    assert.equal((await browser.post(`${settings}/delete`, { confirm: 'app' })).statusCode, 303);
    assert.equal(await app.berth.packages.get('alice/app'), undefined);
    const list = await browser.get('/users/alice/packages');
    assert.match(list.body, /action="\/users\/alice\/packages\/container\/app\/restore"/);
    assert.doesNotMatch((await bob.get('/users/alice/packages')).body, /restore/, 'only its admins may restore it');
    assert.equal((await bob.post('/users/alice/packages/container/app/restore', {})).statusCode, 404);
    assert.equal((await browser.post('/users/alice/packages/container/app/restore', {})).statusCode, 303);
    assert.ok(await app.berth.packages.get('alice/app'), 'restored');
  });

  it('lists the user’s sessions, ends another one, and changes the password, ending every other session', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    const laptop = new Browser(app);
    const phone = new Browser(app);
    const tablet = new Browser(app);
    for (const browser of [laptop, phone, tablet]) await browser.signIn('alice');
    const page = await laptop.get('/settings/sessions');
    assert.equal(page.statusCode, 200);
    assert.equal((page.body.match(/this browser/g) ?? []).length, 1);
    assert.equal((page.body.match(/action="\/settings\/sessions\/\d+\/revoke"/g) ?? []).length, 2);

    const phoneSession = (await app.berth.sessions.find(phone.cookies.get('berth_session') ?? ''))?.id;
    assert.equal((await laptop.post(`/settings/sessions/${phoneSession}/revoke`, {})).statusCode, 303);
    assert.match((await phone.get('/')).body, /Sign in/, 'the phone is signed out');
    const bob = await app.user('bob');
    const bobs = new Browser(app);
    await bobs.signIn('bob');
    assert.equal((await bobs.post(`/settings/sessions/${(await app.berth.sessions.list(bob.id))[0]?.id ?? 0}/revoke`, {})).statusCode, 303);
    const laptopSession = (await app.berth.sessions.find(laptop.cookies.get('berth_session') ?? ''))?.id;
    const bobAgain = new Browser(app);
    await bobAgain.signIn('bob');
    assert.equal((await bobAgain.post(`/settings/sessions/${laptopSession}/revoke`, {})).statusCode, 404, 'nobody ends another user’s session');

    assert.equal((await laptop.post('/settings/password', { current: 'wrong', new: 'a-new-password' })).statusCode, 401);
    assert.equal((await laptop.post('/settings/password', { current: 'alice-password', new: 'short' })).statusCode, 422);
    assert.equal((await laptop.post('/settings/password', { current: 'alice-password', new: 'a-new-password' })).statusCode, 200);
    assert.match((await tablet.get('/')).body, /Sign in/, 'the tablet is signed out');
    assert.match((await laptop.get('/')).body, /Sign out alice/, 'the laptop stays signed in');
    const fresh = new Browser(app);
    await fresh.signIn('alice', 'a-new-password');
  });

  it('shows an organization to its members, lets its owners manage members and teams, and hides it from others', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    await app.user('bob');
    await app.user('carol');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    const alice = new Browser(app);
    await alice.signIn('alice');
    assert.equal((await alice.get('/orgs/acme')).statusCode, 200);
    assert.equal((await alice.post('/orgs/acme/members', { user: 'bob', role: 'member' })).statusCode, 303);
    assert.equal((await alice.post('/orgs/acme/teams', { team: 'builders' })).statusCode, 303);
    assert.equal((await alice.post('/orgs/acme/teams', { team: 'bad name!' })).statusCode, 409);
    assert.equal((await alice.post('/orgs/acme/team-members', { team: 'builders', user: 'bob' })).statusCode, 303);
    assert.equal((await alice.post('/orgs/acme/team-members', { team: 'builders', user: 'carol' })).statusCode, 409, 'carol is no member');
    assert.deepEqual(await app.berth.accounts.listTeams('acme'), [{ name: 'builders', members: ['bob'] }]);
    assert.equal((await alice.post('/orgs/acme/package-settings', { visibilities: [] })).statusCode, 409, 'at least one visibility');
    assert.equal((await alice.post('/orgs/acme/package-settings', { visibilities: ['private', 'internal'] })).statusCode, 303);
    const org = await app.berth.accounts.requireOrg('acme');
    assert.deepEqual(await app.berth.packages.orgSettings(org.id), { membersCanCreate: false, visibilities: ['private', 'internal'] });

    const bob = new Browser(app);
    await bob.signIn('bob');
    const seen = await bob.get('/orgs/acme');
    assert.equal(seen.statusCode, 200);
    assert.match(seen.body, /builders/);
    assert.doesNotMatch(seen.body, /action="\/orgs\/acme\/members"/, 'a member sees no owner forms');
    assert.equal((await bob.post('/orgs/acme/members', { user: 'carol', role: 'owner' })).statusCode, 404);

    const carol = new Browser(app);
    await carol.signIn('carol');
    assert.equal((await carol.get('/orgs/acme')).statusCode, 404);
    assert.equal((await carol.get('/orgs/acme')).body, (await carol.get('/orgs/no-such-org')).body);
    assert.equal((await alice.post('/orgs/acme/members-remove', { user: 'bob' })).statusCode, 303);
    assert.equal((await bob.get('/orgs/acme')).statusCode, 404);
  });

  it('lets a site administrator create users and organizations at /admin, and nobody else see it', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    const alice = new Browser(app);
    await alice.signIn('alice');
    assert.equal((await alice.get('/admin')).statusCode, 404);
    assert.equal((await alice.post('/admin/users', { name: 'mallory' })).statusCode, 404);
    assert.equal(await app.berth.accounts.find('mallory'), undefined);

    const root = new Browser(app);
    await root.signIn('root', adminPassword);
    assert.match((await root.get('/')).body, /href="\/admin"/);
    const created = await root.post('/admin/users', { name: 'dave' });
    assert.equal(created.statusCode, 201);
    const password = /aria-label="Password of dave"[^>]*><code>([A-Za-z0-9]+)<\/code>/.exec(created.body)?.[1];
    assert.ok(password, 'the new password is shown');
    const dave = new Browser(app);
    await dave.signIn('dave', password);
    assert.equal((await root.post('/admin/users', { name: 'dave' })).statusCode, 409);
    assert.equal((await root.post('/admin/orgs', { name: 'acme', owner: 'dave' })).statusCode, 303);
    assert.equal((await dave.get('/orgs/acme')).statusCode, 200);
  });
});
