import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { type Browser, type Page, chromium } from 'playwright-core';
import { parseAccountName } from '../../src/accounts/names.js';
import { type AuthApp, adminPassword, authApp } from '../auth/helpers.js';
import { createContainersEnv } from '../support/containers-env.js';
import { execOk, missingTools } from '../support/exec.js';
import { buildImage, writeImageLayout } from '../support/oci-layout.js';
import { freePort } from '../support/registry-process.js';
import { requiredTools } from '../support/required-tools.js';

const skip = requiredTools(await missingTools(['chromium', 'skopeo']));
const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** Where the journeys leave screenshots of the pages they visit. */
const screenshots = process.env['BERTH_SCREENSHOTS'] ?? path.join(os.tmpdir(), 'berth-screenshots');

/** Fails on any serious or critical accessibility violation on the page as it is. */
async function assertAccessible(page: Page, name: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> } }).axe.run();
    return result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, nodes: violation.nodes.length }));
  });
  const grave = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  assert.deepEqual(grave, [], `${name}: ${JSON.stringify(grave)}`);
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

describe('the web pages in a real browser (Debian chromium)', { skip }, () => {
  let browser: Browser;
  before(async () => {
    await mkdir(screenshots, { recursive: true });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
  });

  async function serve(t: TestContext): Promise<{ app: AuthApp; base: string; page: Page; dialogs: string[]; foreignRequests: string[] }> {
    // The public URL is the address clients reach, for the token realm and the pull commands.
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const app = await authApp(t, { publicUrl: base });
    await app.berth.app.listen({ host: '127.0.0.1', port });
    const context = await browser.newContext();
    t.after(() => context.close());
    const page = await context.newPage();
    const dialogs: string[] = [];
    const foreignRequests: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('request', (request) => {
      if (!request.url().startsWith(base)) foreignRequests.push(request.url());
    });
    return { app, base, page, dialogs, foreignRequests };
  }

  async function signIn(page: Page, base: string, user: string): Promise<void> {
    await page.goto(`${base}/login`);
    await assertAccessible(page, 'sign-in');
    await page.getByLabel('User name').fill(user);
    await page.getByLabel('Password').fill(`${user}-password`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/`);
  }

  it('signs in, makes a token from ?scopes=write:packages, pushes with it through skopeo, and reads the package page', async (t) => {
    const { app, base, page, dialogs, foreignRequests } = await serve(t);
    await app.user('alice');
    await signIn(page, base, 'alice');

    await page.goto(`${base}/settings/tokens/new?scopes=write:packages`);
    await assertAccessible(page, 'new-token');
    assert.equal(await page.getByRole('checkbox', { name: /write:packages/ }).isChecked(), true);
    assert.equal(await page.getByRole('checkbox', { name: /delete:packages/ }).isChecked(), false);
    await page.getByLabel('Note').fill('laptop');
    await page.getByRole('button', { name: 'Generate token' }).click();
    const token = (await page.locator('[aria-label="New personal access token"] code').textContent()) ?? '';
    assert.match(token, /^berth_pat_/);
    await assertAccessible(page, 'tokens');

    const work = await mkdtemp(path.join(os.tmpdir(), 'berth-web-'));
    t.after(() => rm(work, { recursive: true, force: true }));
    const host = new URL(base).host;
    const containers = await createContainersEnv([host]);
    t.after(() => containers.cleanup());
    const image = buildImage({
      labels: {
        'org.opencontainers.image.description': 'A web server <img src=x onerror=alert(1)> for the docs',
        'org.opencontainers.image.licenses': 'MIT',
        'org.opencontainers.image.source': 'https://example.com/alice/web',
      },
    });
    await writeImageLayout(path.join(work, 'layout'), image, 'v1');
    await execOk('skopeo', ['--policy', containers.policyPath, 'copy', '--retry-times', '0', '--dest-tls-verify=false', '--dest-creds', `alice:${token}`, `oci:${path.join(work, 'layout')}:v1`, `docker://${host}/alice/web:v1`], {
      env: containers.env,
      timeoutMs: 120_000,
    });

    await page.goto(`${base}/users/alice/packages/container/package/web`);
    await assertAccessible(page, 'package-page');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'web private');
    await page.getByText('A web server <img src=x onerror=alert(1)> for the docs').waitFor();
    const details = page.getByRole('complementary', { name: 'Details' });
    assert.match((await details.textContent()) ?? '', /LicenseMIT/);
    assert.equal(await details.getByRole('link', { name: 'https://example.com/alice/web' }).getAttribute('href'), 'https://example.com/alice/web');
    assert.equal(await page.locator('pre[aria-label="Pull by tag"]').textContent(), `docker pull ${host}/alice/web:v1`);
    await page.getByRole('link', { name: 'All versions' }).click();
    await assertAccessible(page, 'versions');
    await page.locator('ul.items a.name').first().click();
    await page.getByRole('heading', { name: 'Layers' }).waitFor();
    await assertAccessible(page, 'version');
    await page.goto(`${base}/users/alice/packages`);
    await page.getByLabel('Name contains').fill('we');
    await page.getByLabel('Sort by').selectOption('name');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(`${base}/users/alice/packages?q=we&visibility=&sort=name`);
    assert.equal(await page.locator('ul.items a.name').textContent(), 'alice/web');
    await assertAccessible(page, 'package-list');
    await page.goto(`${base}/users/alice/packages/container/package/web`);
    await page.getByRole('link', { name: 'Package settings' }).click();
    await assertAccessible(page, 'package-settings');
    await page.getByLabel('Visibility (now private)').selectOption('public');
    await page.getByLabel('Type web to confirm the change of visibility').fill('web');
    await page.getByRole('button', { name: 'Change visibility' }).click();
    await page.getByRole('heading', { name: 'Package settings' }).waitFor();
    assert.equal((await app.berth.packages.require('alice/web')).visibility, 'public');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    await app.berth.accounts.createTeam('acme', parseAccountName('builders'));
    await page.goto(`${base}/orgs/acme`);
    await assertAccessible(page, 'organization');
    await page.goto(`${base}/settings/sessions`);
    await assertAccessible(page, 'sessions');
    await page.getByRole('button', { name: 'Sign out alice' }).click();
    await page.waitForURL(`${base}/`);
    await page.goto(`${base}/login`);
    await page.getByLabel('User name').fill('root');
    await page.getByLabel('Password').fill(adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/`);
    await page.getByRole('link', { name: 'Admin' }).click();
    await assertAccessible(page, 'admin');
    assert.deepEqual(dialogs, [], 'no script of the pusher ran');
    assert.deepEqual(foreignRequests, [], 'the page fetched nothing from elsewhere');
  });

  it('shows an outsider the 404 page for a private package, and a visitor the package once it is public', async (t) => {
    const { app, base, page } = await serve(t);
    const alice = await app.user('alice');
    await app.user('bob');
    const { pushLabelledImage } = await import('../packages/helpers.js');
    const { basic } = await import('../auth/helpers.js');
    await pushLabelledImage(app.berth, 'alice/secret', basic('alice', alice.token), { tag: 'v1', labels: { 'org.opencontainers.image.description': 'Secret sauce' } });

    await signIn(page, base, 'bob');
    const hidden = await page.goto(`${base}/users/alice/packages/container/package/secret`);
    assert.equal(hidden?.status(), 404);
    await assertAccessible(page, 'not-found');
    await page.goto(`${base}/settings/sessions`);
    await assertAccessible(page, 'sessions');
    await page.getByRole('button', { name: 'Sign out bob' }).click();
    await page.waitForURL(`${base}/`);

    await app.berth.packages.setVisibility(await app.berth.packages.require('alice/secret'), 'public', { byOrgOwner: false });
    await page.goto(`${base}/`);
    await assertAccessible(page, 'home-public');
    await page.getByRole('link', { name: 'alice/secret' }).click();
    await page.getByText('Secret sauce').waitFor();
  });

  it('an organization owner deletes and restores a version, grants a team read access, and makes a package public, all in the browser; a multi-arch image shows its index description', async (t) => {
    const { app, base, page } = await serve(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    const { parseAccountName } = await import('../../src/accounts/names.js');
    const { pushIndex, pushLabelledImage } = await import('../packages/helpers.js');
    const { basic } = await import('../auth/helpers.js');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    await app.berth.accounts.setOrgMember('acme', 'bob', 'member');
    await app.berth.accounts.createTeam('acme', parseAccountName('devs'));
    await app.berth.accounts.addTeamMember('acme', 'devs', 'bob');
    const auth = basic('alice', alice.token);
    const amd64 = await pushLabelledImage(app.berth, 'acme/app', auth, { arch: 'amd64' });
    const arm64 = await pushLabelledImage(app.berth, 'acme/app', auth, { arch: 'arm64' });
    await pushIndex(
      app.berth,
      'acme/app',
      auth,
      [
        { image: amd64, platform: { os: 'linux', architecture: 'amd64' } },
        { image: arm64, platform: { os: 'linux', architecture: 'arm64' } },
      ],
      { tag: 'v1', annotations: { 'org.opencontainers.image.description': 'Built for two platforms' } },
    );
    const pushed = await pushLabelledImage(app.berth, 'acme/tool', auth, { tag: 'v1' });
    // This journey confirms what it asks for.
    page.removeAllListeners('dialog');
    page.on('dialog', (dialog) => void dialog.accept());

    await signIn(page, base, 'alice');
    await page.goto(`${base}/orgs/acme/packages/container/package/app`);
    await page.getByText('Built for two platforms').waitFor();
    await assertAccessible(page, 'multi-arch-package');

    const versions = `${base}/orgs/acme/packages/container/tool/versions`;
    await page.goto(versions);
    await page.getByRole('button', { name: `Delete ${pushed.digest}` }).click();
    await page.waitForLoadState();
    await page.goto(`${versions}?filter=deleted`);
    await assertAccessible(page, 'versions-deleted');
    await page.getByRole('button', { name: `Restore ${pushed.digest}` }).click();
    await page.waitForLoadState();
    await page.goto(`${versions}?filter=tagged`);
    await page.getByRole('button', { name: `Delete ${pushed.digest}` }).waitFor();

    // bob may not read the private package until his team is given a role on it.
    const tags = () => app.berth.app.inject({ method: 'GET', url: '/v2/acme/tool/tags/list', headers: { authorization: basic('bob', bob.token) } });
    assert.equal((await tags()).statusCode, 404);
    await page.goto(`${base}/orgs/acme/packages/container/tool/settings`);
    await assertAccessible(page, 'package-settings');
    await page.getByLabel('User or team').fill('devs');
    await page.getByLabel('It is a').selectOption('team');
    await page.locator('#role').selectOption('read');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.waitForLoadState();
    assert.equal((await tags()).statusCode, 200, 'the team may read it now');

    await page.goto(`${base}/orgs/acme/packages/container/tool/settings`);
    await page.getByLabel(/^Visibility/).selectOption('public');
    await page.getByLabel('Type tool to confirm the change of visibility').fill('tool');
    await page.getByRole('button', { name: 'Change visibility' }).click();
    await page.waitForLoadState();
    assert.equal((await app.berth.packages.require('acme/tool')).visibility, 'public');
    const visitor = await page.context().browser()!.newPage();
    t.after(() => visitor.close());
    const shown = await visitor.goto(`${base}/orgs/acme/packages/container/package/tool`);
    assert.equal(shown?.status(), 200, 'a signed-out visitor sees the public package');
  });
});
