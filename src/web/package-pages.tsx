import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountService } from '../accounts/account-service.js';
import type { Visibility } from '../db/schema.js';
import type { Digest } from '../oci/digest.js';
import type { RepositoryName } from '../oci/names.js';
import { PackageConflictError, PackageNotFoundError, PackageRuleError } from '../packages/errors.js';
import type { PackageAccess } from '../packages/package-access.js';
import { packagePagePath } from '../packages/package-json.js';
import { type PackageRecord, type PackageService, factsOf } from '../packages/package-service.js';
import { isPackageRole, isVisibility, roleAtLeast, visibilities } from '../packages/roles.js';
import type { SourceRepositoryService } from '../packages/source-repositories.js';
import type { RegistryMetadata } from '../registry/metadata.js';
import type { PageContext, Viewer } from './layout.js';
import { type PackageListQuery, defaultPackageListQuery, pagePackages, parsePackageListQuery } from './package-list-query.js';
import type { PageKit } from './page-kit.js';
import { OwnerPackagesPage } from './pages/package-list.js';
import { PackageSettingsPage, settingsPath } from './pages/package-settings.js';
import { PackagePage } from './pages/package.js';
import { VersionPage, manifestParts } from './pages/version.js';
import { type VersionFilter, VersionsPage, versionFilters, versionsPath } from './pages/versions.js';

export interface PackagePagesOptions {
  accounts: AccountService;
  repositories: SourceRepositoryService;
  packages: PackageService;
  access: PackageAccess;
  metadata: RegistryMetadata;
}

const perPage = 30;

type OwnerKind = 'users' | 'orgs';
type Params = { owner: string; name: string; id?: string };

/** What an owner's packages can be, in the order the list's filter offers them. */
const ownerVisibilities: Record<OwnerKind, readonly Visibility[]> = { users: ['public', 'private'], orgs: ['public', 'private', 'internal'] };

/**
 * The pages of packages: lists by owner, the package page, its versions and each version, and
 * its settings. A package the viewer may not read is the 404 page, as one that does not exist;
 * what may be changed is decided by the viewer's role from `PackageAccess`, as on the REST API.
 */
export async function packagePages(app: FastifyInstance, kit: PageKit, options: PackagePagesOptions): Promise<void> {
  /** The live package a path names with the viewer's role on it, or undefined (missing or hidden alike). */
  const packageFor = async (kind: OwnerKind, params: Params, viewer: Viewer | undefined) => {
    const owner = await options.accounts.find(params.owner);
    if (!owner || owner.kind !== (kind === 'orgs' ? 'org' : 'user')) return undefined;
    const pkg = await options.packages.get(`${owner.name.toLowerCase()}/${params.name.toLowerCase()}`);
    if (!pkg) return undefined;
    const role = await options.access.role(viewer?.userId, factsOf(pkg));
    return role ? { pkg, admin: roleAtLeast(role, 'admin') } : undefined;
  };

  /** The package for a page only its admins see; else the 404 page has been sent. */
  const adminPackage = async (kind: OwnerKind, request: FastifyRequest, reply: FastifyReply, context: PageContext) => {
    const found = await packageFor(kind, request.params as Params, context.viewer);
    if (found?.admin) return found.pkg;
    await kit.notFound(request, reply);
    return undefined;
  };

  /** The owner's deleted packages the user was an admin of, newest deletion first, one per name. */
  const restorable = async (userId: number, ownerId: number): Promise<PackageRecord[]> => {
    const deleted = await options.packages.listDeletedByOwner(ownerId);
    const latest = deleted.filter((pkg, index) => deleted.findIndex((other) => other.repository === pkg.repository) === index);
    const admin = await Promise.all(latest.map(async (pkg) => roleAtLeast(await options.access.role(userId, factsOf(pkg)), 'admin')));
    return latest.filter((_, index) => admin[index]);
  };

  /**
   * An owner's package list: only the packages the viewer may read, then filtered, sorted and
   * paged, so that neither the count nor the pages reveal any other.
   */
  const ownerPackages = async (
    request: FastifyRequest,
    reply: FastifyReply,
    context: PageContext,
    owner: { id: number; name: string },
    kind: OwnerKind,
    query: PackageListQuery,
    status: number,
    error?: string,
  ) => {
    const readable = await options.access.readable(context.viewer?.userId, await options.packages.listByOwner(owner.id), factsOf);
    const { items, total, lastPage } = pagePackages(readable, query);
    const deleted = context.viewer ? await restorable(context.viewer.userId, owner.id) : [];
    return kit.sendPage(
      request,
      reply,
      status,
      <OwnerPackagesPage
        context={context}
        ownerName={owner.name}
        path={`/${kind}/${owner.name}/packages`}
        packages={items}
        total={total}
        lastPage={lastPage}
        query={query}
        visibilities={ownerVisibilities[kind]}
        deleted={deleted}
        error={error}
      />,
    );
  };

  const versionId = (params: Params): number | undefined => {
    const id = Number(params.id);
    return Number.isSafeInteger(id) && id > 0 ? id : undefined;
  };

  const settingsPage = async (request: FastifyRequest, reply: FastifyReply, context: PageContext, pkg: PackageRecord, status: number, notice?: { kind: 'ok' | 'error'; text: string }) => {
    const allowed: readonly Visibility[] = pkg.owner.kind === 'org' ? visibilities : visibilities.filter((each) => each !== 'internal');
    const repositoryAccess = (await options.repositories.access(pkg.id)).map((item) => ({ repository: `${item.repository.owner}/${item.repository.name}`, role: item.role }));
    const applied = await options.packages.retention.applying(pkg);
    const retention = { by: applied?.by, policy: applied?.policy, preview: applied ? (await options.packages.previewRetention(pkg, applied)).versions : [] };
    return kit.sendPage(
      request,
      reply,
      status,
      <PackageSettingsPage context={context} pkg={pkg} grants={await options.packages.roles(pkg)} allowed={allowed} repositoryAccess={repositoryAccess} retention={retention} notice={notice} />,
    );
  };

  /** A package rule broken by a settings form, answered on the settings page. */
  const ruleBroken = (error: unknown): string | undefined =>
    error instanceof PackageRuleError || error instanceof PackageConflictError || error instanceof PackageNotFoundError ? error.message : undefined;

  // GitHub's profile address with its packages tab (`/{owner}?tab=packages`). Berth has no
  // profile page, so the address shows the owner's packages, whatever the tab. Fixed paths
  // (`/login`, `/admin`, `/v2/`, ...) are routes of their own and win over this one.
  app.get('/:owner', async (request, reply) => {
    const owner = await options.accounts.find((request.params as Params).owner);
    // The app's own 404: a page for a browser, the JSON error for anything else.
    if (!owner) return reply.callNotFound();
    return kit.redirect(reply, `/${owner.kind === 'org' ? 'orgs' : 'users'}/${owner.name}/packages`);
  });

  for (const kind of ['users', 'orgs'] as const) {
    const base = `/${kind}/:owner/packages/container`;

    app.get(`/${kind}/:owner/packages`, async (request, reply) => {
      const context = await kit.contextOf(request, reply);
      const owner = await options.accounts.find((request.params as Params).owner);
      if (!owner || owner.kind !== (kind === 'orgs' ? 'org' : 'user')) return kit.notFound(request, reply);
      return ownerPackages(request, reply, context, owner, kind, parsePackageListQuery(request.query, ownerVisibilities[kind]), 200);
    });

    app.get(`${base}/package/:name`, async (request, reply) => {
      const context = await kit.contextOf(request, reply);
      const found = await packageFor(kind, request.params as Params, context.viewer);
      if (!found) return kit.notFound(request, reply);
      const versions = await options.packages.versions(found.pkg, 'active', 100, 0);
      return kit.sendPage(request, reply, 200, <PackagePage context={context} pkg={found.pkg} versions={versions.items} admin={found.admin} />);
    });

    app.get(`${base}/:name/versions`, async (request, reply) => {
      const context = await kit.contextOf(request, reply);
      const found = await packageFor(kind, request.params as Params, context.viewer);
      if (!found) return kit.notFound(request, reply);
      const query = request.query as Record<string, string | undefined>;
      const filter: VersionFilter = versionFilters.find((each) => each === query['filter']) ?? 'tagged';
      if (filter === 'deleted' && !found.admin) return kit.notFound(request, reply);
      const page = Math.min(Math.max(1, Number.parseInt(query['page'] ?? '1', 10) || 1), 10_000);
      const { items, total } = await options.packages.versions(found.pkg, filter === 'deleted' ? 'deleted' : 'active', perPage, (page - 1) * perPage, filter === 'deleted' ? {} : { tagged: filter === 'tagged' });
      return kit.sendPage(request, reply, 200, <VersionsPage context={context} pkg={found.pkg} filter={filter} versions={items} page={page} hasMore={page * perPage < total} admin={found.admin} />);
    });

    app.get(`${base}/:name/:id`, async (request, reply) => {
      const context = await kit.contextOf(request, reply);
      const params = request.params as Params;
      const found = await packageFor(kind, params, context.viewer);
      const id = versionId(params);
      if (!found || id === undefined) return kit.notFound(request, reply);
      const version = await options.packages.version(found.pkg, id).catch((error: unknown) => {
        if (error instanceof PackageNotFoundError) return undefined;
        throw error;
      });
      if (!version || (version.deletedAt && !found.admin)) return kit.notFound(request, reply);
      const repository = found.pkg.repository as RepositoryName;
      const stored = await options.metadata.manifestByDigest(repository, version.digest as Digest);
      // The registry's own referrers query (by subject, indexed), whatever the package's size.
      const referrers = await options.metadata.referrers(repository, version.digest as Digest, undefined);
      return kit.sendPage(request, reply, 200, <VersionPage context={context} pkg={found.pkg} version={version} parts={stored && manifestParts(stored.content)} referrers={referrers} />);
    });

    for (const action of ['delete', 'restore'] as const) {
      app.post(`${base}/:name/:id/${action}`, async (request, reply) => {
        const form = await kit.formOf(request);
        if (!form) return kit.refuseForm(reply);
        const context = await kit.requireViewer(request, reply);
        if (!context) return reply;
        const pkg = await adminPackage(kind, request, reply, context);
        const id = versionId(request.params as Params);
        if (!pkg) return reply;
        if (id === undefined) return kit.notFound(request, reply);
        try {
          if (action === 'delete') await options.packages.deleteVersion(pkg, id, { actorId: context.viewer.userId });
          else await options.packages.restoreVersion(pkg, id, { actorId: context.viewer.userId });
        } catch (error) {
          const message = ruleBroken(error);
          if (message === undefined) throw error;
          const filter = action === 'delete' ? 'tagged' : 'deleted';
          const { items, total } = await options.packages.versions(pkg, action === 'delete' ? 'active' : 'deleted', perPage, 0, action === 'delete' ? { tagged: true } : {});
          return kit.sendPage(request, reply, 409, <VersionsPage context={context} pkg={pkg} filter={filter} versions={items} page={1} hasMore={perPage < total} admin error={message} />);
        }
        return kit.redirect(reply, `${versionsPath(pkg)}?filter=${action === 'delete' ? 'deleted' : 'tagged'}`);
      });
    }

    app.post(`${base}/:name/restore`, async (request, reply) => {
      const form = await kit.formOf(request);
      if (!form) return kit.refuseForm(reply);
      const context = await kit.requireViewer(request, reply);
      if (!context) return reply;
      const params = request.params as Params;
      const owner = await options.accounts.find(params.owner);
      const pkg = owner && (await restorable(context.viewer.userId, owner.id)).find((each) => each.name === params.name.toLowerCase());
      if (!owner || !pkg) return kit.notFound(request, reply);
      try {
        await options.packages.restorePackage(pkg.repository, { actorId: context.viewer.userId });
      } catch (error) {
        if (!(error instanceof PackageConflictError)) throw error;
        return ownerPackages(request, reply, context, owner, kind, defaultPackageListQuery, 409, error.message);
      }
      return kit.redirect(reply, packagePagePath(pkg));
    });

    app.get(`${base}/:name/settings`, async (request, reply) => {
      const context = await kit.requireViewer(request, reply);
      if (!context) return reply;
      const pkg = await adminPackage(kind, request, reply, context);
      if (!pkg) return reply;
      return settingsPage(request, reply, context, pkg, 200);
    });

    app.post(`${base}/:name/settings/:change`, async (request, reply) => {
      const form = await kit.formOf(request);
      if (!form) return kit.refuseForm(reply);
      const context = await kit.requireViewer(request, reply);
      if (!context) return reply;
      const pkg = await adminPackage(kind, request, reply, context);
      if (!pkg) return reply;
      const change = (request.params as { change: string }).change;
      const confirmed = form.get('confirm') === pkg.name;
      try {
        if (change === 'visibility') {
          const visibility = form.get('visibility');
          if (!isVisibility(visibility)) return settingsPage(request, reply, context, pkg, 422, { kind: 'error', text: 'Choose a visibility.' });
          if (!confirmed) return settingsPage(request, reply, context, pkg, 422, { kind: 'error', text: `Type ${pkg.name} to confirm the change of visibility.` });
          const byOrgOwner = pkg.owner.kind === 'org' && (await options.accounts.isOrgOwner(pkg.owner.login, context.viewer.userId));
          await options.packages.setVisibility(pkg, visibility, { byOrgOwner, actorId: context.viewer.userId });
        } else if (change === 'roles') {
          const kindOf = form.get('kind') === 'team' ? 'team' : 'user';
          const role = form.get('role');
          const principal = (form.get('principal') ?? '').trim();
          if (!isPackageRole(role) || principal === '') return settingsPage(request, reply, context, pkg, 422, { kind: 'error', text: 'Name a user or team and a role.' });
          await options.packages.grant(pkg, kindOf, principal, role);
        } else if (change === 'roles-remove') {
          await options.packages.revoke(pkg, form.get('kind') === 'team' ? 'team' : 'user', form.get('principal') ?? '');
        } else if (change === 'repository') {
          const repository = await options.repositories.require((form.get('repository') ?? '').trim());
          await options.repositories.link(pkg.id, repository, { inherit: form.get('inherit_access') === 'yes' });
        } else if (change === 'repository-unlink') {
          await options.repositories.unlink(pkg.id);
        } else if (change === 'repository-access') {
          const role = form.get('role');
          if (!isPackageRole(role)) return settingsPage(request, reply, context, pkg, 422, { kind: 'error', text: 'Choose a role.' });
          await options.repositories.setAccess(pkg.id, await options.repositories.require((form.get('repository') ?? '').trim()), role);
        } else if (change === 'repository-access-remove') {
          await options.repositories.removeAccess(pkg.id, await options.repositories.require(form.get('repository') ?? ''));
        } else if (change === 'delete') {
          if (!confirmed) return settingsPage(request, reply, context, pkg, 422, { kind: 'error', text: `Type ${pkg.name} to confirm the deletion.` });
          await options.packages.deletePackage(pkg, { actorId: context.viewer.userId });
          return kit.redirect(reply, `/${kind}/${pkg.owner.login}/packages`);
        } else {
          return kit.notFound(request, reply);
        }
      } catch (error) {
        const message = ruleBroken(error);
        if (message === undefined) throw error;
        return settingsPage(request, reply, context, pkg, 409, { kind: 'error', text: message });
      }
      return kit.redirect(reply, settingsPath(pkg));
    });
  }
}

