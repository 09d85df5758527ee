import type { AuditContext } from '../audit/audit-context.js';
import { recordAudit } from '../audit/audit-log.js';
import { toFlag } from '../db/flags.js';
import type { Database, PackageRole, PrincipalKind } from '../db/schema.js';
import { PackageConflictError, PackageNotFoundError, PackageRuleError } from './errors.js';
import { findRoleHolder, listRoleHolders } from './role-holders.js';

export interface SourceRepository {
  id: number;
  ownerId: number;
  owner: string;
  name: string;
}

export interface Collaborator {
  kind: PrincipalKind;
  name: string;
  role: PackageRole;
}

/** GitHub's repository name rule: letters, digits, `.`, `-`, `_`, at most 100 characters. */
const repositoryName = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Where an image says it was built from (`org.opencontainers.image.source`): `OWNER/REPO` from the
 * URL's path, tolerating a trailing `.git` or `/` (ghcr.io does not), and scp-like Git addresses.
 * Anything else, a malformed percent-escape included, names no repository: the label is read
 * after the manifest is stored, so it must not fail the push.
 */
export function parseSourceUrl(value: string): { owner: string; repo: string } | undefined {
  let path: string;
  const scp = /^[\w.-]+@[\w.-]+:(.+)$/.exec(value.trim());
  if (scp?.[1]) path = scp[1];
  else {
    try {
      path = new URL(value.trim()).pathname;
    } catch {
      return undefined;
    }
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  const parts = decoded.replace(/\/+$/, '').replace(/\.git$/i, '').split('/').filter(Boolean);
  const [owner, repo] = parts;
  if (!owner || !repo || !repositoryName.test(repo)) return undefined;
  return { owner, repo };
}

/** A small registry of source repositories with collaborators and teams, for linking packages. */
export class SourceRepositoryService {
  constructor(private readonly db: Database) {}

  async create(fullName: string): Promise<SourceRepository> {
    const { owner, repo } = splitFullName(fullName);
    const account = await this.db.selectFrom('accounts').select(['id', 'name']).where('name_key', '=', owner.toLowerCase()).executeTakeFirst();
    if (!account) throw new PackageNotFoundError(`account ${owner}`);
    if (await this.find(fullName)) throw new PackageConflictError(`repository ${account.name}/${repo} already exists`);
    const row = await this.db
      .insertInto('source_repositories')
      .values({ owner_id: account.id, name: repo, name_key: repo.toLowerCase(), created_at: new Date().toISOString() })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: row.id, ownerId: account.id, owner: account.name, name: repo };
  }

  async find(fullName: string): Promise<SourceRepository | undefined> {
    const parsed = splitFullName(fullName);
    const row = await this.db
      .selectFrom('source_repositories')
      .innerJoin('accounts', 'accounts.id', 'source_repositories.owner_id')
      .select(['source_repositories.id', 'source_repositories.owner_id', 'accounts.name as owner', 'source_repositories.name'])
      .where('accounts.name_key', '=', parsed.owner.toLowerCase())
      .where('source_repositories.name_key', '=', parsed.repo.toLowerCase())
      .executeTakeFirst();
    return row && { id: row.id, ownerId: row.owner_id, owner: row.owner, name: row.name };
  }

  async require(fullName: string): Promise<SourceRepository> {
    const found = await this.find(fullName);
    if (!found) throw new PackageNotFoundError(`repository ${fullName}`);
    return found;
  }

  async byId(id: number): Promise<SourceRepository | undefined> {
    const row = await this.db
      .selectFrom('source_repositories')
      .innerJoin('accounts', 'accounts.id', 'source_repositories.owner_id')
      .select(['source_repositories.id', 'source_repositories.owner_id', 'accounts.name as owner', 'source_repositories.name'])
      .where('source_repositories.id', '=', id)
      .executeTakeFirst();
    return row && { id: row.id, ownerId: row.owner_id, owner: row.owner, name: row.name };
  }

  /** Gives a user, or a team of the owning organization, a role on the repository. */
  async setCollaborator(fullName: string, kind: PrincipalKind, name: string, role: PackageRole): Promise<void> {
    const repo = await this.require(fullName);
    const holder = await findRoleHolder(this.db, kind, name, { id: repo.ownerId, login: repo.owner });
    await this.db
      .insertInto('source_repository_roles')
      .values({ repository_id: repo.id, principal_kind: kind, principal_id: holder.id, role, created_at: new Date().toISOString() })
      .onConflict((c) => c.columns(['repository_id', 'principal_kind', 'principal_id']).doUpdateSet({ role }))
      .execute();
  }

  async collaborators(fullName: string): Promise<Collaborator[]> {
    const repo = await this.require(fullName);
    const holders = await listRoleHolders(this.db, this.db.selectFrom('source_repository_roles').select(['principal_kind', 'principal_id', 'role']).where('repository_id', '=', repo.id));
    return holders.map(({ kind, name, role }) => ({ kind, name, role }));
  }

  /**
   * Links a package to the repository its pushed image names, when that repository is known and
   * has the package's owner. At the first publish the package inherits the repository's access;
   * a later link keeps the package's access as it is. Either way the repository joins the
   * package's repository access list (its tokens may push, delete and restore), as on ghcr.io.
   */
  async linkFromSource(packageId: number, packageName: string, source: string, created: boolean, audit?: AuditContext): Promise<void> {
    const parsed = parseSourceUrl(source);
    if (!parsed) return;
    const namespace = packageName.split('/', 1)[0] ?? '';
    if (parsed.owner.toLowerCase() !== namespace) return;
    const repo = await this.find(`${parsed.owner}/${parsed.repo}`);
    if (!repo) return;
    const pkg = await this.db.selectFrom('packages').select(['source_repository_id']).where('id', '=', packageId).executeTakeFirst();
    if (!pkg || pkg.source_repository_id !== null) return;
    await this.link(packageId, repo, { inherit: created, audit });
  }

  async linkCreatedBy(packageId: number, repositoryId: number, audit?: AuditContext): Promise<void> {
    const repo = await this.byId(repositoryId);
    if (repo) await this.link(packageId, repo, { inherit: true, audit });
  }

  /** `audit`: the registry request's that links it at a push (see audit-context.ts). */
  async link(packageId: number, repo: SourceRepository, options: { inherit?: boolean; audit?: AuditContext | undefined } = {}): Promise<void> {
    const pkg = await this.db
      .selectFrom('packages')
      .innerJoin('accounts', 'accounts.id', 'packages.owner_id')
      .select(['packages.owner_id', 'accounts.name'])
      .where('packages.id', '=', packageId)
      .executeTakeFirstOrThrow();
    if (pkg.owner_id !== repo.ownerId) throw new PackageRuleError(`a package of ${pkg.name} can only be linked to a repository of ${pkg.name}`);
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('packages')
        .set({ source_repository_id: repo.id, ...(options.inherit === undefined ? {} : { inherit_access: toFlag(options.inherit) }) })
        .where('id', '=', packageId)
        .execute();
      // The repository's tokens may then push, delete and restore the package (ghcr.io's workflow token).
      await insertAccess(trx, packageId, repo, 'admin', true);
      await recordAudit(trx, { action: 'package.link', ...(await packageSubject(trx, packageId)), details: { repository: `${repo.owner}/${repo.name}`, ...(options.inherit !== undefined && { inherit_access: options.inherit }) }, context: options.audit });
    });
  }

  async unlink(packageId: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const before = await trx
        .selectFrom('packages')
        .leftJoin('source_repositories as repo', 'repo.id', 'packages.source_repository_id')
        .leftJoin('accounts', 'accounts.id', 'repo.owner_id')
        .select(['repo.name', 'accounts.name as owner'])
        .where('packages.id', '=', packageId)
        .executeTakeFirst();
      await trx.updateTable('packages').set({ source_repository_id: null, inherit_access: 0 }).where('id', '=', packageId).execute();
      await recordAudit(trx, { action: 'package.unlink', ...(await packageSubject(trx, packageId)), ...(before?.name && { details: { repository: `${before.owner}/${before.name}` } }) });
    });
  }

  /** The package's repository access list: which repositories' tokens may use it, and how. */
  async access(packageId: number): Promise<Array<{ repository: SourceRepository; role: PackageRole }>> {
    const rows = await this.db
      .selectFrom('package_repository_access')
      .select(['repository_id', 'role'])
      .where('package_id', '=', packageId)
      .orderBy('repository_id')
      .execute();
    const result: Array<{ repository: SourceRepository; role: PackageRole }> = [];
    for (const row of rows) {
      const repository = await this.byId(row.repository_id);
      if (repository) result.push({ repository, role: row.role });
    }
    return result;
  }

  /** A repository's role on the package: recorded as a role granted, as to a user or team. */
  async setAccess(packageId: number, repo: SourceRepository, role: PackageRole): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await insertAccess(trx, packageId, repo, role, false);
      await recordAudit(trx, { action: 'package.role_grant', ...(await packageSubject(trx, packageId)), details: { repository: `${repo.owner}/${repo.name}`, role } });
    });
  }

  async removeAccess(packageId: number, repo: SourceRepository): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const removed = await trx.deleteFrom('package_repository_access').where('package_id', '=', packageId).where('repository_id', '=', repo.id).returning('role').executeTakeFirst();
      if (!removed) throw new PackageNotFoundError(`access of ${repo.owner}/${repo.name}`);
      await recordAudit(trx, { action: 'package.role_revoke', ...(await packageSubject(trx, packageId)), details: { repository: `${repo.owner}/${repo.name}`, role: removed.role } });
    });
  }
}

function splitFullName(fullName: string): { owner: string; repo: string } {
  const [owner, repo, extra] = fullName.split('/');
  if (!owner || !repo || extra !== undefined || !repositoryName.test(repo)) throw new PackageRuleError(`invalid repository "${fullName.slice(0, 120)}": use OWNER/REPO`);
  return { owner, repo };
}

async function insertAccess(db: Database, packageId: number, repo: SourceRepository, role: PackageRole, keepExisting: boolean): Promise<void> {
  await db
    .insertInto('package_repository_access')
    .values({ package_id: packageId, repository_id: repo.id, role, created_at: new Date().toISOString() })
    .onConflict((c) => (keepExisting ? c.doNothing() : c.columns(['package_id', 'repository_id']).doUpdateSet({ role })))
    .execute();
}

/** A package's entries belong to its owner. */
async function packageSubject(db: Database, packageId: number): Promise<{ owner: { id: number; name: string }; target: string }> {
  const row = await db
    .selectFrom('packages')
    .innerJoin('accounts', 'accounts.id', 'packages.owner_id')
    .select(['packages.name as repository', 'accounts.id', 'accounts.name'])
    .where('packages.id', '=', packageId)
    .executeTakeFirstOrThrow();
  return { owner: { id: row.id, name: row.name }, target: row.repository };
}
