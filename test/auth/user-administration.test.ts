import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { pushLabelledImage } from '../packages/helpers.js';
import { eventually } from '../support/eventually.js';
import { type WebSession, webSignIn } from '../support/web-sign-in.js';
import { type AuthApp, adminPassword, authApp, basic, berthCli, mintRepositoryToken, registryToken } from './helpers.js';

function adminPost(app: AuthApp, as: WebSession, url: string) {
  return app.berth.app.inject({
    method: 'POST',
    url,
    headers: { cookie: as.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    payload: new URLSearchParams({ csrf: as.csrf }).toString(),
  });
}

describe('site administration of users: suspension and administrators', () => {
  it('a suspended user signs in with nothing: password, personal access token, registry tokens issued before, repository tokens they minted, browser sessions; lifting it restores the tokens', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    await app.berth.sourceRepositories.create('acme/widget');
    await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1' });
    const { token: repositoryToken } = await mintRepositoryToken(app, 'acme/widget', alice.token);
    const issued = await registryToken(app, 'repository:alice/app:pull', basic('alice', alice.token));
    const browser = await webSignIn(app.berth.app, 'alice', 'alice-password');
    const root = await webSignIn(app.berth.app, 'root', adminPassword);

    const tags = (authorization: string) => app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/tags/list', headers: { authorization } });
    const apiUser = (authorization: string) => app.berth.app.inject({ method: 'GET', url: '/api/user', headers: { authorization } });
    const catalog = (authorization: string) => app.berth.app.inject({ method: 'GET', url: '/v2/_catalog', headers: { authorization } });
    const home = () => app.berth.app.inject({ method: 'GET', url: '/', headers: { cookie: browser.cookie } });
    assert.equal((await tags(basic('alice', alice.token))).statusCode, 200);
    assert.equal((await tags(`Bearer ${issued}`)).statusCode, 200);
    assert.equal((await catalog(basic('ci', repositoryToken))).statusCode, 200);
    assert.match((await home()).body, /Sign out alice/);

    const suspended = await adminPost(app, root, '/admin/users/alice/suspend');
    assert.equal(suspended.statusCode, 200);
    assert.match(suspended.body, /alice is suspended/);
    assert.match((await berthCli(app.dataDir, ['user', 'list'])).stdout, /^alice\tsuspended$/m);

    assert.equal((await tags(basic('alice', alice.token))).statusCode, 401, 'personal access token on /v2');
    assert.equal((await apiUser(`Bearer ${alice.token}`)).statusCode, 401, 'personal access token on /api');
    assert.equal((await apiUser(basic('alice', 'alice-password'))).statusCode, 401, 'password on /api');
    assert.equal((await catalog(basic('ci', repositoryToken))).statusCode, 401, 'a repository token alice minted');
    const late = await eventually(() => tags(`Bearer ${issued}`), (res) => res.statusCode === 401);
    assert.equal(late.statusCode, 401, 'a registry token issued before, once its one-second memo lapses');
    assert.match((await home()).body, /Sign in/, 'the browser session ended');
    assert.equal((await tags(basic('bob', bob.token))).statusCode, 404, 'others sign in as before (alice/app is private)');

    await berthCli(app.dataDir, ['user', 'unsuspend', 'alice']);
    assert.equal((await tags(basic('alice', alice.token))).statusCode, 200, 'the token works again');
    assert.equal((await catalog(basic('ci', repositoryToken))).statusCode, 200);
    assert.equal((await apiUser(basic('alice', 'alice-password'))).statusCode, 200);
  });

  it('only a site administrator suspends, never themselves; the CLI suspends too', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    await app.user('bob');
    const root = await webSignIn(app.berth.app, 'root', adminPassword);
    const bobBrowser = await webSignIn(app.berth.app, 'bob', 'bob-password');
    assert.equal((await adminPost(app, bobBrowser, '/admin/users/alice/suspend')).statusCode, 404);
    assert.equal((await adminPost(app, root, '/admin/users/root/suspend')).statusCode, 404);
    assert.equal((await adminPost(app, root, '/admin/users/nobody/suspend')).statusCode, 404);
    assert.equal((await adminPost(app, root, '/admin/users/alice/delete')).statusCode, 404);
    assert.equal((await app.berth.accounts.find('alice'))?.suspendedAt, null);

    await berthCli(app.dataDir, ['user', 'suspend', 'alice']);
    const refused = await app.berth.app.inject({ method: 'GET', url: '/v2/_catalog', headers: { authorization: basic('alice', alice.token) } });
    assert.equal(refused.statusCode, 401);
    const page = await app.berth.app.inject({ method: 'GET', url: '/admin', headers: { cookie: root.cookie } });
    assert.match(page.body, /alice<\/a>\s+<span class="badge">suspended<\/span>/);
    assert.match(page.body, /Lift suspension<span class="visually-hidden"> of alice<\/span>/);
  });

  it('a site administrator makes another user one, who then has /admin, and takes it back; never their own; the CLI does it too', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    const root = await webSignIn(app.berth.app, 'root', adminPassword);
    const alice = await webSignIn(app.berth.app, 'alice', 'alice-password');
    const adminPage = (as: { cookie: string }) => app.berth.app.inject({ method: 'GET', url: '/admin', headers: { cookie: as.cookie, accept: 'text/html' } });
    assert.equal((await adminPage(alice)).statusCode, 404);
    assert.equal((await adminPost(app, root, '/admin/users/alice/constructor')).statusCode, 404, 'only the page’s actions');

    const made = await adminPost(app, root, '/admin/users/alice/make-admin');
    assert.equal(made.statusCode, 200);
    assert.match(made.body, /alice is a site administrator\./);
    assert.equal((await adminPage(alice)).statusCode, 200);
    assert.equal((await adminPost(app, alice, '/admin/users/alice/remove-admin')).statusCode, 404, 'not their own');
    assert.equal((await adminPost(app, root, '/admin/users/alice/remove-admin')).statusCode, 200);
    assert.equal((await adminPage(alice)).statusCode, 404);

    await berthCli(app.dataDir, ['user', 'admin', 'alice', 'on']);
    assert.match((await berthCli(app.dataDir, ['user', 'list'])).stdout, /^alice\tadmin$/m);
    assert.equal((await adminPage(alice)).statusCode, 200);
  });
});
