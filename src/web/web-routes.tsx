import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { hashPassword } from '../auth/passwords.js';
import type { PageContext, Viewer } from './layout.js';
import { AccountSettingsPage } from './pages/account-settings.js';
import type { AccountService } from '../accounts/account-service.js';
import type { AuditLog } from '../audit/audit-log.js';
import { InvalidCredentialsError, TooManySignInsError, type Authenticator } from '../auth/authenticator.js';
import { isWellFormedToken } from '../auth/personal-access-token-format.js';
import { AccessTokenNotFoundError, type PersonalAccessTokenService } from '../auth/personal-access-tokens.js';
import { type TokenScope, tokenScopes } from '../auth/scopes.js';
import { InvalidTokenLifetimeError, parseTokenLifetime } from '../auth/token-lifetime.js';
import type { PackageAccess } from '../packages/package-access.js';
import { type PackageService, factsOf } from '../packages/package-service.js';
import type { SourceRepositoryService } from '../packages/source-repositories.js';
import type { RegistryMetadata } from '../registry/metadata.js';
import { type Asset, assets } from './assets.js';
import { parseCookies, setCookie } from './cookies.js';
import { adminPages } from './admin-pages.js';
import { organizationPages } from './organization-pages.js';
import { packagePages } from './package-pages.js';
import { type PageKit, sessionCookie } from './page-kit.js';
import { PackageListPage } from './pages/package-list.js';
import { SignInPage } from './pages/sign-in.js';
import { NewTokenPage, TokensPage } from './pages/tokens.js';
import { type SessionService, sessionLifetimeMs } from './sessions.js';

export interface WebOptions {
  accounts: AccountService;
  authenticator: Authenticator;
  sessions: SessionService;
  audit: AuditLog;
  packages: PackageService;
  access: PackageAccess;
  tokens: PersonalAccessTokenService;
  metadata: RegistryMetadata;
  repositories: SourceRepositoryService;
  /** Rendering, who is looking, forms: made by `createPageKit`, shared with the app's 404 page. */
  kit: PageKit;
}

/**
 * The web pages, on the same port as the registry: sign-in, the home page, package lists, the
 * package page and the personal access tokens. They call the same services as the REST API, and
 * access to a package is decided by `PackageAccess` as everywhere else.
 */
export const webRoutes: FastifyPluginAsync<WebOptions> = async (app, options) => {
  const { kit } = options;
  const { secure, contextOf, sendPage, formOf, refuseForm, redirect, requireViewer } = kit;

  /** Only a path on this site, so that a sign-in link cannot send the user elsewhere. */
  const localPath = (value: string | null | undefined): string => (value && /^\/(?![/\\])/.test(value) ? value : '/');

  for (const asset of Object.values(assets) as Asset[]) {
    app.get(asset.path, async (request, reply) => {
      reply.header('Content-Type', asset.contentType).header('Cache-Control', 'public, max-age=31536000, immutable').header('Vary', 'Accept-Encoding');
      if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) return reply.header('Content-Encoding', 'gzip').send(asset.gzipped);
      return reply.send(asset.body);
    });
  }

  app.get('/login', async (request, reply) => {
    const context = await contextOf(request, reply);
    const next = localPath((request.query as Record<string, string | undefined>)['next']);
    if (context.viewer) return redirect(reply, next);
    return sendPage(request, reply, 200, <SignInPage context={context} next={next} />);
  });

  app.post('/login', async (request, reply) => {
    const form = await formOf(request);
    if (!form) return refuseForm(reply);
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    const next = localPath(form.get('next'));
    const again = async (status: number, error: string) =>
      sendPage(request, reply, status, <SignInPage context={await contextOf(request, reply)} next={next} username={username.slice(0, 39)} error={error} />);
    try {
      // Pages take the password, never a token: a leaked token must not open a browser session.
      if (isWellFormedToken(password)) throw new InvalidCredentialsError();
      const identity = await options.authenticator.signIn(request.ip, { username, password }, { allowPassword: true });
      const { secret } = await options.sessions.create(identity.userId, String(request.headers['user-agent'] ?? ''));
      reply.header('Set-Cookie', setCookie(sessionCookie, secret, { secure, maxAge: Math.floor(sessionLifetimeMs / 1000) }));
      return redirect(reply, next);
    } catch (error) {
      if (error instanceof TooManySignInsError) {
        reply.header('Retry-After', String(error.retryAfterSeconds));
        return again(429, `Too many failed sign-ins from your address. Try again in ${error.retryAfterSeconds} seconds.`);
      }
      if (error instanceof InvalidCredentialsError) return again(401, 'Incorrect user name or password.');
      throw error;
    }
  });

  app.post('/logout', async (request, reply) => {
    const form = await formOf(request);
    if (!form) return refuseForm(reply);
    const secret = parseCookies(request.headers.cookie).get(sessionCookie);
    const session = secret ? await options.sessions.find(secret) : undefined;
    if (session) await options.sessions.revoke(session.userId, session.id);
    reply.header('Set-Cookie', setCookie(sessionCookie, '', { secure, maxAge: 0 }));
    return redirect(reply, '/');
  });

  // How many of the latest versions a signed-in home page lists.
  const recentPushes = 10;

  app.get('/', async (request, reply) => {
    const context = await contextOf(request, reply);
    const query = String((request.query as Record<string, unknown>)['q'] ?? '').trim().slice(0, 100);
    const publicOnes = await options.packages.listPublic(query === '' ? 50 : 1000);
    let packages = publicOnes;
    if (context.viewer) {
      const namespaces = [...(await options.accounts.namespacesOf(context.viewer.userId))];
      const owners = await Promise.all(namespaces.map((namespace) => options.accounts.find(namespace)));
      const own = (await Promise.all(owners.map((owner) => (owner ? options.packages.listByOwner(owner.id) : [])))).flat();
      packages = await options.access.readable(context.viewer.userId, own, factsOf);
      if (query !== '') packages = [...packages, ...publicOnes.filter((pkg) => !packages.some((mine) => mine.id === pkg.id))];
    }
    if (query !== '') {
      const needle = query.toLowerCase();
      const found = packages.filter((pkg) => pkg.repository.includes(needle) || (pkg.metadata.description ?? '').toLowerCase().includes(needle));
      return sendPage(request, reply, 200, <PackageListPage context={context} title={`Packages matching “${query}”`} packages={found} empty="No package you can see matches." search={query} />);
    }
    return context.viewer
      ? sendPage(
          request,
          reply,
          200,
          <PackageListPage
            context={context}
            title="Your packages"
            packages={packages}
            empty="No packages yet: push an image to one of your namespaces."
            search=""
            recent={await options.packages.recentVersions(packages, recentPushes)}
          />,
        )
      : sendPage(request, reply, 200, <PackageListPage context={context} title="Public packages" packages={packages} empty="No public packages yet." search="" />);
  });

  await packagePages(app, kit, options);
  await organizationPages(app, kit, options);
  await adminPages(app, kit, options);

  const accountSettings = async (request: FastifyRequest, reply: FastifyReply, context: PageContext & { viewer: Viewer }, status: number, notice?: { kind: 'ok' | 'error'; text: string }) =>
    sendPage(request, reply, status, <AccountSettingsPage context={context} sessions={await options.sessions.list(context.viewer.userId)} currentSessionId={context.viewer.sessionId} notice={notice} />);

  app.get('/settings/sessions', async (request, reply) => {
    const context = await requireViewer(request, reply);
    if (!context) return reply;
    return accountSettings(request, reply, context, 200);
  });

  app.post('/settings/sessions/:id/revoke', async (request, reply) => {
    const form = await formOf(request);
    if (!form) return refuseForm(reply);
    const context = await requireViewer(request, reply);
    if (!context) return reply;
    const id = Number((request.params as { id: string }).id);
    if (!Number.isSafeInteger(id) || !(await options.sessions.revoke(context.viewer.userId, id))) return kit.notFound(request, reply);
    return redirect(reply, '/settings/sessions');
  });

  app.post('/settings/password', async (request, reply) => {
    const form = await formOf(request);
    if (!form) return refuseForm(reply);
    const context = await requireViewer(request, reply);
    if (!context) return reply;
    const current = form.get('current') ?? '';
    const next = form.get('new') ?? '';
    if (next.length < 8 || next.length > 1024) return accountSettings(request, reply, context, 422, { kind: 'error', text: 'The new password must have 8 to 1024 characters.' });
    try {
      if (isWellFormedToken(current)) throw new InvalidCredentialsError();
      await options.authenticator.signIn(request.ip, { username: context.viewer.name, password: current }, { allowPassword: true, confirming: true });
    } catch (error) {
      if (error instanceof TooManySignInsError) return accountSettings(request, reply, context, 429, { kind: 'error', text: `Too many failed attempts. Try again in ${error.retryAfterSeconds} seconds.` });
      if (error instanceof InvalidCredentialsError) return accountSettings(request, reply, context, 401, { kind: 'error', text: 'The current password is not right.' });
      throw error;
    }
    await options.accounts.setPassword(context.viewer.name, await hashPassword(next));
    await options.sessions.revokeOthers(context.viewer.userId, context.viewer.sessionId);
    return accountSettings(request, reply, context, 200, { kind: 'ok', text: 'Your password is changed, and every other browser is signed out.' });
  });

  app.get('/settings/tokens', async (request, reply) => {
    const context = await requireViewer(request, reply);
    if (!context) return reply;
    return sendPage(request, reply, 200, <TokensPage context={context} tokens={await options.tokens.list(context.viewer.userId)} />);
  });

  app.get('/settings/tokens/new', async (request, reply) => {
    const context = await requireViewer(request, reply);
    if (!context) return reply;
    // `?scopes=write:packages,read:packages`, as the links in GitHub's guide have it.
    const asked = String((request.query as Record<string, string | undefined>)['scopes'] ?? '').split(',');
    const checked = new Set(tokenScopes.filter((scope) => asked.includes(scope)));
    return sendPage(request, reply, 200, <NewTokenPage context={context} checked={checked} />);
  });

  app.post('/settings/tokens', async (request, reply) => {
    const form = await formOf(request);
    if (!form) return refuseForm(reply);
    const context = await requireViewer(request, reply);
    if (!context) return reply;
    const scopes = form.getAll('scopes').filter((scope: string): scope is TokenScope => (tokenScopes as readonly string[]).includes(scope));
    const note = (form.get('note') ?? '').trim().slice(0, 100);
    const expiration = form.get('expiration') ?? '30d';
    if (scopes.length === 0) {
      return sendPage(request, reply, 422, <NewTokenPage context={context} checked={new Set()} note={note} error="Choose at least one scope." />);
    }
    let expiresAt: Date | undefined;
    try {
      expiresAt = expiration === 'never' ? undefined : new Date(Date.now() + parseTokenLifetime(expiration));
    } catch (error) {
      if (!(error instanceof InvalidTokenLifetimeError)) throw error;
      return sendPage(request, reply, 422, <NewTokenPage context={context} checked={new Set(scopes)} note={note} error="Choose one of the expirations offered." />);
    }
    const created = await options.tokens.create(context.viewer.userId, scopes, { note: note === '' ? undefined : note, expiresAt });
    return sendPage(request, reply, 201, <TokensPage context={context} tokens={await options.tokens.list(context.viewer.userId)} created={created} />);
  });

  app.post('/settings/tokens/:id/revoke', async (request, reply) => {
    const form = await formOf(request);
    if (!form) return refuseForm(reply);
    const context = await requireViewer(request, reply);
    if (!context) return reply;
    const id = Number((request.params as { id: string }).id);
    if (!Number.isSafeInteger(id) || id <= 0) return kit.notFound(request, reply);
    try {
      await options.tokens.revoke(context.viewer.userId, id);
    } catch (error) {
      if (error instanceof AccessTokenNotFoundError) return kit.notFound(request, reply);
      throw error;
    }
    return redirect(reply, '/settings/tokens');
  });
};
