import type { AliasableExpression, NotNull } from 'kysely';
import type { Database, PackageRole, PrincipalKind } from '../db/schema.js';
import { PackageNotFoundError } from './errors.js';

/** A user or team with a role on a package or a source repository. */
export interface RoleGrant {
  kind: PrincipalKind;
  id: number;
  name: string;
  role: PackageRole;
}

/** The rows of one role table (`package_roles`, `source_repository_roles`) for one package or repository. */
export type HeldRoles = AliasableExpression<{ principal_kind: PrincipalKind; principal_id: number; role: PackageRole }>;

/**
 * The user named `name`, or the team of that name in the organization `owner`, to be given a role.
 * Teams are looked up only in `owner`: a team's name is unique within its organization only.
 */
export async function findRoleHolder(db: Database, kind: PrincipalKind, name: string, owner: { id: number; login: string }): Promise<{ id: number; name: string }> {
  if (kind === 'team') {
    const team = await db.selectFrom('teams').select(['id', 'name']).where('org_id', '=', owner.id).where('name_key', '=', name.toLowerCase()).executeTakeFirst();
    if (!team) throw new PackageNotFoundError(`team ${owner.login}/${name}`);
    return team;
  }
  const user = await db.selectFrom('accounts').select(['id', 'name']).where('name_key', '=', name.toLowerCase()).where('kind', '=', 'user').executeTakeFirst();
  if (!user) throw new PackageNotFoundError(`user ${name}`);
  return user;
}

/** Who holds the roles `held`: users by name, then teams by name. */
export async function listRoleHolders(db: Database, held: HeldRoles): Promise<RoleGrant[]> {
  return db
    .selectFrom(held.as('held'))
    .leftJoin('accounts', (join) => join.onRef('accounts.id', '=', 'held.principal_id').on('held.principal_kind', '=', 'user'))
    .leftJoin('teams', (join) => join.onRef('teams.id', '=', 'held.principal_id').on('held.principal_kind', '=', 'team'))
    .select((eb) => ['held.principal_kind as kind', 'held.principal_id as id', eb.fn.coalesce('accounts.name', 'teams.name').as('name'), 'held.role'])
    .where((eb) => eb.fn.coalesce('accounts.name', 'teams.name'), 'is not', null)
    .$narrowType<{ name: NotNull }>()
    // 'user' sorts after 'team': descending puts the users first.
    .orderBy('held.principal_kind', 'desc')
    .orderBy((eb) => eb.fn.coalesce('accounts.name_key', 'teams.name_key'))
    .execute();
}
