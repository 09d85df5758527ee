import type { FastifyInstance } from 'fastify';
import { anonymousAuthorizer } from './auth/access.js';
import type { Config } from './config.js';
import type { Database } from './db/schema.js';
import { openSqlite } from './db/sqlite.js';
import { buildApp } from './http/app.js';
import { createRegistryServices, type RegistryServices } from './registry/services.js';
import { FsBlobStore } from './storage/fs/fs-blob-store.js';

export interface Berth {
  app: FastifyInstance;
  services: RegistryServices;
  db: Database;
  /** Stops accepting, lets requests in flight finish (up to the shutdown timeout), closes storage. */
  close(): Promise<void>;
}

/** The composition root: config -> database -> blob store -> services -> HTTP app. */
export async function createBerth(config: Config, options: { logger?: boolean } = {}): Promise<Berth> {
  const db = await openSqlite(config.dataDir);
  const store = new FsBlobStore(config.dataDir);
  await store.init();
  const services = createRegistryServices(db, store, {
    maxBlobBytes: config.maxBlobBytes,
    expiryMs: config.uploadExpiry,
  });
  const app = await buildApp({
    services,
    authorizer: anonymousAuthorizer,
    logger:
      options.logger === false
        ? false
        : { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] },
  });

  // Abandoned uploads are swept at start and then regularly, a few times per expiry period.
  const sweep = () => services.uploads.expire().catch((error: unknown) => app.log.error({ err: error }, 'upload expiry failed'));
  await sweep();
  const sweeper = setInterval(sweep, Math.min(Math.max(config.uploadExpiry / 4, 1000), 3_600_000));
  sweeper.unref();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(sweeper);
      const forced = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeout);
      // A keep-alive connection whose response finishes after close() began becomes idle later:
      // close it then, rather than waiting for the keep-alive timeout.
      const idle = setInterval(() => app.server.closeIdleConnections(), 50);
      forced.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(forced);
        clearInterval(idle);
        await db.destroy();
      }
    })();
    return closing;
  };
  return { app, services, db, close };
}
