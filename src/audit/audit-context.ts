import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyRequest, RouteOptions } from 'fastify';

/**
 * Who did something, as the audit log names them. A name is kept as text next to the id because
 * the account (or token) may be deleted while its entries stay. `system` is Berth itself: the
 * sweep, the command line on the server's host, a retention policy (`retention:<policy>`).
 */
export type AuditActor =
  | { kind: 'user'; id: number; name: string }
  | { kind: 'repository_token'; id: number; name: string }
  | { kind: 'system'; name: string };

/** What a request (or a CLI run, or a sweep) knows about itself while it changes things. */
export interface AuditContext {
  clientAddress: string | null;
  requestId: string | null;
  /** Set once the request's credentials are checked; undefined while it is anonymous. */
  actor: AuditActor | undefined;
}

/**
 * The request facts reach the services through async context rather than through every service
 * method's parameters: the same services are called by the REST API, the pages and the CLI, and
 * the caller is known at a few places only (where credentials are checked), which set it here. A
 * parameter threaded through each method and each of its callers would touch far more code for
 * the same information, and one forgotten caller would record nothing at all.
 *
 * Node 20's AsyncLocalStorage follows every promise of the process while it is enabled, whether or
 * not that promise belongs to a context: on a manifest push that was a quarter of the CPU time.
 * So it is enabled only while some context is open (`withAuditContext` counts them), and the
 * registry API (`/v2`), which is most of the traffic and audits at three places only (a
 * push, a deletion, and credentials sent with Basic), hands its request's context to those
 * explicitly (`Actor.audit`, `AuditEntry.context`).
 */
const storage = new AsyncLocalStorage<AuditContext>();
let contextsOpen = 0;

/** The context of the request (or job) this code runs for, if any. */
export function currentAuditContext(): AuditContext | undefined {
  return storage.getStore();
}

/**
 * Runs `work` in `context` (a request's, a CLI command's, the sweep's, a retention run's). The
 * context lasts until `work` settles: work it leaves running records without one.
 */
export async function withAuditContext<T>(context: AuditContext, work: () => Promise<T>): Promise<T> {
  contextsOpen++;
  try {
    return await storage.run(context, work);
  } finally {
    // Stryker disable next-line ConditionalExpression: never disabling keeps every context right; only the cost to every promise shows it
    if (--contextsOpen === 0) storage.disable();
  }
}

/** How many contexts are open: 0 whenever no request outside `/v2` nor any job is running. */
export function auditContextsOpen(): number {
  return contextsOpen;
}

/** The context of a job Berth runs for `actor`, with no client. */
export function jobAuditContext(actor: AuditActor): AuditContext {
  return { clientAddress: null, requestId: null, actor };
}

/** Records who the request acts for, once its credentials are checked. */
export function setAuditActor(actor: AuditActor): void {
  const context = storage.getStore();
  if (context) context.actor = actor;
}

/** A request's audit context: its client address (honouring `trustProxy`), its id, and `actor`. */
export function requestAuditContext(request: FastifyRequest, actor?: AuditActor): AuditContext {
  return { clientAddress: request.ip, requestId: request.id, actor };
}

/**
 * A Fastify `onRoute` hook: every route outside the registry API runs its handler in its
 * request's context. No route authenticates or changes anything in a hook before its handler.
 */
export function runHandlersInAuditContext(route: RouteOptions): void {
  if (isRegistryApi(route.url)) return;
  const handler = route.handler;
  route.handler = function (this: unknown, request, reply) {
    return withAuditContext(requestAuditContext(request), async () => handler.call(this as never, request, reply));
  };
}

function isRegistryApi(url: string): boolean {
  return url === '/v2' || url.startsWith('/v2/');
}
