import type { Transaction } from 'kysely';
import { type AuditEntry, recordAudit } from '../audit/audit-log.js';
import { isSet, toFlag } from '../db/flags.js';
import type { AccountKind, Database, OrgRole, Schema } from '../db/schema.js';
import { AccountConflictError, AccountNotFoundError } from './errors.js';
import { type AccountName, nameKey, parseAccountName } from './names.js';

export interface Account {
  id: number;
  name: string;
  kind: AccountKind;
  isAdmin: boolean;
  createdAt: string;
  /** When a site administrator suspended the user; null while they may sign in. */
  suspendedAt: string | null;
}

export interface UserWithPassword extends Account {
  passwordHash: string | null;
}

/** A user as lists of members show them. */
export interface MemberAccount {
  id: number;
  name: string;
  isAdmin: boolean;
}

export interface OrgMember extends MemberAccount {
  role: OrgRole;
}

export interface Team {
  id: number;
  name: string;
}

/** The images stored under an account's name (the registry's metadata), which go with the account. */
export interface NamespaceContents {
  /** Deletes every repository named `namespace/...`, inside the account deletion's transaction. */
  deleteNamespace(trx: Transaction<Schema>, namespace: string): Promise<void>;
  /** Called after the commit, for what was remembered of the deleted repositories. */
  forgetRepositories(deleted: (name: string) => boolean): void;
}

/** Users, organizations, teams and memberships. Names are checked by the callers' edges. */
export class AccountService {
  constructor(
    private readonly db: Database,
    private readonly contents: NamespaceContents,
  ) {}

  async createUser(name: AccountName, options: { passwordHash?: string; isAdmin?: boolean } = {}): Promise<Account> {
    return this.db.transaction().execute(async (trx) => {
      const user = await this.within(trx).create(name, 'user', options.passwordHash ?? null, options.isAdmin ?? false);
      await recordAudit(trx, accountEntry(user, 'admin.user_create', { site_admin: user.isAdmin }));
      return user;
    });
  }

  /** Creates an organization with its first owner. */
  async createOrg(name: AccountName, owner: string): Promise<Account> {
    return this.db.transaction().execute(async (trx) => {
      const service = this.within(trx);
      const user = await service.requireUser(owner);
      const org = await service.create(name, 'org', null, false);
      await trx
        .insertInto('org_members')
        .values({ org_id: org.id, user_id: user.id, role: 'owner', created_at: new Date().toISOString() })
        .execute();
      await recordAudit(trx, accountEntry(org, 'org.create', { owner: user.name }));
      return org;
    });
  }

  async countUsers(): Promise<number> {
    const row = await this.db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'user').executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async find(name: string): Promise<UserWithPassword | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('name_key', '=', nameKey(name)).executeTakeFirst();
    return row && { ...toAccount(row), passwordHash: row.password_hash };
  }

  async findById(id: number): Promise<Account | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAccount(row);
  }

  async requireUser(name: string): Promise<UserWithPassword> {
    const account = await this.find(name);
    if (!account || account.kind !== 'user') throw new AccountNotFoundError('user', name);
    return account;
  }

  async requireOrg(name: string): Promise<Account> {
    const account = await this.find(name);
    if (!account || account.kind !== 'org') throw new AccountNotFoundError('organization', name);
    return account;
  }

  async list(kind: AccountKind): Promise<Account[]> {
    const rows = await this.db.selectFrom('accounts').selectAll().where('kind', '=', kind).orderBy('name_key').execute();
    return rows.map(toAccount);
  }

  /**
   * Suspends a user, or lifts the suspension. While suspended, none of their credentials signs in
   * (password, personal access tokens, the registry tokens issued for those, repository tokens
   * they minted) and their browser sessions end; nothing is deleted, so lifting it restores all.
   */
  async setSuspended(name: string, suspended: boolean): Promise<Account> {
    const { passwordHash: _hash, ...user } = await this.requireUser(name);
    const suspendedAt = suspended ? (user.suspendedAt ?? new Date().toISOString()) : null;
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('accounts').set({ suspended_at: suspendedAt }).where('id', '=', user.id).execute();
      if (suspended) await trx.deleteFrom('sessions').where('user_id', '=', user.id).execute();
      await recordAudit(trx, accountEntry(user, suspended ? 'admin.user_suspend' : 'admin.user_unsuspend'));
    });
    return { ...user, suspendedAt };
  }

  /** Makes a user a site administrator (who has `/admin`), or no longer one. */
  async setAdmin(name: string, isAdmin: boolean): Promise<Account> {
    const { passwordHash: _hash, ...user } = await this.requireUser(name);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('accounts').set({ is_admin: toFlag(isAdmin) }).where('id', '=', user.id).execute();
      await recordAudit(trx, accountEntry(user, isAdmin ? 'admin.user_promote' : 'admin.user_demote'));
    });
    return { ...user, isAdmin };
  }

  async setPassword(name: string, passwordHash: string): Promise<void> {
    const user = await this.requireUser(name);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('accounts').set({ password_hash: passwordHash }).where('id', '=', user.id).execute();
      await recordAudit(trx, accountEntry(user, 'user.password_change'));
    });
  }

  /**
   * Deletes a user with their tokens, memberships, packages and every image in their namespace;
   * refuses to leave an organization without owner.
   */
  async deleteUser(name: string): Promise<void> {
    await this.deleteAccount(async (trx) => {
      const user = await this.within(trx).requireUser(name);
      const ownedAlone = await trx
        .selectFrom('org_members as mine')
        .innerJoin('accounts as org', 'org.id', 'mine.org_id')
        .select('org.name')
        .where('mine.user_id', '=', user.id)
        .where('mine.role', '=', 'owner')
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('org_members as other')
                .select('other.user_id')
                .whereRef('other.org_id', '=', 'mine.org_id')
                .where('other.role', '=', 'owner')
                .where('other.user_id', '!=', user.id),
            ),
          ),
        )
        .execute();
      if (ownedAlone.length > 0) {
        throw new AccountConflictError(`${user.name} is the last owner of ${ownedAlone.map((row) => row.name).join(', ')}`);
      }
      return user;
    });
  }

  /** Deletes an organization with its teams, memberships, packages and every image in its namespace. */
  async deleteOrg(name: string): Promise<void> {
    await this.deleteAccount((trx) => this.within(trx).requireOrg(name));
  }

  /**
   * Deletes the account `find` answers, in one transaction with everything stored under its name:
   * a new account that takes the name later must find none of the old images. Packages (with
   * their versions, roles and repository access), source repositories, tokens, memberships and
   * teams go by cascade; repositories, grants to the account and to its teams are deleted here.
   */
  private async deleteAccount(find: (trx: Transaction<Schema>) => Promise<Account>): Promise<void> {
    const namespace = await this.db.transaction().execute(async (trx) => {
      const account = await find(trx);
      const key = nameKey(account.name);
      await this.contents.deleteNamespace(trx, key);
      const principals =
        account.kind === 'user'
          ? { kind: 'user' as const, ids: [account.id] }
          : { kind: 'team' as const, ids: (await trx.selectFrom('teams').select('id').where('org_id', '=', account.id).execute()).map((row) => row.id) };
      if (principals.ids.length > 0) {
        for (const table of ['package_roles', 'source_repository_roles'] as const) {
          await trx.deleteFrom(table).where('principal_kind', '=', principals.kind).where('principal_id', 'in', principals.ids).execute();
        }
      }
      await trx.deleteFrom('accounts').where('id', '=', account.id).execute();
      await recordAudit(trx, accountEntry(account, account.kind === 'user' ? 'admin.user_delete' : 'admin.org_delete'));
      return key;
    });
    this.contents.forgetRepositories((repository) => repository.startsWith(`${namespace}/`));
  }

  async setOrgMember(org: string, user: string, role: OrgRole): Promise<void> {
    const orgAccount = await this.requireOrg(org);
    const userAccount = await this.requireUser(user);
    await this.db.transaction().execute(async (trx) => {
      if (role === 'member') await ensureAnotherOwner(trx, orgAccount, userAccount);
      const before = await trx.selectFrom('org_members').select('role').where('org_id', '=', orgAccount.id).where('user_id', '=', userAccount.id).executeTakeFirst();
      if (before?.role === role) return;
      await recordAudit(trx, {
        ...accountEntry(orgAccount, before ? 'org.member_role_change' : 'org.member_add', { user: userAccount.name, role, ...(before && { from: before.role }) }),
        target: `${orgAccount.name}: ${userAccount.name}`,
      });
      await trx
        .insertInto('org_members')
        .values({ org_id: orgAccount.id, user_id: userAccount.id, role, created_at: new Date().toISOString() })
        .onConflict((oc) => oc.columns(['org_id', 'user_id']).doUpdateSet({ role }))
        .execute();
    });
  }

  async removeOrgMember(org: string, user: string): Promise<void> {
    const orgAccount = await this.requireOrg(org);
    const userAccount = await this.requireUser(user);
    await this.db.transaction().execute(async (trx) => {
      await ensureAnotherOwner(trx, orgAccount, userAccount);
      const deleted = await trx
        .deleteFrom('org_members')
        .where('org_id', '=', orgAccount.id)
        .where('user_id', '=', userAccount.id)
        .executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) throw new AccountNotFoundError(`member of ${orgAccount.name}`, userAccount.name);
      const teams = trx.selectFrom('teams').select('id').where('org_id', '=', orgAccount.id);
      await trx.deleteFrom('team_members').where('user_id', '=', userAccount.id).where('team_id', 'in', teams).execute();
      await recordAudit(trx, { ...accountEntry(orgAccount, 'org.member_remove', { user: userAccount.name }), target: `${orgAccount.name}: ${userAccount.name}` });
    });
  }

  async isOrgOwner(org: string, userId: number): Promise<boolean> {
    return (await this.orgRoleOf(org, userId)) === 'owner';
  }

  /** The user's role in the organization; undefined when they are not a member or there is no such organization. */
  async orgRoleOf(org: string, userId: number): Promise<OrgRole | undefined> {
    const row = await this.db
      .selectFrom('org_members')
      .innerJoin('accounts as org', 'org.id', 'org_members.org_id')
      .select('org_members.role')
      .where('org.name_key', '=', nameKey(org))
      .where('org.kind', '=', 'org')
      .where('org_members.user_id', '=', userId)
      .executeTakeFirst();
    return row?.role;
  }

  async listOrgMembers(org: string): Promise<OrgMember[]> {
    const orgAccount = await this.requireOrg(org);
    const rows = await this.db
      .selectFrom('org_members')
      .innerJoin('accounts', 'accounts.id', 'org_members.user_id')
      .select(['accounts.id', 'accounts.name', 'accounts.is_admin', 'org_members.role'])
      .where('org_members.org_id', '=', orgAccount.id)
      .orderBy('accounts.name_key')
      .execute();
    return rows.map((row) => ({ id: row.id, name: row.name, isAdmin: isSet(row.is_admin), role: row.role }));
  }

  async createTeam(org: string, team: AccountName): Promise<Team> {
    const orgAccount = await this.requireOrg(org);
    if (await this.teamOf(orgAccount, team)) throw new AccountConflictError(`team ${orgAccount.name}/${team} already exists`);
    return this.db.transaction().execute(async (trx) => {
      const created = await trx
        .insertInto('teams')
        .values({ org_id: orgAccount.id, name: team, name_key: nameKey(team), created_at: new Date().toISOString() })
        .returning(['id', 'name'])
        .executeTakeFirstOrThrow();
      await recordAudit(trx, { ...accountEntry(orgAccount, 'team.create', { team: created.name }), target: `${orgAccount.name}/${created.name}` });
      return created;
    });
  }

  /** The organization's team of that name (compared regardless of case, as GitHub's slugs are). */
  async findTeam(org: string, team: string): Promise<Team | undefined> {
    return this.teamOf(await this.requireOrg(org), team);
  }

  /** The organization's teams by name, without their members. */
  async teamsOf(org: string): Promise<Team[]> {
    const orgAccount = await this.requireOrg(org);
    return this.db.selectFrom('teams').select(['id', 'name']).where('org_id', '=', orgAccount.id).orderBy('name_key').execute();
  }

  /** Adds a member of the organization to one of its teams. */
  async addTeamMember(org: string, team: string, user: string): Promise<void> {
    const orgAccount = await this.requireOrg(org);
    const userAccount = await this.requireUser(user);
    const teamRow = await this.requireTeam(orgAccount, team);
    const member = await this.db
      .selectFrom('org_members')
      .select('role')
      .where('org_id', '=', orgAccount.id)
      .where('user_id', '=', userAccount.id)
      .executeTakeFirst();
    if (!member) throw new AccountConflictError(`${userAccount.name} is not a member of ${orgAccount.name}`);
    await this.db.transaction().execute(async (trx) => {
      const added = await trx
        .insertInto('team_members')
        .values({ team_id: teamRow.id, user_id: userAccount.id, created_at: new Date().toISOString() })
        .onConflict((oc) => oc.doNothing())
        .returning('user_id')
        .executeTakeFirst();
      if (!added) return;
      await recordAudit(trx, { ...accountEntry(orgAccount, 'team.member_add', { team: teamRow.name, user: userAccount.name }), target: `${orgAccount.name}/${teamRow.name}` });
    });
  }

  /** Takes a user off one of the organization's teams; they stay a member of the organization. */
  async removeTeamMember(org: string, team: string, user: string): Promise<void> {
    const orgAccount = await this.requireOrg(org);
    const userAccount = await this.requireUser(user);
    const teamRow = await this.requireTeam(orgAccount, team);
    await this.db.transaction().execute(async (trx) => {
      const deleted = await trx.deleteFrom('team_members').where('team_id', '=', teamRow.id).where('user_id', '=', userAccount.id).executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) throw new AccountNotFoundError(`member of ${orgAccount.name}/${teamRow.name}`, userAccount.name);
      await recordAudit(trx, { ...accountEntry(orgAccount, 'team.member_remove', { team: teamRow.name, user: userAccount.name }), target: `${orgAccount.name}/${teamRow.name}` });
    });
  }

  /** The organization's teams by name, each with its members. */
  async listTeams(org: string): Promise<Array<{ name: string; members: string[] }>> {
    const orgAccount = await this.requireOrg(org);
    const teams = await this.db.selectFrom('teams').select('name').where('org_id', '=', orgAccount.id).orderBy('name_key').execute();
    return Promise.all(teams.map(async (team) => ({ name: team.name, members: await this.listTeamMembers(orgAccount.name, team.name) })));
  }

  async listTeamMembers(org: string, team: string): Promise<string[]> {
    return (await this.teamMembersOf(org, team)).map((member) => member.name);
  }

  /** The members of one of the organization's teams by name; none for a team that does not exist. */
  async teamMembersOf(org: string, team: string): Promise<MemberAccount[]> {
    const orgAccount = await this.requireOrg(org);
    const rows = await this.db
      .selectFrom('team_members')
      .innerJoin('teams', 'teams.id', 'team_members.team_id')
      .innerJoin('accounts', 'accounts.id', 'team_members.user_id')
      .select(['accounts.id', 'accounts.name', 'accounts.is_admin'])
      .where('teams.org_id', '=', orgAccount.id)
      .where('teams.name_key', '=', nameKey(team))
      .orderBy('accounts.name_key')
      .execute();
    return rows.map((row) => ({ id: row.id, name: row.name, isAdmin: isSet(row.is_admin) }));
  }

  /**
   * The repository namespaces (lowercase first path components) a user may use until packages
   * define roles: their own name and the names of the organizations they belong to.
   */
  async namespacesOf(userId: number): Promise<Set<string>> {
    const own = await this.db.selectFrom('accounts').select('name_key').where('id', '=', userId).where('kind', '=', 'user').executeTakeFirst();
    if (!own) return new Set();
    const orgs = await this.db
      .selectFrom('org_members')
      .innerJoin('accounts', 'accounts.id', 'org_members.org_id')
      .select('accounts.name_key')
      .where('org_members.user_id', '=', userId)
      .execute();
    return new Set([own.name_key, ...orgs.map((row) => row.name_key)]);
  }

  private within(trx: Transaction<Schema>): AccountService {
    return new AccountService(trx as unknown as Database, this.contents);
  }

  private async create(name: AccountName, kind: AccountKind, passwordHash: string | null, isAdmin: boolean): Promise<Account> {
    const key = nameKey(parseAccountName(name));
    const taken = await this.db.selectFrom('accounts').select('name').where('name_key', '=', key).executeTakeFirst();
    if (taken) throw new AccountConflictError(`the name "${taken.name}" is already taken`);
    const row = await this.db
      .insertInto('accounts')
      .values({ name, name_key: key, kind, password_hash: passwordHash, is_admin: toFlag(isAdmin), created_at: new Date().toISOString() })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toAccount(row);
  }

  private async teamOf(org: Account, team: string): Promise<Team | undefined> {
    return this.db.selectFrom('teams').select(['id', 'name']).where('org_id', '=', org.id).where('name_key', '=', nameKey(team)).executeTakeFirst();
  }

  private async requireTeam(org: Account, team: string): Promise<Team> {
    const row = await this.teamOf(org, team);
    if (!row) throw new AccountNotFoundError('team', `${org.name}/${team}`);
    return row;
  }

}

/** An audit entry about an account, which belongs to that account. */
function accountEntry(account: { id: number; name: string }, action: AuditEntry['action'], details?: Record<string, unknown>): AuditEntry {
  return { action, owner: { id: account.id, name: account.name }, target: account.name, ...(details && { details }) };
}

/**
 * Refuses, inside the transaction that would do it, to take the organization's last owner away.
 * The write to the organization's row first makes changes to one organization's members take
 * turns (a row lock on PostgreSQL, the write lock on SQLite): two owners demoting each other at
 * once would otherwise each see the other still an owner, and leave none.
 */
async function ensureAnotherOwner(trx: Transaction<Schema>, org: Account, user: Account): Promise<void> {
  await trx.updateTable('accounts').set({ name: org.name }).where('id', '=', org.id).execute();
  const owners = await trx.selectFrom('org_members').select('user_id').where('org_id', '=', org.id).where('role', '=', 'owner').execute();
  if (owners.length === 1 && owners[0]?.user_id === user.id) {
    throw new AccountConflictError(`${user.name} is the last owner of ${org.name}`);
  }
}

function toAccount(row: { id: number; name: string; kind: AccountKind; is_admin: number; created_at: string; suspended_at: string | null }): Account {
  return { id: row.id, name: row.name, kind: row.kind, isAdmin: isSet(row.is_admin), createdAt: row.created_at, suspendedAt: row.suspended_at };
}
