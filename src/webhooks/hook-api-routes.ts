import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AccountService } from '../accounts/account-service.js';
import { ApiSignIn } from '../auth/api-sign-in.js';
import type { Authenticator, Identity } from '../auth/authenticator.js';
import { actionsOfScopes } from '../auth/scopes.js';
import { ApiError, apiErrorHandler, readJsonObject } from '../http/api-error.js';
import { pageOf, setLink } from '../http/api-pagination.js';
import { sendJson } from '../http/send-json.js';
import type { PackageAccess } from '../packages/package-access.js';
import { type PackageService, factsOf } from '../packages/package-service.js';
import { roleAtLeast } from '../packages/roles.js';
import { HookNotFoundError, HookSettingsError, HookUrlError } from './errors.js';
import { type DeliveryRecord, type HookRecord, type HookScope, HookService } from './hook-service.js';

export interface HookApiOptions {
  accounts: AccountService;
  authenticator: Authenticator;
  hooks: HookService;
  packages: PackageService;
  access: PackageAccess;
  publicUrl: string;
}

type Params = { owner?: string; org?: string; name?: string; id?: string; delivery?: string };

/** Where a route's hooks belong, and the hooks' URL there. */
interface Target {
  scope: HookScope;
  /** `/api/.../hooks`, as the hooks' `url` fields show it. */
  path: string;
  type: 'Organization' | 'User' | 'Package';
  caller: Identity;
}

/**
 * GitHub's webhook endpoints ("Organization webhooks" and their deliveries) for organizations
 * (`/api/orgs/{org}/hooks`), the signed-in user (`/api/user/hooks`) and, beyond GitHub, one
 * package (`/api/{user | users/{owner} | orgs/{org}}/packages/container/{name}/hooks`). Organization
 * hooks are for the organization's owners, user hooks for the user, package hooks for the
 * package's admins. GitHub asks for `admin:org_hook`; Berth's tokens carry package scopes only, so
 * reading takes `read:packages` and changing takes `write:packages`. Repository tokens are refused:
 * hooks are settings.
 */
export const hookApiRoutes: FastifyPluginAsync<HookApiOptions> = async (app, options) => {
  app.setErrorHandler(apiErrorHandler(fromHookError, { documentation_url: 'https://docs.github.com/rest/orgs/webhooks' }));
  const signIn = new ApiSignIn(options.authenticator);
  const { accounts, hooks } = options;

  const requireScope = (caller: Identity, change: boolean) => {
    const scopes = new Set(caller.scopes);
    if (change ? !scopes.has('write:packages') : !actionsOfScopes(scopes).has('pull')) {
      throw new ApiError(403, `permission_denied: the token lacks the ${change ? 'write:packages' : 'read:packages'} scope`);
    }
  };

  const orgTarget = async (request: FastifyRequest, change: boolean): Promise<Target> => {
    const caller = await signIn.user(request);
    const login = (request.params as Params).org ?? '';
    const org = await accounts.find(login);
    // Hooks are for owners; to anyone else the organization's settings do not exist.
    if (!org || org.kind !== 'org' || !(await accounts.isOrgOwner(org.name, caller.userId))) throw new ApiError(404, 'Not Found');
    requireScope(caller, change);
    return { scope: { kind: 'account', accountId: org.id }, path: `/api/orgs/${org.name}/hooks`, type: 'Organization', caller };
  };

  const userTarget = async (request: FastifyRequest, change: boolean): Promise<Target> => {
    const caller = await signIn.user(request);
    requireScope(caller, change);
    return { scope: { kind: 'account', accountId: caller.userId }, path: '/api/user/hooks', type: 'User', caller };
  };

  const packageTarget =
    (kind: 'self' | 'user' | 'org') =>
    async (request: FastifyRequest, change: boolean): Promise<Target> => {
      const caller = await signIn.user(request);
      const params = request.params as Params;
      const owner = kind === 'self' ? await accounts.findById(caller.userId) : await accounts.find(params.owner ?? '');
      if (!owner || (kind !== 'self' && owner.kind !== kind)) throw new ApiError(404, 'Not Found');
      const pkg = await options.packages.get(`${owner.name.toLowerCase()}/${(params.name ?? '').toLowerCase()}`);
      if (!pkg) throw new ApiError(404, 'Package not found.');
      const role = await options.access.roleOf({ userId: caller.userId, scopes: caller.scopes }, factsOf(pkg));
      if (!role) throw new ApiError(404, 'Package not found.');
      if (!roleAtLeast(role, 'admin')) throw new ApiError(403, 'permission_denied: admin_package');
      requireScope(caller, change);
      const path = `/api/${owner.kind === 'org' ? 'orgs' : 'users'}/${owner.name}/packages/container/${encodeURIComponent(pkg.name)}/hooks`;
      return { scope: { kind: 'package', packageId: pkg.id }, path, type: 'Package', caller };
    };

  const hookJson = (target: Target, hook: HookRecord) => {
    const url = `${options.publicUrl}${target.path}/${hook.id}`;
    return {
      type: target.type,
      id: hook.id,
      name: 'web',
      active: hook.active,
      events: hook.events,
      // The secret is write-only: GitHub's mask tells that one is set.
      config: { content_type: 'json', insecure_ssl: hook.insecureSsl ? '1' : '0', url: hook.url, format: hook.format, ...(hook.hasSecret ? { secret: '********' } : {}) },
      updated_at: hook.updatedAt,
      created_at: hook.createdAt,
      url,
      ping_url: `${url}/pings`,
      deliveries_url: `${url}/deliveries`,
    };
  };

  const mount = (path: string, targetOf: (request: FastifyRequest, change: boolean) => Promise<Target>) => {
    app.get(path, async (request, reply) => {
      const target = await targetOf(request, false);
      const page = pageOf(request.query as Record<string, string | undefined>, 30);
      const all = await hooks.list(target.scope);
      setLink(reply, request, page, all.length);
      return sendJson(reply, all.slice((page.page - 1) * page.perPage, page.page * page.perPage).map((hook) => hookJson(target, hook)));
    });

    app.post(path, async (request, reply) => {
      const target = await targetOf(request, true);
      const settings = HookService.parseSettings(await readJsonObject(request), false);
      const hook = await hooks.create(target.scope, settings, { id: target.caller.userId, login: target.caller.userName });
      return sendJson(reply.code(201), hookJson(target, hook));
    });

    app.get(`${path}/:id`, async (request, reply) => {
      const target = await targetOf(request, false);
      return sendJson(reply, hookJson(target, await hooks.get(target.scope, idOf(request, 'id'))));
    });

    app.patch(`${path}/:id`, async (request, reply) => {
      const target = await targetOf(request, true);
      const id = idOf(request, 'id');
      const current = await hooks.get(target.scope, id);
      const settings = HookService.parseSettings(await readJsonObject(request), true, current);
      return sendJson(reply, hookJson(target, await hooks.update(target.scope, id, settings)));
    });

    app.delete(`${path}/:id`, async (request, reply) => {
      const target = await targetOf(request, true);
      await hooks.remove(target.scope, idOf(request, 'id'));
      return reply.code(204).send();
    });

    app.post(`${path}/:id/pings`, async (request, reply) => {
      const target = await targetOf(request, true);
      await hooks.ping(target.scope, idOf(request, 'id'), { id: target.caller.userId, login: target.caller.userName });
      return reply.code(204).send();
    });

    app.get(`${path}/:id/deliveries`, async (request, reply) => {
      const target = await targetOf(request, false);
      const page = pageOf(request.query as Record<string, string | undefined>, 30);
      const { items, total } = await hooks.deliveries(target.scope, idOf(request, 'id'), page.perPage, (page.page - 1) * page.perPage);
      setLink(reply, request, page, total);
      return sendJson(reply, items.map(deliveryJson));
    });

    app.get(`${path}/:id/deliveries/:delivery`, async (request, reply) => {
      const target = await targetOf(request, false);
      const delivery = await hooks.delivery(target.scope, idOf(request, 'id'), idOf(request, 'delivery'));
      return sendJson(reply, fullDeliveryJson(delivery, `${options.publicUrl}${target.path}/${delivery.hookId}`));
    });

    app.post(`${path}/:id/deliveries/:delivery/attempts`, async (request, reply) => {
      const target = await targetOf(request, true);
      const delivery = await hooks.redeliver(target.scope, idOf(request, 'id'), idOf(request, 'delivery'));
      return sendJson(reply.code(202), { id: delivery.id, guid: delivery.guid });
    });
  };

  mount('/api/orgs/:org/hooks', orgTarget);
  mount('/api/user/hooks', userTarget);
  mount('/api/user/packages/container/:name/hooks', packageTarget('self'));
  mount('/api/users/:owner/packages/container/:name/hooks', packageTarget('user'));
  mount('/api/orgs/:owner/packages/container/:name/hooks', packageTarget('org'));
};

/** GitHub's delivery summary, with Berth's `state`, `attempts` and `next_attempt_at`. */
function deliveryJson(delivery: DeliveryRecord) {
  return {
    id: delivery.id,
    guid: delivery.guid,
    delivered_at: delivery.deliveredAt,
    redelivery: delivery.redelivery,
    duration: delivery.durationMs === null ? null : delivery.durationMs / 1000,
    status: delivery.status ?? 'pending',
    status_code: delivery.statusCode ?? 0,
    event: delivery.event,
    action: delivery.action,
    installation_id: null,
    repository_id: null,
    // Berth's extras.
    state: delivery.state,
    attempts: delivery.attempts,
    next_attempt_at: delivery.state === 'pending' ? delivery.nextAttemptAt : null,
    created_at: delivery.createdAt,
  };
}

/** One delivery with its request (headers and body as sent) and the last answer. */
function fullDeliveryJson(delivery: DeliveryRecord, hookUrl: string) {
  return {
    ...deliveryJson(delivery),
    url: hookUrl,
    request: { headers: delivery.requestHeaders, payload: delivery.body === '' ? null : (JSON.parse(delivery.body) as unknown) },
    response: { headers: delivery.responseHeaders ?? {}, payload: delivery.responseBody },
  };
}

function idOf(request: FastifyRequest, name: 'id' | 'delivery'): number {
  const id = Number((request.params as Params)[name]);
  if (!Number.isSafeInteger(id) || id <= 0) throw new ApiError(404, 'Not Found');
  return id;
}

function fromHookError(error: unknown): ApiError | undefined {
  if (error instanceof HookNotFoundError) return new ApiError(404, error.message);
  if (error instanceof HookUrlError || error instanceof HookSettingsError) return new ApiError(422, `Validation Failed: ${error.message}`);
  return undefined;
}
