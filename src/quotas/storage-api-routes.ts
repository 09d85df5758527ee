import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AccountService } from '../accounts/account-service.js';
import { AccountNotFoundError } from '../accounts/errors.js';
import { ApiSignIn } from '../auth/api-sign-in.js';
import type { Authenticator } from '../auth/authenticator.js';
import { ApiError, apiErrorHandler, readJsonObject } from '../http/api-error.js';
import { sendJson } from '../http/send-json.js';
import { InvalidByteSizeError, parseByteSize } from './byte-size.js';
import type { AccountStorage, StorageQuotas } from './storage-quotas.js';

export interface StorageApiOptions {
  accounts: AccountService;
  authenticator: Authenticator;
  quotas: StorageQuotas;
}

type AccountParams = { account: string };

/**
 * Storage usage and quotas: `GET /api/user/storage` (the signed-in user's own),
 * `GET /api/orgs/{org}/storage` (for the organization's members), and for site administrators
 * `GET /api/admin/accounts/{account}/storage` and `PUT|DELETE /api/admin/accounts/{account}/storage-quota`.
 * An organization a caller is not a member of answers 404, as one that does not exist.
 */
export const storageApiRoutes: FastifyPluginAsync<StorageApiOptions> = async (app, options) => {
  app.setErrorHandler(apiErrorHandler(fromQuotaError));
  const { accounts, quotas } = options;
  const signIn = new ApiSignIn(options.authenticator);

  const report = async (name: string): Promise<AccountStorage> => {
    const storage = await quotas.ofAccount(name);
    if (!storage) throw new ApiError(404, 'Not Found');
    return storage;
  };

  const siteAdmin = async (request: FastifyRequest): Promise<void> => {
    const identity = await signIn.user(request);
    const caller = await accounts.findById(identity.userId);
    if (!caller?.isAdmin) throw new ApiError(403, 'Must be a site administrator.');
  };

  app.get('/api/user/storage', async (request, reply) => {
    const identity = await signIn.user(request, { basic: true });
    const user = await accounts.findById(identity.userId);
    if (!user) throw new ApiError(401, 'bad credentials');
    return sendJson(reply, storageJson(await report(user.name)));
  });

  app.get<{ Params: { org: string } }>('/api/orgs/:org/storage', async (request, reply) => {
    const identity = await signIn.user(request);
    const org = await accounts.find(request.params.org);
    const caller = await accounts.findById(identity.userId);
    const member = org?.kind === 'org' && (caller?.isAdmin || (await accounts.orgRoleOf(org.name, identity.userId)) !== undefined);
    if (!org || !member) throw new ApiError(404, 'Not Found');
    return sendJson(reply, storageJson(await report(org.name)));
  });

  app.get<{ Params: AccountParams }>('/api/admin/accounts/:account/storage', async (request, reply) => {
    await siteAdmin(request);
    return sendJson(reply, storageJson(await report(request.params.account)));
  });

  // `{"quota": "10GiB"}` or `{"quota_bytes": 10737418240}`; null in either removes the limit.
  app.put<{ Params: AccountParams }>('/api/admin/accounts/:account/storage-quota', async (request, reply) => {
    await siteAdmin(request);
    const body = await readJsonObject(request);
    const given = 'quota_bytes' in body ? body['quota_bytes'] : body['quota'];
    let quotaBytes: number | null;
    if (given === null) quotaBytes = null;
    else if (typeof given === 'number' && Number.isSafeInteger(given) && given >= 0) quotaBytes = given;
    else if (typeof given === 'string') quotaBytes = parseByteSize(given);
    else throw new ApiError(422, 'quota_bytes must be a whole number of bytes (or quota a size like "10GiB"), or null');
    await quotas.setQuota(request.params.account, quotaBytes);
    return sendJson(reply, storageJson(await report(request.params.account)));
  });

  app.delete<{ Params: AccountParams }>('/api/admin/accounts/:account/storage-quota', async (request, reply) => {
    await siteAdmin(request);
    await quotas.setQuota(request.params.account, null);
    return reply.code(204).send();
  });
};

export function storageJson(storage: AccountStorage) {
  const prefix = `${storage.namespace}/`;
  return {
    account: { login: storage.account.name, id: storage.account.id, type: storage.account.kind === 'org' ? 'Organization' : 'User' },
    used_bytes: storage.usedBytes,
    used_with_restorable_bytes: storage.usedWithRestorableBytes,
    pending_upload_bytes: storage.pendingBytes,
    quota_used_bytes: storage.chargedBytes,
    quota_bytes: storage.quotaBytes,
    packages: storage.packages.map((pkg) => ({
      name: pkg.name.startsWith(prefix) ? pkg.name.slice(prefix.length) : pkg.name,
      repository: pkg.name,
      used_bytes: pkg.usedBytes,
      used_with_restorable_bytes: pkg.usedWithRestorableBytes,
    })),
  };
}

function fromQuotaError(error: unknown): ApiError | undefined {
  if (error instanceof AccountNotFoundError) return new ApiError(404, 'Not Found');
  if (error instanceof InvalidByteSizeError) return new ApiError(422, error.message);
  return undefined;
}
