import type { RepositoryAction } from '../auth/access.js';
import type { OrgRole, PackageRole, Visibility } from '../db/schema.js';

export const packageRoles = ['read', 'write', 'admin'] as const satisfies readonly PackageRole[];
export const visibilities = ['private', 'internal', 'public'] as const satisfies readonly Visibility[];

const rank: Record<PackageRole, number> = { read: 1, write: 2, admin: 3 };

export function isPackageRole(value: unknown): value is PackageRole {
  return typeof value === 'string' && (packageRoles as readonly string[]).includes(value);
}

export function isVisibility(value: unknown): value is Visibility {
  return typeof value === 'string' && (visibilities as readonly string[]).includes(value);
}

export function maxRole(...roles: Array<PackageRole | undefined>): PackageRole | undefined {
  let best: PackageRole | undefined;
  for (const role of roles) if (role && (!best || rank[role] > rank[best])) best = role;
  return best;
}

export function roleAtLeast(role: PackageRole | undefined, needed: PackageRole): boolean {
  return role !== undefined && rank[role] >= rank[needed];
}

/** Registry actions of a package role: read pulls, write also pushes, admin also deletes. */
export function actionsOfRole(role: PackageRole | undefined): Set<RepositoryAction> {
  if (role === 'admin') return new Set(['pull', 'push', 'delete']);
  if (role === 'write') return new Set(['pull', 'push']);
  if (role === 'read') return new Set(['pull']);
  return new Set();
}

/** The facts about a package that decide who may use it. */
export interface PackageFacts {
  id: number;
  ownerId: number;
  ownerKind: 'user' | 'org';
  visibility: Visibility;
  inheritAccess: boolean;
  sourceRepositoryId: number | null;
}

/** What a signed-in user holds, loaded once per decision (or once per `_catalog` answer). */
export interface UserContext {
  userId: number;
  orgRoles: ReadonlyMap<number, OrgRole>;
  /** Direct grants and the best grant of the user's teams, per package id. */
  userGrants: ReadonlyMap<number, PackageRole>;
  teamGrants: ReadonlyMap<number, PackageRole>;
  /** The user's role on source repositories (owned, as org owner, collaborator or team). */
  repositoryRoles: ReadonlyMap<number, PackageRole>;
}

/**
 * The role a user (or, with no context, an anonymous caller) has on a package. Public packages are
 * readable by anyone; internal organization packages by every member; owners (the user, or the
 * organization's owners) are admins; grants to users and teams count, on private and internal
 * organization packages only for members; with inheritance, the source repository's role counts.
 */
export function roleFor(context: UserContext | undefined, pkg: PackageFacts): PackageRole | undefined {
  let role: PackageRole | undefined = pkg.visibility === 'public' ? 'read' : undefined;
  if (!context) return role;
  if (pkg.ownerKind === 'user' && pkg.ownerId === context.userId) return 'admin';
  let member = false;
  if (pkg.ownerKind === 'org') {
    const orgRole = context.orgRoles.get(pkg.ownerId);
    if (orgRole === 'owner') return 'admin';
    member = orgRole !== undefined;
    if (member && pkg.visibility === 'internal') role = maxRole(role, 'read');
  }
  if (pkg.ownerKind === 'user' || pkg.visibility === 'public' || member) {
    role = maxRole(role, context.userGrants.get(pkg.id), context.teamGrants.get(pkg.id));
  }
  if (pkg.inheritAccess && pkg.sourceRepositoryId !== null) role = maxRole(role, context.repositoryRoles.get(pkg.sourceRepositoryId));
  return role;
}
