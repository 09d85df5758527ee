import type { RepositoryAction } from '../auth/access.js';
import { actionsOfScopes } from '../auth/scopes.js';
import { isSet } from '../db/flags.js';
import type { AccountKind, Database, OrgRole, PackageRole, Visibility } from '../db/schema.js';
import { type PackageFacts, type UserContext, actionsOfRole, maxRole, roleFor } from './roles.js';

/** The signed-in party a decision is about: a user, and the scopes of the credential used. */
export interface Subject {
  userId: number;
  scopes: readonly string[];
}

/** The holder of a repository token: it acts for a source repository, not for a user. */
export interface RepositorySubject {
  repositoryId: number;
  scopes: readonly string[];
}

export type AnySubject = Subject | RepositorySubject;

export function isRepositorySubject(subject: AnySubject | undefined): subject is RepositorySubject {
  return subject !== undefined && 'repositoryId' in subject;
}

export interface AccessDecision {
  /** The requested actions the subject may perform, in the order asked. */
  granted: RepositoryAction[];
  /**
   * Whether the subject may know the package exists: it holds a role on it (token scopes aside),
   * or it may create it. Answers to others must look the same as for a name that does not exist.
   */
  visible: boolean;
  /** Why the first refused action was refused, for DENIED messages. */
  reason?: string;
  /**
   * The scope the credential lacks for the first refused action, when its role would allow it: a
   * credential with more scopes would succeed.
   */
  missingScope?: string;
}

const allActions: ReadonlySet<RepositoryAction> = new Set(['pull', 'push', 'delete']);
const permissionOf: Record<RepositoryAction, string> = { pull: 'read_package', push: 'write_package', delete: 'delete_package' };
const scopeOf: Record<RepositoryAction, string> = { pull: 'read:packages', push: 'write:packages', delete: 'delete:packages' };

/**
 * Who may do what with a package: roles (see roles.ts) mapped to registry actions, intersected
 * with the credential's scopes. A name without a live package may be pushed (which creates the
 * package) by those allowed to create packages in its namespace.
 */
export class PackageAccess {
  constructor(private readonly db: Database) {}

  async decide(subject: AnySubject | undefined, name: string, requested: readonly string[]): Promise<AccessDecision> {
    const permitted = subject ? actionsOfScopes(subject.scopes) : allActions;
    const facts = await this.facts(name);
    let actions: Set<RepositoryAction>;
    let visible: boolean;
    const deleted = facts ? undefined : await this.deletedFacts(name);
    if (facts) {
      const role = await this.roleOf(subject, facts);
      actions = actionsOfRole(role);
      visible = role !== undefined;
    } else if (deleted) {
      // A deleted package keeps its access until it is restored or purged: its blobs are still
      // there. A push to the name starts a new package, which also needs the right to create one.
      const role = await this.roleOf(subject, deleted);
      actions = actionsOfRole(role);
      visible = role !== undefined;
      if (actions.has('push') && !(await this.subjectMayCreate(subject, name))) actions.delete('push');
    } else {
      // The creator of a package becomes its admin, so whoever may create it may do everything.
      visible = await this.subjectMayCreate(subject, name);
      actions = visible ? new Set(allActions) : new Set();
    }
    const granted: RepositoryAction[] = [];
    let reason: string | undefined;
    let missingScope: string | undefined;
    for (const item of requested) {
      if (!allActions.has(item as RepositoryAction)) continue;
      const action = item as RepositoryAction;
      if (actions.has(action) && permitted.has(action)) {
        if (!granted.includes(action)) granted.push(action);
      } else {
        if (reason !== undefined) continue;
        if (actions.has(action)) missingScope = scopeOf[action];
        reason = missingScope ? `permission_denied: the token lacks the ${missingScope} scope` : `permission_denied: ${permissionOf[action]}`;
      }
    }
    return { granted, visible, ...(reason ? { reason } : {}), ...(missingScope ? { missingScope } : {}) };
  }

  /**
   * A predicate for many repositories at once (a `_catalog` page, an owner's packages): may the
   * subject pull it? Only `names` are looked up, so the cost follows the page, not the registry.
   */
  async pullable(subject: AnySubject | undefined, names: readonly string[]): Promise<(name: string) => boolean> {
    if (names.length === 0 || (subject && !actionsOfScopes(subject.scopes).has('pull'))) return () => false;
    const rows = await this.factsQuery().where('packages.name', 'in', names).where('packages.deleted_at', 'is', null).execute();
    const byName = new Map(rows.map((row) => [row.name, toFacts(row)]));
    if (isRepositorySubject(subject)) {
      const listed = await this.repositoryAccess(subject.repositoryId);
      return (name) => {
        const facts = byName.get(name);
        return facts !== undefined && (facts.visibility === 'public' || listed.has(facts.id));
      };
    }
    const context = subject && (await this.userContext(subject.userId, [...byName.values()].map((facts) => facts.id)));
    return (name) => {
      const facts = byName.get(name);
      return facts !== undefined && roleFor(context, facts) !== undefined;
    };
  }

  /** The items a user (or, undefined, an anonymous visitor) may read, with one lookup for all. */
  async readable<T>(userId: number | undefined, items: readonly T[], factsOf: (item: T) => PackageFacts): Promise<T[]> {
    const context = userId === undefined ? undefined : await this.userContext(userId, items.map((item) => factsOf(item).id));
    return items.filter((item) => roleFor(context, factsOf(item)) !== undefined);
  }

  async role(userId: number | undefined, facts: PackageFacts): Promise<PackageRole | undefined> {
    return roleFor(userId === undefined ? undefined : await this.userContext(userId, [facts.id]), facts);
  }

  /**
   * The role of a user, of a repository token (the role its repository has in the package's
   * repository access list), or of an anonymous caller.
   */
  async roleOf(subject: AnySubject | undefined, facts: PackageFacts): Promise<PackageRole | undefined> {
    if (!isRepositorySubject(subject)) return this.role(subject?.userId, facts);
    const listed = (await this.repositoryAccess(subject.repositoryId, facts.id)).get(facts.id);
    return maxRole(listed, facts.visibility === 'public' ? 'read' : undefined);
  }

  private async subjectMayCreate(subject: AnySubject | undefined, name: string): Promise<boolean> {
    if (subject === undefined) return false;
    if (isRepositorySubject(subject)) return this.repositoryMayCreate(subject.repositoryId, namespaceOf(name));
    return (await this.mayCreate(subject.userId, namespaceOf(name))) !== undefined;
  }

  /** A repository token may create packages in the namespace of the repository's owner. */
  private async repositoryMayCreate(repositoryId: number, namespace: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('source_repositories')
      .innerJoin('accounts', 'accounts.id', 'source_repositories.owner_id')
      .select('accounts.name_key')
      .where('source_repositories.id', '=', repositoryId)
      .executeTakeFirst();
    return row?.name_key === namespace;
  }

  private async repositoryAccess(repositoryId: number, packageId?: number): Promise<Map<number, PackageRole>> {
    let query = this.db.selectFrom('package_repository_access').select(['package_id', 'role']).where('repository_id', '=', repositoryId);
    if (packageId !== undefined) query = query.where('package_id', '=', packageId);
    return new Map((await query.execute()).map((row) => [row.package_id, row.role]));
  }

  async facts(name: string): Promise<PackageFacts | undefined> {
    const row = await this.factsQuery().where('packages.name', '=', name).where('packages.deleted_at', 'is', null).executeTakeFirst();
    return row && toFacts(row);
  }

  /** The most recently deleted package of a name, not purged yet. */
  private async deletedFacts(name: string): Promise<PackageFacts | undefined> {
    const row = await this.factsQuery()
      .where('packages.name', '=', name)
      .where('packages.deleted_at', 'is not', null)
      .orderBy('packages.deleted_at', 'desc')
      .executeTakeFirst();
    return row && toFacts(row);
  }

  /**
   * The account that would own a new package in `namespace`, if the user may create one there:
   * their own namespace, or an organization's they are an owner of, or a member of unless the
   * organization keeps package creation to owners.
   */
  async mayCreate(userId: number, namespace: string): Promise<{ ownerId: number; ownerKind: AccountKind } | undefined> {
    const owner = await this.db.selectFrom('accounts').select(['id', 'kind']).where('name_key', '=', namespace).executeTakeFirst();
    if (!owner) return undefined;
    if (owner.kind === 'user') return owner.id === userId ? { ownerId: owner.id, ownerKind: 'user' } : undefined;
    const membership = await this.db
      .selectFrom('org_members')
      .select('role')
      .where('org_id', '=', owner.id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!membership) return undefined;
    if (membership.role === 'owner') return { ownerId: owner.id, ownerKind: 'org' };
    const settings = await this.db.selectFrom('org_package_settings').select('members_can_create').where('org_id', '=', owner.id).executeTakeFirst();
    return settings && !isSet(settings.members_can_create) ? undefined : { ownerId: owner.id, ownerKind: 'org' };
  }

  /**
   * A user's role on one source repository, by the rules of `userContext`: admin as its owner or
   * an owner of its organization, otherwise their best collaborator role, directly or by a team.
   */
  async repositoryRole(userId: number, repositoryId: number): Promise<PackageRole | undefined> {
    const repo = await this.db.selectFrom('source_repositories').select('owner_id').where('id', '=', repositoryId).executeTakeFirst();
    if (!repo) return undefined;
    if (repo.owner_id === userId) return 'admin';
    const membership = await this.db.selectFrom('org_members').select('role').where('org_id', '=', repo.owner_id).where('user_id', '=', userId).executeTakeFirst();
    if (membership?.role === 'owner') return 'admin';
    const teams = this.db.selectFrom('team_members').select('team_id').where('user_id', '=', userId);
    const rows = await this.db
      .selectFrom('source_repository_roles')
      .select('role')
      .where('repository_id', '=', repositoryId)
      .where((eb) =>
        eb.or([
          eb.and([eb('principal_kind', '=', 'user'), eb('principal_id', '=', userId)]),
          eb.and([eb('principal_kind', '=', 'team'), eb('principal_id', 'in', teams)]),
        ]),
      )
      .execute();
    return maxRole(...rows.map((row) => row.role));
  }

  /** What the user holds, for the given packages (or all of them). */
  async userContext(userId: number, packageIds?: number[]): Promise<UserContext> {
    const orgs = await this.db.selectFrom('org_members').select(['org_id', 'role']).where('user_id', '=', userId).execute();
    const orgRoles = new Map<number, OrgRole>(orgs.map((row) => [row.org_id, row.role]));
    const teamIds = (await this.db.selectFrom('team_members').select('team_id').where('user_id', '=', userId).execute()).map((row) => row.team_id);

    let grants = this.db
      .selectFrom('package_roles')
      .select(['package_id', 'principal_kind', 'role'])
      .where((eb) =>
        eb.or([
          eb.and([eb('principal_kind', '=', 'user'), eb('principal_id', '=', userId)]),
          ...(teamIds.length > 0 ? [eb.and([eb('principal_kind', '=', 'team'), eb('principal_id', 'in', teamIds)])] : []),
        ]),
      );
    if (packageIds) grants = grants.where('package_id', 'in', packageIds.length > 0 ? packageIds : [-1]);
    const userGrants = new Map<number, PackageRole>();
    const teamGrants = new Map<number, PackageRole>();
    for (const row of await grants.execute()) {
      const map = row.principal_kind === 'user' ? userGrants : teamGrants;
      map.set(row.package_id, maxRole(map.get(row.package_id), row.role) as PackageRole);
    }

    const repositoryRoles = new Map<number, PackageRole>();
    const ownedOrgs = orgs.filter((row) => row.role === 'owner').map((row) => row.org_id);
    const owned = await this.db.selectFrom('source_repositories').select('id').where('owner_id', 'in', [userId, ...ownedOrgs]).execute();
    for (const row of owned) repositoryRoles.set(row.id, 'admin');
    const collaborations = await this.db
      .selectFrom('source_repository_roles')
      .select(['repository_id', 'role'])
      .where((eb) =>
        eb.or([
          eb.and([eb('principal_kind', '=', 'user'), eb('principal_id', '=', userId)]),
          ...(teamIds.length > 0 ? [eb.and([eb('principal_kind', '=', 'team'), eb('principal_id', 'in', teamIds)])] : []),
        ]),
      )
      .execute();
    for (const row of collaborations) repositoryRoles.set(row.repository_id, maxRole(repositoryRoles.get(row.repository_id), row.role) as PackageRole);
    return { userId, orgRoles, userGrants, teamGrants, repositoryRoles };
  }

  private factsQuery() {
    return this.db
      .selectFrom('packages')
      .innerJoin('accounts', 'accounts.id', 'packages.owner_id')
      .select([
        'packages.id',
        'packages.name',
        'packages.owner_id',
        'accounts.kind',
        'packages.visibility',
        'packages.inherit_access',
        'packages.source_repository_id',
      ]);
  }
}

export function namespaceOf(name: string): string {
  return name.split('/', 1)[0] ?? '';
}

function toFacts(row: {
  id: number;
  owner_id: number;
  kind: AccountKind;
  visibility: Visibility;
  inherit_access: number;
  source_repository_id: number | null;
}): PackageFacts {
  return {
    id: row.id,
    ownerId: row.owner_id,
    ownerKind: row.kind,
    visibility: row.visibility,
    inheritAccess: isSet(row.inherit_access),
    sourceRepositoryId: row.source_repository_id,
  };
}
