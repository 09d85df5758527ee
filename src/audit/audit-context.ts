import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

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
 * method's parameters: the same services are called by the REST API, the pages, `/v2` and the
 * CLI, and the caller is known at a few places only (where credentials are checked), which set it
 * here. A parameter threaded through each method and each of its callers would touch far more
 * code for the same information, and one forgotten caller would record nothing at all.
 */
const storage = new AsyncLocalStorage<AuditContext>();

/** The context of the request (or job) this code runs for, if any. */
export function currentAuditContext(): AuditContext | undefined {
  return storage.getStore();
}

/** Runs `work` with its own audit context (a CLI command, the sweep, a retention run). */
export function withAuditContext<T>(context: Partial<AuditContext>, work: () => T): T {
  return storage.run({ clientAddress: null, requestId: null, actor: undefined, ...context }, work);
}

/** Records who the request acts for, once its credentials are checked. */
export function setAuditActor(actor: AuditActor): void {
  const context = storage.getStore();
  if (context) context.actor = actor;
}

/**
 * A Fastify `onRequest` hook giving each request its context. Written with `done` so that the
 * rest of the request's lifecycle runs inside `storage.run`: `enterWith` from an async hook would
 * not reach the handler. `request.ip` honours `trustProxy`.
 */
export function auditContextHook(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (isPull(request)) return done();
  storage.run({ clientAddress: request.ip, requestId: request.id, actor: undefined }, done);
}

/**
 * A registry read with a registry token or none: it changes nothing and checks no password or
 * personal access token, so it has nothing to record. It is most of a registry's traffic, and a
 * context carried through all its asynchronous work cost a quarter of a manifest GET's time.
 */
function isPull(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (!request.url.startsWith('/v2/')) return false;
  const authorization = request.headers.authorization;
  return authorization === undefined || /^bearer /i.test(authorization);
}
