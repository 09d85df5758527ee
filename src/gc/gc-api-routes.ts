import type { FastifyPluginAsync } from 'fastify';
import type { AccountService } from '../accounts/account-service.js';
import type { AuditLog } from '../audit/audit-log.js';
import { ApiSignIn } from '../auth/api-sign-in.js';
import type { Authenticator } from '../auth/authenticator.js';
import { ApiError, apiErrorHandler, readJsonObject } from '../http/api-error.js';
import { sendJson } from '../http/send-json.js';
import type { CollectionRuns } from './collection-runs.js';
import type { CollectionReport } from './garbage-collector.js';

export interface GcApiOptions {
  accounts: AccountService;
  authenticator: Authenticator;
  collections: CollectionRuns;
  audit: AuditLog;
}

/**
 * `POST /api/admin/gc` (`{"dry_run": true}` to only report): a garbage collection now, for site
 * administrators, answering what it removed (or would). A collection removes bytes for good, so a
 * token must carry `delete:packages` for one; a dry run needs no scope beyond signing in.
 * `409` while a collection runs already, on this node or another.
 */
export const gcApiRoutes: FastifyPluginAsync<GcApiOptions> = async (app, options) => {
  app.setErrorHandler(apiErrorHandler());
  const signIn = new ApiSignIn(options.authenticator);

  app.post('/api/admin/gc', async (request, reply) => {
    const identity = await signIn.user(request, { basic: true });
    const user = await options.accounts.findById(identity.userId);
    if (!user?.isAdmin) throw new ApiError(403, 'garbage collection is for site administrators');
    const input: { dry_run?: unknown } = await readJsonObject(request, { optional: true });
    if (input.dry_run !== undefined && typeof input.dry_run !== 'boolean') throw new ApiError(422, 'dry_run must be true or false');
    const dryRun = input.dry_run === true;
    if (!dryRun && !identity.scopes.includes('delete:packages')) throw new ApiError(403, 'a garbage collection needs a token with the delete:packages scope');
    const report = await options.collections.run({ dryRun });
    if (!report) throw new ApiError(409, 'a garbage collection is running already');
    await options.audit.record({ action: 'admin.gc', target: 'garbage collection', details: { dry_run: dryRun, blobs_removed: report.blobsRemoved, bytes_reclaimed: report.bytesReclaimed } });
    return sendJson(reply, reportJson(report));
  });
};

function reportJson(report: CollectionReport): object {
  return {
    dry_run: report.dryRun,
    started_at: report.startedAt,
    duration_ms: report.durationMs,
    links_removed: report.linksRemoved,
    blobs_removed: report.blobsRemoved,
    bytes_reclaimed: report.bytesReclaimed,
    orphans_removed: report.orphansRemoved,
    orphan_bytes_reclaimed: report.orphanBytesReclaimed,
    bytes_stored: report.bytesStored,
  };
}
