import { Command, Option } from 'commander';
import { parseAccountName } from '../accounts/names.js';
import { hashPassword, randomPassword } from '../auth/passwords.js';
import { readStdin, withDataDir, withStores } from './data-dir.js';

type Flags = { dataDir?: string };

/** `berth user create|list|delete`. */
export function userCommand(): Command {
  const user = new Command('user').description('manage users');
  withDataDir(user.command('create <name>'))
    .description('create a user; prints a generated password unless --password-stdin')
    .option('--admin', 'make the user a site administrator')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (name: string, flags: Flags & { admin?: boolean; passwordStdin?: boolean }) => {
      const userName = parseAccountName(name, 'user');
      const password = flags.passwordStdin ? await readStdin() : randomPassword();
      if (password.length < 8) throw new Error('the password must have at least 8 characters');
      const passwordHash = await hashPassword(password);
      await withStores(flags, ({ accounts }) => accounts.createUser(userName, { passwordHash, isAdmin: flags.admin ?? false }));
      if (!flags.passwordStdin) process.stdout.write(`${password}\n`);
    });
  withDataDir(user.command('list'))
    .description('list users')
    .action(async (flags: Flags) => {
      const users = await withStores(flags, ({ accounts }) => accounts.list('user'));
      for (const u of users) process.stdout.write(`${u.name}${u.isAdmin ? '\tadmin' : ''}${u.suspendedAt ? '\tsuspended' : ''}\n`);
    });
  withDataDir(user.command('suspend <name>'))
    .description('suspend a user: none of their credentials signs in, and their browser sessions end, until unsuspend')
    .action(async (name: string, flags: Flags) => {
      await withStores(flags, ({ accounts }) => accounts.setSuspended(name, true));
    });
  withDataDir(user.command('admin <name> <on|off>'))
    .description('make a user a site administrator (on) or no longer one (off)')
    .action(async (name: string, state: string, flags: Flags) => {
      if (state !== 'on' && state !== 'off') throw new Error(`expected on or off, got ${state}`);
      await withStores(flags, ({ accounts }) => accounts.setAdmin(name, state === 'on'));
    });
  withDataDir(user.command('unsuspend <name>'))
    .description("lift a user's suspension; their tokens work again")
    .action(async (name: string, flags: Flags) => {
      await withStores(flags, ({ accounts }) => accounts.setSuspended(name, false));
    });
  withDataDir(user.command('delete <name>'))
    .description('delete a user with their tokens, memberships, packages and images (for good: a new user of the name starts empty)')
    .action(async (name: string, flags: Flags) => {
      await withStores(flags, ({ accounts }) => accounts.deleteUser(name));
    });
  return user;
}

/** `berth org create`, `berth org member add|remove|list`. */
export function orgCommand(): Command {
  const org = new Command('org').description('manage organizations');
  withDataDir(org.command('create <name>'))
    .description('create an organization')
    .requiredOption('--owner <user>', 'its first owner')
    .action(async (name: string, flags: Flags & { owner: string }) => {
      const orgName = parseAccountName(name, 'organization');
      await withStores(flags, ({ accounts }) => accounts.createOrg(orgName, flags.owner));
    });
  withDataDir(org.command('delete <name>'))
    .description('delete an organization with its teams, packages and images (for good: a new account of the name starts empty)')
    .action(async (name: string, flags: Flags) => {
      await withStores(flags, ({ accounts }) => accounts.deleteOrg(name));
    });
  const member = org.command('member').description('manage members of an organization');
  withDataDir(member.command('add <org> <user>'))
    .description('add a member, or change their role')
    .addOption(new Option('--role <role>', 'owner or member').choices(['owner', 'member']).default('member'))
    .action(async (orgName: string, userName: string, flags: Flags & { role: 'owner' | 'member' }) => {
      await withStores(flags, ({ accounts }) => accounts.setOrgMember(orgName, userName, flags.role));
    });
  withDataDir(member.command('remove <org> <user>'))
    .description('remove a member (and from the organization’s teams)')
    .action(async (orgName: string, userName: string, flags: Flags) => {
      await withStores(flags, ({ accounts }) => accounts.removeOrgMember(orgName, userName));
    });
  withDataDir(member.command('list <org>'))
    .description('list members and their roles')
    .action(async (orgName: string, flags: Flags) => {
      const members = await withStores(flags, ({ accounts }) => accounts.listOrgMembers(orgName));
      for (const m of members) process.stdout.write(`${m.name}\t${m.role}\n`);
    });
  return org;
}

/** `berth team create ORG TEAM`, `berth team add ORG TEAM USER`. */
export function teamCommand(): Command {
  const team = new Command('team').description('manage teams of an organization');
  withDataDir(team.command('create <org> <team>'))
    .description('create a team')
    .action(async (orgName: string, teamName: string, flags: Flags) => {
      const name = parseAccountName(teamName, 'team');
      await withStores(flags, ({ accounts }) => accounts.createTeam(orgName, name));
    });
  withDataDir(team.command('add <org> <team> <user>'))
    .description('add a member of the organization to a team')
    .action(async (orgName: string, teamName: string, userName: string, flags: Flags) => {
      await withStores(flags, ({ accounts }) => accounts.addTeamMember(orgName, teamName, userName));
    });
  withDataDir(team.command('list <org> <team>'))
    .description('list the members of a team')
    .action(async (orgName: string, teamName: string, flags: Flags) => {
      const members = await withStores(flags, ({ accounts }) => accounts.listTeamMembers(orgName, teamName));
      for (const m of members) process.stdout.write(`${m}\n`);
    });
  return team;
}
