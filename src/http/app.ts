import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';
import { runHandlersInAuditContext } from '../audit/audit-context.js';
import type { Authorizer } from '../auth/access.js';
import type { CollectionReport } from '../gc/garbage-collector.js';
import { RegistryError } from '../oci/errors.js';
import { registryRoutes } from '../registry/routes.js';
import type { RegistryServices } from '../registry/services.js';
import { answerClientError, answerFrameworkError } from './client-error.js';
import { sendError } from './error-reply.js';
import { type AccountStorageSample, createMetrics } from './metrics.js';
import { closeIfBodyUnread } from './request-body.js';
import type { RequestsInFlight } from './requests-in-flight.js';
import { sendJson } from './send-json.js';
import type { TlsCredentials } from './tls.js';

export interface AppOptions {
  services: RegistryServices;
  authorizer: Authorizer;
  /** false for silence (tests), or pino options. */
  logger: FastifyServerOptions['logger'];
  /** Addresses and CIDR ranges of proxies whose X-Forwarded-For gives `request.ip`; none when empty. */
  trustProxy?: readonly string[];
  /** Further routes (the token service, the account API), registered before the /v2 API. */
  routes?: (app: FastifyInstance) => Promise<void>;
  /** Serve HTTPS with this certificate, and HTTP/2 next to HTTP/1.1 when `http2` is set. */
  tls?: TlsCredentials & { http2: boolean };
  /** How long a request body may send nothing while it is read, in ms (2 minutes by default). */
  bodyTimeout?: number;
  /** The web pages' 404 page, for a browser asking for a path outside the APIs. */
  notFoundPage?: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  /** What `/readyz` checks: each part's check rejects while that part cannot be reached. */
  readiness?: Record<string, () => Promise<unknown>>;
  /** The last garbage collection this node ran, for `/metrics`. */
  lastCollection?: () => CollectionReport | undefined;
  /** Storage per account for `/metrics` (with accounts on). */
  storage?: () => Promise<AccountStorageSample[]>;
  /** Counts the requests being served, for background work to yield to. */
  requestsInFlight?: RequestsInFlight;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** A stable name of the matched registry route, for metrics and logs. */
    routeName: string;
  }
}

/** How long `/readyz` waits for a part before it counts as unreachable. */
const readinessTimeoutMs = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Builds the HTTP application: logging, metrics, error envelope, health, and the /v2 API. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = fastify({
    ...serverOptions(options.tls),
    logger: options.logger,
    genReqId: () => randomUUID(),
    trustProxy: options.trustProxy?.length ? [...options.trustProxy] : false,
    requestIdHeader: false,
    // HEAD routes are written explicitly: an automatic HEAD would stream a whole blob.
    exposeHeadRoutes: false,
    // Nested repository names are matched by the registry router, not by the path parser.
    routerOptions: { ignoreDuplicateSlashes: false, maxParamLength: 2048 },
    // No route declares a JSON schema: bodies are streams, and each handler parses its own input.
    // Fastify would otherwise load Ajv and fast-json-stringify at start (about 100 modules) to
    // compile schemas there are none of.
    schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
    // One log line per request is written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    // Errors Fastify raises before routing (a malformed percent-encoding, an over-long path) and
    // requests Node's parser refuses get the OCI envelope too (GitHub's under /api), not Fastify's own JSON.
    frameworkErrors: answerFrameworkError,
    // Fastify binds the handler to the instance; its types do not say so.
    clientErrorHandler(this: FastifyInstance, error, socket) {
      answerClientError(this.log, error, socket);
    },
  });
  app.decorate('bodyTimeout', options.bodyTimeout ?? 2 * 60 * 1000);
  const metrics = createMetrics({
    uploadsInProgress: () => options.services.uploads.inProgress,
    lastCollection: options.lastCollection ?? (() => undefined),
    storage: options.storage,
  });

  app.decorateRequest('routeName', '');
  // Request bodies are streams the handlers consume themselves (blobs must never be buffered).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  // The hooks every request passes take a callback rather than return a promise: Fastify then
  // runs them without a promise and a microtask each.
  options.requestsInFlight?.track(app);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-Id', request.id);
    done();
  });
  // The client address and request id reach the audit log from here (see audit-context.ts).
  app.addHook('onRoute', runHandlersInAuditContext);
  app.addHook('onSend', (request, reply, payload, done) => {
    closeIfBodyUnread(request, reply);
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeName || request.routeOptions.url || 'unmatched';
    const received = Number(request.headers['content-length'] ?? 0);
    const sent = request.method === 'HEAD' ? 0 : Number(reply.getHeader('content-length') ?? 0);
    metrics.requests.record(route, request.method, reply.statusCode, reply.elapsedTime / 1000, received, sent);
    request.log.info(
      {
        method: request.method,
        url: request.url,
        route,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
        remoteAddress: request.ip,
        userAgent: request.headers['user-agent'],
      },
      'request',
    );
    done();
  });

  app.setErrorHandler(async (error, request, reply) => sendError(error, request, reply));

  app.setNotFoundHandler(async (request, reply) => {
    if (options.notFoundPage && wantsPage(request)) return options.notFoundPage(request, reply);
    const error = new RegistryError('UNSUPPORTED', `no endpoint ${request.method} ${request.url.split('?')[0]}`, { condition: 'no-endpoint' });
    return sendJson(reply.code(404), error.toBody());
  });

  // Liveness: the process serves. Readiness: so do the database and the blob store it needs, so a
  // load balancer sends no requests to a node that would fail them.
  app.get('/healthz', async (_request, reply) => sendJson(reply, { status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const parts = Object.entries(options.readiness ?? {});
    const results = await Promise.all(parts.map(([, check]) => withTimeout(check(), readinessTimeoutMs).then(() => true, () => false)));
    const failing = parts.filter((_, index) => !results[index]).map(([name]) => name);
    return failing.length === 0 ? sendJson(reply, { status: 'ok' }) : sendJson(reply.code(503), { status: 'unavailable', failing });
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  if (options.routes) await options.routes(app);
  await app.register(registryRoutes, { services: options.services, authorizer: options.authorizer });
  return app;
}

/**
 * HTTP/1.1 by default; over TLS, HTTP/2 too when asked (ALPN offers `h2` and `http/1.1`, so
 * clients without HTTP/2 are still served). HTTP/2 is not the default because large blob pushes
 * over it are slower (see docs/performance.md): the body arrives in small DATA frames, each one
 * chunk to write.
 */
function serverOptions(tls: AppOptions['tls']): object {
  if (!tls) return {};
  const { http2, ...credentials } = tls;
  return http2 ? { http2: true, https: { ...credentials, allowHTTP1: true } } : { https: credentials };
}

/** Fastify's schema compilers, for an app whose routes have no schemas: a schema added by mistake fails at start. */
function noSchemas(): never {
  throw new Error('routes of Berth declare no JSON schemas; parse the input in the handler');
}

/**
 * The handlers use the HTTP/1.1 request and response API, which the HTTP/2 compatibility layer
 * provides too; one instance type keeps the rest of the code independent of the protocol.
 */
const fastify = Fastify as unknown as (options: FastifyServerOptions & object) => FastifyInstance;

/** A browser's request for a page: HTML accepted, and a path no API (`/v2`, `/api`, `/token`) owns. */
function wantsPage(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0] ?? '';
  if (/^\/(v2|api|token)(\/|$)/.test(path)) return false;
  return (request.method === 'GET' || request.method === 'HEAD') && /\btext\/html\b/.test(String(request.headers.accept ?? ''));
}
