import { gzipSync } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { VNode } from 'preact';
import { render } from 'preact-render-to-string';
import type { AccountService } from '../accounts/account-service.js';
import { InvalidCredentialsError, TooManySignInsError, type Authenticator } from '../auth/authenticator.js';
import { isWellFormedToken } from '../auth/personal-access-token-format.js';
import { AccessTokenNotFoundError, type PersonalAccessTokenService } from '../auth/personal-access-tokens.js';
import { type TokenScope, tokenScopes } from '../auth/scopes.js';
import { InvalidTokenLifetimeError, parseTokenLifetime } from '../auth/token-lifetime.js';
import { readSmallBody } from '../http/read-body.js';
import type { PackageAccess } from '../packages/package-access.js';
import { type PackageRecord, type PackageService, factsOf } from '../packages/package-service.js';
import { type Asset, assets } from './assets.js';
import { parseCookies, setCookie } from './cookies.js';
import { csrfCookie, csrfField, csrfMatches, csrfValueOf, newCsrfValue } from './csrf.js';
import type { PageContext, Viewer } from './layout.js';
import { NotFoundPage } from './pages/not-found.js';
import { PackageListPage } from './pages/package-list.js';
import { PackagePage } from './pages/package.js';
import { SignInPage } from './pages/sign-in.js';
import { NewTokenPage, TokensPage } from './pages/tokens.js';
import { type SessionService, sessionLifetimeMs } from './sessions.js';

export interface WebOptions {
  accounts: AccountService;
  authenticator: Authenticator;
  sessions: SessionService;
  packages: PackageService;
  access: PackageAccess;
  tokens: PersonalAccessTokenService;
  /** The URL Berth is reached at: its host is the registry's in pull commands, and https makes cookies Secure. */
  publicUrl: string;
}

export const sessionCookie = 'berth_session';

/**
 * Pages, not data: the scripts, styles and frames a page may use. Nothing inline, so a value a
 * pusher chose can never run even if it escaped escaping.
 */
const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The web pages, on the same port as the registry: sign-in, the home page, package lists, the
 * package page and the personal access tokens. They call the same services as the REST API, and
 * access to a package is decided by `PackageAccess` as everywhere else.
 */
export const webRoutes: FastifyPluginAsync<WebOptions> = async (app, options) => {
  const secure = new URL(options.publicUrl).protocol === 'https:';
  const registryHost = new URL(options.publicUrl).host;

  /** The viewer of a request and the CSRF value of its browser (a new one is set when missing). */
  const contextOf = async (request: FastifyRequest, reply: FastifyReply): Promise<PageContext> => {
    const cookies = parseCookies(request.headers.cookie);
    let csrf = csrfValueOf(cookies.get(csrfCookie));
    if (!csrf) {
      csrf = newCsrfValue();
      reply.header('Set-Cookie', setCookie(csrfCookie, csrf, { secure }));
    }
    return { viewer: await viewerOf(cookies.get(sessionCookie)), csrf, registryHost };
  };

  const viewerOf = async (secret: string | undefined): Promise<Viewer | undefined> => {
    if (!secret) return undefined;
    const session = await options.sessions.find(secret);
    if (!session) return undefined;
    const account = await options.accounts.findById(session.userId);
    return account && account.kind === 'user' ? { userId: account.id, name: account.name } : undefined;
  };

  const sendPage = (request: FastifyRequest, reply: FastifyReply, status: number, page: VNode) => {
    const html = Buffer.from(`<!doctype html>${render(page)}`, 'utf8');
    reply
      .code(status)
      .header('Content-Type', 'text/html; charset=utf-8')
      .header('Content-Security-Policy', contentSecurityPolicy)
      .header('Referrer-Policy', 'same-origin')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Cache-Control', 'no-store')
      .header('Vary', 'Cookie, Accept-Encoding');
    if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) return reply.header('Content-Encoding', 'gzip').send(gzipSync(html));
    return reply.send(html);
  };

  const notFound = async (request: FastifyRequest, reply: FastifyReply) => sendPage(request, reply, 404, <NotFoundPage context={await contextOf(request, reply)} />);

  /** A posted form, refused unless it carries this browser's CSRF value. */
  const formOf = async (request: FastifyRequest): Promise<URLSearchParams | undefined> => {
    if (!/^application\/x-www-form-urlencoded\b/i.test(String(request.headers['content-type'] ?? ''))) return undefined;
    const form = new URLSearchParams(await readSmallBody(request, 16 * 1024));
    return csrfMatches(parseCookies(request.headers.cookie).get(csrfCookie), form.get(csrfField) ?? undefined) ? form : undefined;
  };

  const refuseForm = (reply: FastifyReply) =>
    reply.code(403).header('Content-Type', 'text/plain; charset=utf-8').send('This form has expired or came from another site. Go back, reload the page and try again.');

  const redirect = (reply: FastifyReply, to: string) => reply.code(303).header('Location', to).send();

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

  app.get('/', async (request, reply) => {
    const context = await contextOf(request, reply);
    if (!context.viewer) {
      const packages = await options.packages.listPublic(50);
      return sendPage(request, reply, 200, <PackageListPage context={context} title="Public packages" packages={packages} empty="No public packages yet." />);
    }
    const namespaces = [...(await options.accounts.namespacesOf(context.viewer.userId))];
    const owners = await Promise.all(namespaces.map((namespace) => options.accounts.find(namespace)));
    const all = (await Promise.all(owners.map((owner) => (owner ? options.packages.listByOwner(owner.id) : [])))).flat();
    const readable = await options.access.readable(context.viewer.userId, all, factsOf);
    return sendPage(request, reply, 200, <PackageListPage context={context} title="Your packages" packages={readable} empty="No packages yet: push an image to one of your namespaces." />);
  });

  for (const kind of ['users', 'orgs'] as const) {
    app.get(`/${kind}/:owner/packages`, async (request, reply) => {
      const context = await contextOf(request, reply);
      const owner = await options.accounts.find((request.params as { owner: string }).owner);
      if (!owner || owner.kind !== (kind === 'orgs' ? 'org' : 'user')) return notFound(request, reply);
      const readable = await options.access.readable(context.viewer?.userId, await options.packages.listByOwner(owner.id), factsOf);
      return sendPage(request, reply, 200, <PackageListPage context={context} title={`Packages of ${owner.name}`} packages={readable} empty="No packages you can see." />);
    });

    app.get(`/${kind}/:owner/packages/container/package/:name`, async (request, reply) => {
      const context = await contextOf(request, reply);
      const pkg = await readablePackage(kind, request.params as { owner: string; name: string }, context.viewer);
      if (!pkg) return notFound(request, reply);
      const versions = await options.packages.versions(pkg, 'active', 100, 0);
      return sendPage(request, reply, 200, <PackagePage context={context} pkg={pkg} versions={versions.items} />);
    });
  }

  /** The live package a path names, if the viewer may read it; else undefined, whichever the reason. */
  const readablePackage = async (kind: 'users' | 'orgs', params: { owner: string; name: string }, viewer: Viewer | undefined): Promise<PackageRecord | undefined> => {
    const owner = await options.accounts.find(params.owner);
    if (!owner || owner.kind !== (kind === 'orgs' ? 'org' : 'user')) return undefined;
    const pkg = await options.packages.get(`${owner.name.toLowerCase()}/${params.name.toLowerCase()}`);
    if (!pkg) return undefined;
    return (await options.access.role(viewer?.userId, factsOf(pkg))) ? pkg : undefined;
  };

  /** The signed-in viewer, or a redirect to the sign-in page that comes back here. */
  const requireViewer = async (request: FastifyRequest, reply: FastifyReply): Promise<PageContext | undefined> => {
    const context = await contextOf(request, reply);
    if (context.viewer) return context;
    await redirect(reply, `/login?next=${encodeURIComponent(request.url)}`);
    return undefined;
  };

  app.get('/settings/tokens', async (request, reply) => {
    const context = await requireViewer(request, reply);
    if (!context?.viewer) return reply;
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
    if (!context?.viewer) return reply;
    const scopes = form.getAll('scopes').filter((scope): scope is TokenScope => (tokenScopes as readonly string[]).includes(scope));
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
    if (!context?.viewer) return reply;
    const id = Number((request.params as { id: string }).id);
    if (!Number.isSafeInteger(id) || id <= 0) return notFound(request, reply);
    try {
      await options.tokens.revoke(context.viewer.userId, id);
    } catch (error) {
      if (error instanceof AccessTokenNotFoundError) return notFound(request, reply);
      throw error;
    }
    return redirect(reply, '/settings/tokens');
  });
};
