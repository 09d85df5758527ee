import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AccountService } from '../accounts/account-service.js';
import { ApiSignIn } from '../auth/api-sign-in.js';
import type { Authenticator } from '../auth/authenticator.js';
import { actionsOfScopes } from '../auth/scopes.js';
import type { PackageRole, PrincipalKind } from '../db/schema.js';
import { ApiError, apiErrorHandler, readJsonObject } from '../http/api-error.js';
import { pageItems, pageOf, setLink } from '../http/api-pagination.js';
import { sendJson } from '../http/send-json.js';
import { PackageConflictError, PackageForbiddenError, PackageNotFoundError, PackageRuleError } from './errors.js';
import { type PackageImmutableTags, parsePatterns } from './immutable-tags.js';
import { type AnySubject, type PackageAccess, isRepositorySubject } from './package-access.js';
import type { PackageJson } from './package-json.js';
import { type PackageOwner, type PackageRecord, type PackageService, type RetentionOutcome, factsOf } from './package-service.js';
import { type RetentionPolicy, parseRetentionPolicy, retentionPolicyJson } from './retention-policy.js';
import type { SourceRepositoryService } from './source-repositories.js';
import { isPackageRole, isVisibility, roleAtLeast } from './roles.js';

export interface PackageApiOptions {
  accounts: AccountService;
  authenticator: Authenticator;
  packages: PackageService;
  access: PackageAccess;
  repositories: SourceRepositoryService;
  json: PackageJson;
}

/** `settings`: visibility, roles, links and access, which repository tokens may not change. */
type Need = 'read' | 'write' | 'delete' | 'admin-write' | 'settings';
type Params = { owner?: string; name?: string; id?: string };

/**
 * GitHub's package endpoints for `package_type=container`, under `/api` with GitHub's paths, so
 * cleanup scripts written for GitHub work by changing the base URL. Callers authenticate with a
 * personal access token as Bearer; anonymous callers see public packages only. A package the
 * caller may not read answers 404, as one that does not exist.
 */
export const packageApiRoutes: FastifyPluginAsync<PackageApiOptions> = async (app, options) => {
  app.setErrorHandler(apiErrorHandler(fromPackageError, { documentation_url: 'https://docs.github.com/rest/packages/packages' }));

  const signIn = new ApiSignIn(options.authenticator);
  const subjectOf = async (request: FastifyRequest, required: boolean): Promise<AnySubject | undefined> => {
    const rules = { repositoryTokens: true };
    const caller = required ? await signIn.required(request, rules) : await signIn.caller(request, rules);
    if (!caller) return undefined;
    return caller.kind === 'repository' ? { repositoryId: caller.repositoryId, scopes: caller.scopes } : { userId: caller.userId, scopes: caller.scopes };
  };

  /** The account a path names: `/user` (the caller), `/users/{u}` or `/orgs/{org}`. */
  const ownerOf = async (kind: 'self' | 'user' | 'org', params: Params, subject: AnySubject | undefined): Promise<PackageOwner> => {
    if (kind === 'self') {
      if (!subject) throw new ApiError(401, 'Requires authentication');
      if (isRepositorySubject(subject)) throw new ApiError(403, 'a repository token has no user: use /users/{owner} or /orgs/{org}');
      const me = await options.accounts.findById(subject.userId);
      if (!me) throw new ApiError(401, 'Bad credentials');
      return { id: me.id, login: me.name, kind: 'user' };
    }
    const account = await options.accounts.find(params.owner ?? '');
    if (!account || account.kind !== kind) throw new ApiError(404, 'Not Found');
    return { id: account.id, login: account.name, kind: account.kind };
  };

  /** The package the path names, checked against what the caller needs. */
  const packageFor = async (kind: 'self' | 'user' | 'org', request: FastifyRequest, need: Need, options_: { deleted?: boolean } = {}) => {
    const params = request.params as Params;
    const subject = await subjectOf(request, need !== 'read' || kind === 'self');
    const owner = await ownerOf(kind, params, subject);
    const name = (params.name ?? '').toLowerCase();
    const pkg = await options.packages.get(`${owner.login.toLowerCase()}/${name}`, options_);
    if (!pkg) throw new ApiError(404, 'Package not found.');
    await authorize(subject, pkg, need);
    return { pkg, subject };
  };

  const authorize = async (subject: AnySubject | undefined, pkg: PackageRecord, need: Need): Promise<void> => {
    const role = await options.access.roleOf(subject, factsOf(pkg));
    if (!role) throw new ApiError(404, 'Package not found.');
    if (need === 'settings' && isRepositorySubject(subject)) throw new PackageForbiddenError('permission_denied: repository tokens cannot change package settings or access');
    const needed: PackageRole = need === 'read' ? 'read' : need === 'write' ? 'write' : 'admin';
    if (!roleAtLeast(role, needed)) throw new PackageForbiddenError(`permission_denied: ${needed === 'admin' ? 'admin_package' : `${needed}_package`}`);
    if (!subject) return;
    const scopes = new Set(subject.scopes);
    const scope = need === 'read' ? 'read:packages' : need === 'delete' ? 'delete:packages' : 'write:packages';
    const has = need === 'read' ? actionsOfScopes(scopes).has('pull') : scopes.has(scope);
    if (!has) throw new PackageForbiddenError(`permission_denied: the token lacks the ${scope} scope`);
  };

  /**
   * The user or organization a path names, for its default immutable tag patterns: a user reads
   * and changes their own; an organization's members read, its owners change. To anyone else it
   * answers 404, as an organization's settings are not public.
   */
  const ownerSettingsFor = async (kind: 'self' | 'user' | 'org', request: FastifyRequest, change: boolean): Promise<PackageOwner> => {
    const subject = await subjectOf(request, true);
    if (!subject) throw new ApiError(401, 'Requires authentication');
    if (isRepositorySubject(subject)) throw new PackageForbiddenError('permission_denied: repository tokens cannot change package settings or access');
    const owner = await ownerOf(kind, request.params as Params, subject);
    const { userId } = subject;
    if (owner.kind === 'user' ? owner.id !== userId : (await options.accounts.orgRoleOf(owner.login, userId)) === undefined) throw new ApiError(404, 'Not Found');
    if (change && owner.kind === 'org' && !(await options.accounts.isOrgOwner(owner.login, userId))) throw new ApiError(403, 'You must be an owner of this organization.');
    const scopes = new Set(subject.scopes);
    if (change ? !scopes.has('write:packages') : !actionsOfScopes(scopes).has('pull')) {
      throw new PackageForbiddenError(`permission_denied: the token lacks the ${change ? 'write:packages' : 'read:packages'} scope`);
    }
    return owner;
  };

  const bases = [
    { kind: 'self' as const, prefix: '/api/user' },
    { kind: 'user' as const, prefix: '/api/users/:owner' },
    { kind: 'org' as const, prefix: '/api/orgs/:owner' },
  ];
  for (const { kind, prefix } of bases) {
    const pkgPath = `${prefix}/packages/container/:name`;

    app.get(`${prefix}/packages`, async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      if (query['package_type'] === undefined) throw new ApiError(400, 'package_type is required: container');
      if (query['package_type'] !== 'container') throw new ApiError(422, `package_type "${String(query['package_type']).slice(0, 40)}" is not supported: only container`);
      const visibility = query['visibility'];
      if (visibility !== undefined && !isVisibility(visibility)) throw new ApiError(422, 'visibility must be public, private or internal');
      const subject = await subjectOf(request, kind === 'self');
      const owner = await ownerOf(kind, request.params as Params, subject);
      const page = pageOf(query, 30);
      const all = (await options.packages.listByOwner(owner.id)).filter((pkg) => visibility === undefined || pkg.visibility === visibility);
      // Access is looked up for the owner's packages only, not for the whole registry.
      let readable: PackageRecord[];
      if (isRepositorySubject(subject)) {
        const pullable = await options.access.pullable(subject, all.map((pkg) => pkg.repository));
        readable = all.filter((pkg) => pullable(pkg.repository));
      } else {
        readable = await options.access.readable(subject?.userId, all, factsOf);
      }
      setLink(reply, request, page, readable.length);
      return sendJson(reply, pageItems(readable, page).map((pkg) => options.json.package(pkg)));
    });

    // Beyond GitHub's API: immutable tags (src/packages/immutable-tags.ts), the owner's default
    // patterns for all of its packages, and each package's own.
    app.get(`${prefix}/packages/immutable-tags`, async (request, reply) => {
      const owner = await ownerSettingsFor(kind, request, false);
      return sendJson(reply, { patterns: await options.packages.immutableTags.ofOwner(owner.id) });
    });

    app.put(`${prefix}/packages/immutable-tags`, async (request, reply) => {
      const owner = await ownerSettingsFor(kind, request, true);
      const patterns = parsePatterns((await readJsonObject(request))['patterns']);
      await options.packages.immutableTags.setForOwner(owner.id, patterns);
      return sendJson(reply, { patterns });
    });

    app.get(`${pkgPath}/immutable-tags`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      return sendJson(reply, immutableTagsJson(await options.packages.immutableTags.ofPackage(pkg.id, pkg.owner.id)));
    });

    app.put(`${pkgPath}/immutable-tags`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      const patterns = parsePatterns((await readJsonObject(request))['patterns']);
      await options.packages.immutableTags.setForPackage(pkg.id, patterns);
      return sendJson(reply, immutableTagsJson(await options.packages.immutableTags.ofPackage(pkg.id, pkg.owner.id)));
    });

    // Beyond GitHub's API: retention policies (src/packages/retention-policy.ts), the owner's
    // default for its packages and each package's own, which replaces the default.
    app.get(`${prefix}/packages/retention`, async (request, reply) => {
      const owner = await ownerSettingsFor(kind, request, false);
      return sendJson(reply, { policy: policyJson(await options.packages.retention.ofOwner(owner.id)) });
    });

    app.put(`${prefix}/packages/retention`, async (request, reply) => {
      const owner = await ownerSettingsFor(kind, request, true);
      const policy = parseRetentionPolicy(await readJsonObject(request));
      await options.packages.retention.setForOwner(owner.id, policy);
      return sendJson(reply, { policy: policyJson(policy) });
    });

    app.delete(`${prefix}/packages/retention`, async (request, reply) => {
      const owner = await ownerSettingsFor(kind, request, true);
      await options.packages.retention.clearForOwner(owner.id);
      return reply.code(204).send();
    });

    const retentionJson = async (pkg: PackageRecord) => {
      const { policy, ownerPolicy } = await options.packages.retention.ofPackage(pkg);
      return { policy: policyJson(policy), owner_policy: policyJson(ownerPolicy), applies: policy ? 'package' : ownerPolicy ? 'owner' : 'none' };
    };

    app.get(`${pkgPath}/retention`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      return sendJson(reply, await retentionJson(pkg));
    });

    app.put(`${pkgPath}/retention`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      await options.packages.retention.setForPackage(pkg.id, parseRetentionPolicy(await readJsonObject(request)));
      return sendJson(reply, await retentionJson(pkg));
    });

    app.delete(`${pkgPath}/retention`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      await options.packages.retention.clearForPackage(pkg.id);
      return reply.code(204).send();
    });

    app.post(`${pkgPath}/retention/preview`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      // Without a body, the policy that applies; with `{"policy": {...}}`, that one, unsaved.
      const given = (await readJsonObject(request, { optional: true }))['policy'];
      const applied = given === undefined ? undefined : { policy: parseRetentionPolicy(given), by: `package:${pkg.repository}` };
      return sendJson(reply, outcomeJson(pkg, await options.packages.previewRetention(pkg, applied)));
    });

    app.post(`${pkgPath}/retention/apply`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'delete');
      return sendJson(reply, outcomeJson(pkg, await options.packages.applyRetention(pkg)));
    });

    app.get(pkgPath, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'read');
      return sendJson(reply, options.json.package(pkg));
    });

    app.delete(pkgPath, async (request, reply) => {
      const { pkg, subject } = await packageFor(kind, request, 'delete');
      await options.packages.deletePackage(pkg, { actorId: actorOf(subject) });
      return reply.code(204).send();
    });

    app.post(`${pkgPath}/restore`, async (request, reply) => {
      const { pkg, subject } = await packageFor(kind, request, 'admin-write', { deleted: true });
      await options.packages.restorePackage(pkg.repository, { actorId: actorOf(subject) });
      return reply.code(204).send();
    });

    // Beyond GitHub's API: visibility and inheritance of access.
    app.patch(pkgPath, async (request, reply) => {
      const { pkg, subject } = await packageFor(kind, request, 'settings');
      const body = await readJsonObject(request);
      if (body['visibility'] !== undefined) {
        if (!isVisibility(body['visibility'])) throw new ApiError(422, 'visibility must be public, private or internal');
        const byOrgOwner = pkg.owner.kind === 'org' && subject !== undefined && !isRepositorySubject(subject) && (await options.accounts.isOrgOwner(pkg.owner.login, subject.userId));
        await options.packages.setVisibility(pkg, body['visibility'], { byOrgOwner, actorId: actorOf(subject) });
      }
      if (body['inherit_access'] !== undefined) {
        if (typeof body['inherit_access'] !== 'boolean') throw new ApiError(422, 'inherit_access must be true or false');
        await options.packages.setInheritAccess(pkg, body['inherit_access']);
      }
      return sendJson(reply, options.json.package(await options.packages.require(pkg.repository)));
    });

    app.get(`${pkgPath}/roles`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      return sendJson(reply, (await options.packages.roles(pkg)).map((grant) => options.json.role(grant)));
    });

    app.put(`${pkgPath}/roles`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      const body = await readJsonObject(request);
      const { principalKind, principal } = principalOf(body);
      if (!isPackageRole(body['role'])) throw new ApiError(422, 'role must be read, write or admin');
      const grant = await options.packages.grant(pkg, principalKind, principal, body['role']);
      return sendJson(reply, options.json.role(grant));
    });

    app.delete(`${pkgPath}/roles`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      const { principalKind, principal } = principalOf(request.query as Record<string, unknown>);
      await options.packages.revoke(pkg, principalKind, principal);
      return reply.code(204).send();
    });

    // Beyond GitHub's API: the linked source repository and the repository access list.
    app.put(`${pkgPath}/repository`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      const body = await readJsonObject(request);
      if (typeof body['repository'] !== 'string') throw new ApiError(422, 'repository must be OWNER/REPO');
      if (body['inherit_access'] !== undefined && typeof body['inherit_access'] !== 'boolean') throw new ApiError(422, 'inherit_access must be true or false');
      const repo = await options.repositories.require(body['repository']);
      await options.repositories.link(pkg.id, repo, { inherit: body['inherit_access'] as boolean | undefined });
      return sendJson(reply, options.json.package(await options.packages.require(pkg.repository)));
    });

    app.delete(`${pkgPath}/repository`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      await options.repositories.unlink(pkg.id);
      return reply.code(204).send();
    });

    app.get(`${pkgPath}/repository-access`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      const list = await options.repositories.access(pkg.id);
      return sendJson(reply, list.map((item) => ({ repository: `${item.repository.owner}/${item.repository.name}`, role: item.role })));
    });

    app.put(`${pkgPath}/repository-access`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      const body = await readJsonObject(request);
      if (typeof body['repository'] !== 'string') throw new ApiError(422, 'repository must be OWNER/REPO');
      if (!isPackageRole(body['role'])) throw new ApiError(422, 'role must be read, write or admin');
      await options.repositories.setAccess(pkg.id, await options.repositories.require(body['repository']), body['role']);
      return reply.code(204).send();
    });

    app.delete(`${pkgPath}/repository-access`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'settings');
      const repository = (request.query as Record<string, string | undefined>)['repository'] ?? '';
      await options.repositories.removeAccess(pkg.id, await options.repositories.require(repository));
      return reply.code(204).send();
    });

    app.get(`${pkgPath}/versions`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'read');
      const query = request.query as Record<string, string | undefined>;
      const state = query['state'] ?? 'active';
      if (state !== 'active' && state !== 'deleted') throw new ApiError(422, 'state must be active or deleted');
      const page = pageOf(query, 30);
      const { items, total } = await options.packages.versions(pkg, state, page.perPage, (page.page - 1) * page.perPage);
      setLink(reply, request, page, total);
      return sendJson(reply, items.map((version) => options.json.version(pkg, version)));
    });

    app.get(`${pkgPath}/versions/:id`, async (request, reply) => {
      const { pkg } = await packageFor(kind, request, 'read');
      return sendJson(reply, options.json.version(pkg, await options.packages.version(pkg, versionId(request))));
    });

    app.delete(`${pkgPath}/versions/:id`, async (request, reply) => {
      const { pkg, subject } = await packageFor(kind, request, 'delete');
      const force = (request.query as Record<string, string | undefined>)['force'] === 'true';
      await options.packages.deleteVersion(pkg, versionId(request), { force, actorId: actorOf(subject) });
      return reply.code(204).send();
    });

    app.post(`${pkgPath}/versions/:id/restore`, async (request, reply) => {
      const { pkg, subject } = await packageFor(kind, request, 'admin-write');
      await options.packages.restoreVersion(pkg, versionId(request), { actorId: actorOf(subject) });
      return reply.code(204).send();
    });
  }
};

/** The user a change is made by, as events report it; a repository token acts for no user. */
function actorOf(subject: AnySubject | undefined): number | undefined {
  return subject && !isRepositorySubject(subject) ? subject.userId : undefined;
}

function immutableTagsJson(tags: PackageImmutableTags): { patterns: string[]; owner_patterns: string[] } {
  return { patterns: tags.patterns, owner_patterns: tags.ownerPatterns };
}

function policyJson(policy: RetentionPolicy | undefined) {
  return policy ? retentionPolicyJson(policy) : null;
}

/** A preview's or an application's answer: whose policy, and each version it deletes with why. */
function outcomeJson(pkg: PackageRecord, outcome: RetentionOutcome) {
  return {
    policy: outcome.by ?? null,
    versions: outcome.versions.map((version) => ({ id: version.id, name: version.digest, tags: version.tags, reason: version.reason })),
  };
}

function principalOf(body: Record<string, unknown>): { principalKind: PrincipalKind; principal: string } {
  if (typeof body['user'] === 'string' && body['user'] !== '') return { principalKind: 'user', principal: body['user'] };
  if (typeof body['team'] === 'string' && body['team'] !== '') return { principalKind: 'team', principal: body['team'] };
  throw new ApiError(422, 'name a user or a team');
}

function versionId(request: FastifyRequest): number {
  const id = Number((request.params as Params).id);
  if (!Number.isSafeInteger(id) || id <= 0) throw new ApiError(404, 'Package version not found.');
  return id;
}

function fromPackageError(error: unknown): ApiError | undefined {
  if (error instanceof PackageNotFoundError) return new ApiError(404, error.message);
  if (error instanceof PackageConflictError) return new ApiError(409, error.message);
  if (error instanceof PackageRuleError) return new ApiError(422, error.message);
  if (error instanceof PackageForbiddenError) return new ApiError(403, error.message);
  return undefined;
}

