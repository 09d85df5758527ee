import type { FastifyInstance } from 'fastify';
import { AccountService } from './accounts/account-service.js';
import { ensureFirstAdmin } from './accounts/first-admin.js';
import { orgApiRoutes } from './accounts/org-api-routes.js';
import { userApiRoutes } from './accounts/user-api-routes.js';
import { auditApiRoutes } from './audit/audit-api-routes.js';
import { jobAuditContext, withAuditContext } from './audit/audit-context.js';
import { AuditLog } from './audit/audit-log.js';
import { PersonalAccessTokenService } from './auth/personal-access-tokens.js';
import { type Authorizer, anonymousAuthorizer } from './auth/access.js';
import { Authenticator } from './auth/authenticator.js';
import { tokenRealm } from './auth/challenge.js';
import { RepositoryPolicy } from './auth/policy.js';
import { FailureLimiter } from './auth/rate-limiter.js';
import { SharedFailureLimiter } from './auth/shared-failure-limiter.js';
import { RegistryTokens } from './auth/registry-tokens.js';
import { RepositoryTokenService } from './auth/repository-tokens.js';
import { legacySigningKeysFile, loadSigningKeys } from './auth/signing-keys.js';
import { TokenAuthorizer } from './auth/token-authorizer.js';
import { tokenEndpoint } from './auth/token-endpoint.js';
import type { Config } from './config.js';
import type { Database } from './db/schema.js';
import type { DatabaseEngine } from './db/engine.js';
import { openDatabase } from './db/open-database.js';
import { CollectionRuns } from './gc/collection-runs.js';
import { gcApiRoutes } from './gc/gc-api-routes.js';
import { GarbageCollector } from './gc/garbage-collector.js';
import { buildApp } from './http/app.js';
import { RequestsInFlight } from './http/requests-in-flight.js';
import { readTlsFiles, replaceCertificate } from './http/tls.js';
import { digestOf } from './oci/digest.js';
import { tightenDataDir } from './private-files.js';
import { createRegistryServices, type RegistryServices } from './registry/services.js';
import { DownloadCounter } from './packages/download-counter.js';
import { PackageAccess } from './packages/package-access.js';
import { packageApiRoutes } from './packages/package-api-routes.js';
import { PackageJson } from './packages/package-json.js';
import { PackageEvents } from './packages/package-events.js';
import { PackageService } from './packages/package-service.js';
import { repositoryApiRoutes } from './packages/repository-api-routes.js';
import { SourceRepositoryService } from './packages/source-repositories.js';
import { SessionService } from './web/sessions.js';
import { type PageKit, createPageKit } from './web/page-kit.js';
import { webRoutes } from './web/web-routes.js';
import type { BlobStore } from './storage/blob-store.js';
import { openBlobStore } from './storage/open-blob-store.js';
import { storageApiRoutes } from './quotas/storage-api-routes.js';
import { StorageQuotas } from './quotas/storage-quotas.js';
import { StorageUsage } from './quotas/storage-usage.js';
import { ActiveHooks } from './webhooks/active-hooks.js';
import { AddressGuard } from './webhooks/address-guard.js';
import { hookApiRoutes } from './webhooks/hook-api-routes.js';
import { HookDeliverer } from './webhooks/hook-deliverer.js';
import { HookOutbox } from './webhooks/hook-outbox.js';
import { HookPayloads } from './webhooks/hook-payloads.js';
import { HookRenderer } from './webhooks/hook-renderer.js';
import { HookService } from './webhooks/hook-service.js';

export interface Berth {
  app: FastifyInstance;
  services: RegistryServices;
  db: Database;
  accounts: AccountService;
  accessTokens: PersonalAccessTokenService;
  sessions: SessionService;
  packages: PackageService;
  packageAccess: PackageAccess;
  sourceRepositories: SourceRepositoryService;
  repositoryTokens: RepositoryTokenService;
  downloads: DownloadCounter;
  /** Garbage collection: scheduled, and run on demand. */
  collections: CollectionRuns;
  quotas: StorageQuotas;
  /** The security log: who did what, from where. */
  audit: AuditLog;
  /** Webhooks of accounts and packages, and their deliveries. */
  hooks: HookService;
  /**
   * The sweep begun at start (expired uploads and tokens, retention policies, purges), which runs
   * while the server already answers; settles once it has run, whether or not each step succeeded.
   */
  firstSweep: Promise<void>;
  /**
   * The data directory's permissions tightened below its top level, which runs while the server
   * already answers (the top level and the database are done before it opens).
   */
  tightened: Promise<void>;
  /**
   * Reads the TLS certificate and key files again and serves them to new connections (SIGHUP);
   * connections already open are not disturbed. Does nothing without TLS.
   */
  reloadCertificate(): Promise<void>;
  /** Stops accepting, lets requests in flight finish (up to the shutdown timeout), closes storage. */
  close(): Promise<void>;
}

export interface BerthOptions {
  /** false silences the log; a stream receives it instead of stdout (tests read it). */
  logger?: boolean;
  logStream?: NodeJS.WritableStream;
  /** Overrides `config.auth`: false keeps the registry open to anonymous pull and push. */
  auth?: boolean;
  /** Where blob bytes live, instead of the data directory's store. */
  blobStore?: BlobStore;
  /** The metadata database, instead of the data directory's; closed with Berth. */
  database?: DatabaseEngine;
  /** Receives the note saying where the first administrator's generated password was written; stderr by default. */
  print?: (text: string) => void;
  /** Environment read for `BERTH_ADMIN_USERNAME` / `BERTH_ADMIN_PASSWORD`; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** The clock registry tokens are issued and checked by, in ms since the epoch; Date.now by default. */
  now?: () => number;
}

/** The composition root: config -> database -> blob store -> services -> auth -> HTTP app. */
export async function createBerth(config: Config, options: BerthOptions = {}): Promise<Berth> {
  // Before anything opens a file in it: SQLite's -wal and -shm take the database file's mode.
  const tightening = await tightenDataDir(config.dataDir);
  const engine = options.database ?? (await openDatabase(config.dataDir, config.database));
  const { db } = engine;
  const store = options.blobStore ?? (await openBlobStore(config));
  const downloads = new DownloadCounter(db);
  const sourceRepositories = new SourceRepositoryService(db);
  const packageAccess = new PackageAccess(db);
  const repositoryTokens = new RepositoryTokenService(db, (userId, repositoryId) => packageAccess.repositoryRole(userId, repositoryId));
  // Blobs uploaded and not referenced yet count towards a quota for as long as an upload may last.
  const quotas = new StorageQuotas(db, new StorageUsage(db, config.uploadExpiry));
  const services = createRegistryServices(engine, store, { maxBlobBytes: config.maxBlobBytes, expiryMs: config.uploadExpiry }, quotas);
  // Webhooks: the outbox is written in each package change's transaction; the deliverer sends it.
  const hookGuard = new AddressGuard(config.webhookAllowedNetworks);
  const packageJson = new PackageJson(config.publicUrl);
  const hookPayloads = new HookPayloads(packageJson, config.publicUrl);
  // Bodies are made from the package as read outside any change's transaction.
  const renderer = new HookRenderer(db, new PackageService(db, services.metadata), hookPayloads);
  // Deliveries yield to the requests the node is serving (see IdleGate).
  const requestsInFlight = new RequestsInFlight();
  const deliverer = new HookDeliverer(
    db,
    (name, run) => engine.exclusively(name, run),
    hookGuard,
    renderer,
    {
      warn: (fields, message) => app.log.warn(fields, message),
      error: (fields, message) => app.log.error(fields, message),
    },
    { activity: requestsInFlight, yieldMs: config.webhookYield },
  );
  const activeHooks = new ActiveHooks(engine.dataVersion);
  const hooks = new HookService(db, hookGuard, hookPayloads, activeHooks, () => deliverer.poke());
  const packageService = new PackageService(db, services.metadata, undefined, new HookOutbox(activeHooks, () => deliverer.poke()));
  services.events.subscribe(new PackageEvents(packageService, services.metadata, services.blobs, downloads, sourceRepositories));
  const accounts = new AccountService(db, services.metadata);
  const collections = new CollectionRuns(new GarbageCollector(engine, store, { graceMs: config.uploadExpiry }), (name, run) => engine.exclusively(name, run), {
    info: (fields, message) => app.log.info(fields, message),
    error: (fields, message) => app.log.error(fields, message),
  });
  const accessTokens = new PersonalAccessTokenService(db);
  const audit = new AuditLog(db);
  const sessions = new SessionService(db);
  const authOn = options.auth ?? config.auth;
  // Nodes behind one load balancer must count a client's failures together.
  const sharedFailures = engine.sharedByNodes ? new SharedFailureLimiter(db, config.authFailureLimit, config.authFailureWindow) : undefined;
  const signInLimiter = sharedFailures ?? new FailureLimiter(config.authFailureLimit, config.authFailureWindow);

  let authorizer: Authorizer = anonymousAuthorizer;
  let routes: ((app: FastifyInstance) => Promise<void>) | undefined;
  // The web pages need accounts: with authentication off there are none, and no pages.
  let pages: PageKit | undefined;
  if (authOn) {
    const kit = createPageKit({ accounts, sessions, publicUrl: config.publicUrl });
    pages = kit;
    await ensureFirstAdmin(accounts, options.env ?? process.env, config.dataDir, options.print ?? ((text) => process.stderr.write(`${text}\n`)), config.publicUrl);
    const realm = tokenRealm(config.publicUrl);
    const registryTokens = new RegistryTokens(await loadSigningKeys(db, legacySigningKeysFile(config.dataDir)), config.publicUrl, realm.service, Math.max(1, Math.round(config.tokenTtl / 1000)), { now: options.now });
    const authenticator = new Authenticator(accounts, accessTokens, signInLimiter, repositoryTokens, audit);
    const policy = new RepositoryPolicy(packageAccess);
    authorizer = new TokenAuthorizer({ realm, authenticator, policy, registryTokens, accessTokens, repositoryTokens });
    routes = async (app) => {
      await app.register(tokenEndpoint, { authenticator, policy, registryTokens });
      await app.register(userApiRoutes, { accounts, accessTokens, authenticator });
      await app.register(orgApiRoutes, { accounts, authenticator });
      await app.register(gcApiRoutes, { accounts, authenticator, collections, audit });
      await app.register(storageApiRoutes, { accounts, authenticator, quotas });
      await app.register(auditApiRoutes, { accounts, authenticator, audit });
      await app.register(packageApiRoutes, { accounts, authenticator, packages: packageService, access: packageAccess, repositories: sourceRepositories, json: packageJson });
      await app.register(hookApiRoutes, { accounts, authenticator, hooks, packages: packageService, access: packageAccess, publicUrl: config.publicUrl });
      await app.register(repositoryApiRoutes, { accounts, authenticator, access: packageAccess, repositories: sourceRepositories, repositoryTokens });
      await app.register(webRoutes, { accounts, authenticator, sessions, audit, packages: packageService, access: packageAccess, tokens: accessTokens, metadata: services.metadata, repositories: sourceRepositories, kit });
    };
  }

  // Credentials travel in headers; Node's parser errors carry the request's raw bytes (headers and
  // body, so PATs and /token forms too) as `rawPacket`, which Fastify logs at trace level.
  const redact = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'err.rawPacket'];
  const tlsFiles = config.tlsCert && config.tlsKey ? { cert: config.tlsCert, key: config.tlsKey } : undefined;
  const app = await buildApp({
    requestsInFlight,
    services,
    authorizer,
    routes,
    trustProxy: config.trustProxy,
    tls: tlsFiles && { ...(await readTlsFiles(tlsFiles)), http2: config.http2 },
    bodyTimeout: config.bodyTimeout,
    notFoundPage: pages && ((request, reply) => pages.notFound(request, reply)),
    // Asking the store for any blob's size reaches it; which blob does not matter.
    readiness: { database: () => engine.ping(), storage: () => store.stat(digestOf('')) },
    lastCollection: () => collections.last,
    storage: authOn ? () => quotas.summary() : undefined,
    logger:
      options.logger === false
        ? false
        : options.logStream
          ? { level: config.logLevel, redact, stream: options.logStream }
          : { level: config.logLevel, redact },
  });
  downloads.start();
  downloads.onError = (error) => app.log.error({ err: error }, 'writing download counts failed');
  const tightened = tightening.below.then(
    (below) => {
      const entries = tightening.changed + below;
      if (entries > 0) app.log.warn({ dataDir: config.dataDir, entries }, 'the data directory was readable by other users: removed their permissions (directories 0700, files 0600)');
    },
    (error: unknown) => app.log.error({ err: error }, 'tightening the permissions of the data directory failed'),
  );
  if (!authOn) app.log.warn('authentication is off: anyone can pull and push (BERTH_AUTH=off)');

  // Retention policies delete (softly) what packages no longer keep; one line per package that lost versions.
  const applyRetention = async () => {
    for (const result of await packageService.applyAllRetention()) {
      if ('error' in result) {
        app.log.warn({ err: result.error, package: result.repository }, 'applying a retention policy failed');
      } else if (result.outcome.versions.length > 0) {
        app.log.info({ package: result.repository, policy: result.outcome.by, versions: result.outcome.versions.length }, 'retention policy deleted versions');
      }
    }
  };
  // Abandoned uploads are swept at start and then regularly, a few times per expiry period, by
  // one node at a time when several share the database; retention policies are applied then too.
  // The first sweep runs beside the start rather than before the server answers: it reads every
  // package's retention policy, which on a large registry takes far longer than the rest of a start.
  const sweepOnce = async () => {
    await services.uploads.expire().catch((error: unknown) => app.log.error({ err: error }, 'upload expiry failed'));
    await applyRetention().catch((error: unknown) => app.log.error({ err: error }, 'applying retention policies failed'));
    await packageService.purge().catch((error: unknown) => app.log.error({ err: error }, 'purging deleted packages failed'));
    await collections.finishCutShort().catch((error: unknown) => app.log.error({ err: error }, 'finishing a garbage collection cut short failed'));
    await repositoryTokens.deleteExpired().catch((error: unknown) => app.log.error({ err: error }, 'removing expired repository tokens failed'));
    await accessTokens.recordExpired().catch((error: unknown) => app.log.error({ err: error }, 'recording expired personal access tokens failed'));
    await sessions.deleteExpired().catch((error: unknown) => app.log.error({ err: error }, 'removing expired sessions failed'));
    await sharedFailures?.prune().catch((error: unknown) => app.log.error({ err: error }, 'removing ended sign-in failure windows failed'));
  };
  let sweeping: Promise<void> | undefined;
  const sweep = () => {
    sweeping ??= withAuditContext(jobAuditContext({ kind: 'system', name: 'sweep' }), () => engine.exclusively('sweep', sweepOnce))
      .catch((error: unknown) => app.log.error({ err: error }, 'the sweep could not run'))
      .finally(() => {
        sweeping = undefined;
      });
    return sweeping;
  };
  const firstSweep = sweep();
  const sweeper = setInterval(sweep, Math.min(Math.max(config.uploadExpiry / 4, 1000), 3_600_000));
  sweeper.unref();
  if (config.gc) collections.every(config.gcInterval);
  // Deliveries left by a previous run (or another node, or the CLI) go out from the start.
  deliverer.start();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(sweeper);
      const collectionStopped = collections.stop();
      const deliveriesStopped = deliverer.stop();
      // An HTTP/2 server has neither: Fastify ends its sessions on close (GOAWAY).
      const server = app.server as Partial<Pick<typeof app.server, 'closeAllConnections' | 'closeIdleConnections'>>;
      const forced = setTimeout(() => server.closeAllConnections?.(), config.shutdownTimeout);
      // A keep-alive connection whose response finishes after close() began becomes idle later:
      // close it then, rather than waiting for the keep-alive timeout.
      const idle = setInterval(() => server.closeIdleConnections?.(), 50);
      forced.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(forced);
        clearInterval(idle);
        await downloads.stop().catch((error: unknown) => app.log.error({ err: error }, 'writing download counts failed'));
        await collectionStopped;
        await deliveriesStopped;
        // A sweep under way runs to its end before the database closes beneath it.
        await sweeping;
        await tightened;
        await engine.close();
      }
    })();
    return closing;
  };
  const reloadCertificate = async () => {
    if (tlsFiles) await replaceCertificate(app.server, tlsFiles);
  };
  return { app, services, db, accounts, accessTokens, sessions, packages: packageService, packageAccess, sourceRepositories, repositoryTokens, downloads, collections, quotas, audit, hooks, firstSweep, tightened, reloadCertificate, close };
}
