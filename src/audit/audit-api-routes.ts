import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountService } from '../accounts/account-service.js';
import { ApiSignIn } from '../auth/api-sign-in.js';
import type { Authenticator } from '../auth/authenticator.js';
import { ApiError, apiErrorHandler } from '../http/api-error.js';
import { pageOf, setLink } from '../http/api-pagination.js';
import { sendJson } from '../http/send-json.js';
import { type AuditFilter, type AuditLog, auditJson } from './audit-log.js';
import { AuditPhraseError, parseAuditPhrase } from './audit-phrase.js';

export interface AuditApiOptions {
  accounts: AccountService;
  authenticator: Authenticator;
  audit: AuditLog;
}

/**
 * `GET /api/orgs/{org}/audit-log` (the organization's owners: its entries only) and
 * `GET /api/admin/audit-log` (site administrators: all), as GitHub's: `phrase`, `page`,
 * `per_page`, newest first, with `Link`. `?format=jsonl` or `Accept: application/x-ndjson`
 * exports every matching entry, oldest first, one JSON object a line, streamed.
 */
export const auditApiRoutes: FastifyPluginAsync<AuditApiOptions> = async (app, options) => {
  app.setErrorHandler(apiErrorHandler((error) => (error instanceof AuditPhraseError ? new ApiError(422, error.message) : undefined)));
  const signIn = new ApiSignIn(options.authenticator);

  const answer = async (request: FastifyRequest, reply: FastifyReply, scope: Pick<AuditFilter, 'ownerId'>) => {
    const query = request.query as Record<string, string | undefined>;
    const filter: AuditFilter = { ...parseAuditPhrase(query['phrase'] ?? ''), ...scope };
    if (query['format'] === 'jsonl' || /\bapplication\/x-ndjson\b/.test(String(request.headers.accept ?? ''))) {
      const lines = async function* () {
        for await (const record of options.audit.all(filter)) yield `${JSON.stringify(auditJson(record))}\n`;
      };
      return reply.header('Content-Type', 'application/x-ndjson; charset=utf-8').header('Cache-Control', 'no-store').send(Readable.from(lines()));
    }
    const page = pageOf(query, 30);
    const { items, total } = await options.audit.page(filter, page.perPage, (page.page - 1) * page.perPage);
    setLink(reply, request, page, total);
    return sendJson(reply.header('Cache-Control', 'no-store'), items.map(auditJson));
  };

  app.get<{ Params: { org: string } }>('/api/orgs/:org/audit-log', async (request, reply) => {
    const identity = await signIn.user(request);
    const org = await options.accounts.find(request.params.org);
    // An organization's log is its owners' business: to anyone else it is as if it did not exist.
    if (!org || org.kind !== 'org') throw new ApiError(404, 'Not Found');
    const role = await options.accounts.orgRoleOf(org.name, identity.userId);
    if (role === undefined) throw new ApiError(404, 'Not Found');
    if (role !== 'owner') throw new ApiError(403, 'You must be an owner of this organization.');
    return answer(request, reply, { ownerId: org.id });
  });

  app.get('/api/admin/audit-log', async (request, reply) => {
    const identity = await signIn.user(request);
    const user = await options.accounts.findById(identity.userId);
    if (!user?.isAdmin) throw new ApiError(403, 'the audit log of the whole site is for site administrators');
    return answer(request, reply, {});
  });
};
