import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VNode } from 'preact';
import { render } from 'preact-render-to-string';
import type { AccountService } from '../accounts/account-service.js';
import { setAuditActor } from '../audit/audit-context.js';
import { readSmallBody } from '../http/read-body.js';
import { parseCookies, setCookie } from './cookies.js';
import { csrfCookie, csrfField, csrfMatches, csrfValueOf, newCsrfValue } from './csrf.js';
import type { PageContext, Viewer } from './layout.js';
import { NotFoundPage } from './pages/not-found.js';
import type { SessionService } from './sessions.js';

export const sessionCookie = 'berth_session';

/**
 * Pages, not data: the scripts, styles and frames a page may use. Nothing inline, so a value a
 * pusher chose can never run even if it escaped escaping.
 */
export const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** What every page handler needs: who is looking, rendering, forms, redirects. */
export interface PageKit {
  /** Whether cookies are `Secure` (Berth is reached over https). */
  readonly secure: boolean;
  /** The viewer of a request and the CSRF value of its browser (a new one is set when missing). */
  contextOf(request: FastifyRequest, reply: FastifyReply): Promise<PageContext>;
  /** The signed-in viewer's context, or undefined after redirecting to the sign-in page. */
  requireViewer(request: FastifyRequest, reply: FastifyReply): Promise<(PageContext & { viewer: Viewer }) | undefined>;
  sendPage(request: FastifyRequest, reply: FastifyReply, status: number, page: VNode): FastifyReply;
  notFound(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>;
  /** A posted form, or undefined unless it carries this browser's CSRF value. */
  formOf(request: FastifyRequest): Promise<URLSearchParams | undefined>;
  refuseForm(reply: FastifyReply): FastifyReply;
  redirect(reply: FastifyReply, to: string): FastifyReply;
}

export function createPageKit(options: { accounts: AccountService; sessions: SessionService; publicUrl: string }): PageKit {
  const secure = new URL(options.publicUrl).protocol === 'https:';
  const registryHost = new URL(options.publicUrl).host;

  const viewerOf = async (secret: string | undefined): Promise<Viewer | undefined> => {
    if (!secret) return undefined;
    const session = await options.sessions.find(secret);
    if (!session) return undefined;
    const account = await options.accounts.findById(session.userId);
    if (account?.kind === 'user') setAuditActor({ kind: 'user', id: account.id, name: account.name });
    return account && account.kind === 'user' ? { userId: account.id, name: account.name, sessionId: session.id, isAdmin: account.isAdmin } : undefined;
  };

  const kit: PageKit = {
    secure,
    async contextOf(request, reply) {
      const cookies = parseCookies(request.headers.cookie);
      let csrf = csrfValueOf(cookies.get(csrfCookie));
      if (!csrf) {
        csrf = newCsrfValue();
        reply.header('Set-Cookie', setCookie(csrfCookie, csrf, { secure }));
      }
      return { viewer: await viewerOf(cookies.get(sessionCookie)), csrf, registryHost };
    },
    async requireViewer(request, reply) {
      const context = await kit.contextOf(request, reply);
      if (context.viewer) return context as PageContext & { viewer: Viewer };
      kit.redirect(reply, `/login?next=${encodeURIComponent(request.url)}`);
      return undefined;
    },
    sendPage(request, reply, status, page) {
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
    },
    async notFound(request, reply) {
      return kit.sendPage(request, reply, 404, <NotFoundPage context={await kit.contextOf(request, reply)} />);
    },
    async formOf(request) {
      if (!/^application\/x-www-form-urlencoded\b/i.test(String(request.headers['content-type'] ?? ''))) return undefined;
      const form = new URLSearchParams(await readSmallBody(request, 16 * 1024));
      return csrfMatches(parseCookies(request.headers.cookie).get(csrfCookie), form.get(csrfField) ?? undefined) ? form : undefined;
    },
    refuseForm(reply) {
      return reply.code(403).header('Content-Type', 'text/plain; charset=utf-8').send('This form has expired or came from another site. Go back, reload the page and try again.');
    },
    redirect(reply, to) {
      return reply.code(303).header('Location', to).send();
    },
  };
  return kit;
}
