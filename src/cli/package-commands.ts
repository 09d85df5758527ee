import { Command, Option } from 'commander';
import type { PackageRole, Visibility } from '../db/schema.js';
import { parsePatterns } from '../packages/immutable-tags.js';
import type { PackageRecord, PackageService, RetentionOutcome } from '../packages/package-service.js';
import { type RetentionPolicy, parseRetentionPolicy, retentionPolicyJson } from '../packages/retention-policy.js';
import { isPackageRole, isVisibility, packageRoles, visibilities } from '../packages/roles.js';
import { withDataDir, withStores } from './data-dir.js';

type Flags = { dataDir?: string };

function role(value: string): PackageRole {
  if (!isPackageRole(value)) throw new Error(`invalid role "${value}": use ${packageRoles.join(', ')}`);
  return value;
}

function visibility(value: string): Visibility {
  if (!isVisibility(value)) throw new Error(`invalid visibility "${value}": use ${visibilities.join(', ')}`);
  return value;
}

function onOff(value: string): boolean {
  if (['on', 'yes', 'true'].includes(value)) return true;
  if (['off', 'no', 'false'].includes(value)) return false;
  throw new Error(`expected on or off, got "${value}"`);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function whole(value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`expected a whole number, got "${value}"`);
  return Number(value);
}

type RetentionFlags = Flags & {
  keepNewest?: number;
  keepTag: string[];
  deleteUntaggedAfter?: number;
  deleteTaggedAfter?: number;
  deleteTag: string[];
  keepAll?: boolean;
  clear?: boolean;
  dryRun?: boolean;
  apply?: boolean;
};

/** The policy the flags give, checked as the API checks one; undefined when they give none. */
function policyOfFlags(flags: RetentionFlags): RetentionPolicy | undefined {
  const given =
    flags.keepNewest !== undefined || flags.keepTag.length > 0 || flags.deleteUntaggedAfter !== undefined || flags.deleteTaggedAfter !== undefined || flags.deleteTag.length > 0;
  if (given && flags.keepAll) throw new Error('--keep-all sets a policy without rules: give no rules with it');
  if (!given) return flags.keepAll ? {} : undefined;
  return parseRetentionPolicy({
    keep_newest: flags.keepNewest,
    keep_tags: flags.keepTag,
    delete_untagged_older_than_days: flags.deleteUntaggedAfter,
    delete_tagged_older_than_days: flags.deleteTaggedAfter,
    delete_tags: flags.deleteTag,
  });
}

function policyLine(label: string, policy: RetentionPolicy | undefined): string {
  if (!policy) return `${label}\tnone`;
  const json = retentionPolicyJson(policy);
  const rules = Object.entries(json)
    .filter(([, value]) => value !== null && !(Array.isArray(value) && value.length === 0))
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`);
  return `${label}\t${rules.length > 0 ? rules.join(' ') : 'keeps everything'}`;
}

function outcomeLines(verb: string, pkg: PackageRecord, outcome: RetentionOutcome): string[] {
  return outcome.versions.map((version) => `${verb}\t${pkg.repository}\t${version.id}\t${version.digest}\t${version.tags.join(',') || '-'}\t${version.reason}`);
}

/** Previews or applies the policy that applies to `pkg`, or `policy` in its place. */
async function runRetention(packages: PackageService, pkg: PackageRecord, flags: RetentionFlags, by: string, policy: RetentionPolicy | undefined): Promise<string[]> {
  const applied = policy && { policy, by };
  if (flags.dryRun) return outcomeLines('would delete', pkg, await packages.previewRetention(pkg, applied));
  if (flags.apply) return outcomeLines('deleted', pkg, await packages.applyRetention(pkg, applied));
  return [];
}

/** `berth package list|show|visibility|grant|revoke|link|unlink|inherit|org-settings|immutable-tags|retention`, for operators. */
export function packageCommand(): Command {
  const pkg = new Command('package').description('manage packages (repositories owned by users and organizations)');
  withDataDir(pkg.command('list <namespace>'))
    .description('list the packages of a user or organization')
    .action(async (namespace: string, flags: Flags) => {
      const list = await withStores(flags, async ({ accounts, packages }) => {
        const owner = await accounts.find(namespace);
        if (!owner) throw new Error(`account "${namespace}" not found`);
        return packages.listByOwner(owner.id);
      });
      for (const p of list) {
        const source = p.source ? `${p.source.owner.login}/${p.source.name}${p.inheritAccess ? ' (inherits access)' : ''}` : '-';
        process.stdout.write(`${p.repository}\t${p.visibility}\tversions=${p.versionCount}\tdownloads=${p.downloadCount}\tsource=${source}\n`);
      }
    });
  withDataDir(pkg.command('visibility <package> <visibility>'))
    .description('set private, internal or public (public cannot be undone)')
    .action(async (name: string, value: string, flags: Flags) => {
      await withStores(flags, async ({ packages }) => packages.setVisibility(await packages.require(name), visibility(value), { byOrgOwner: true }));
    });
  withDataDir(pkg.command('grant <package>'))
    .description('give a user or (organization packages) a team a role')
    .addOption(new Option('--user <name>', 'the user').conflicts('team'))
    .option('--team <name>', 'a team of the owning organization')
    .requiredOption('--role <role>', 'read, write or admin')
    .action(async (name: string, flags: Flags & { user?: string; team?: string; role: string }) => {
      if (!flags.user && !flags.team) throw new Error('name a --user or a --team');
      await withStores(flags, async ({ packages }) =>
        packages.grant(await packages.require(name), flags.team ? 'team' : 'user', (flags.team ?? flags.user) as string, role(flags.role)),
      );
    });
  withDataDir(pkg.command('revoke <package>'))
    .description('take a role away')
    .addOption(new Option('--user <name>', 'the user').conflicts('team'))
    .option('--team <name>', 'a team of the owning organization')
    .action(async (name: string, flags: Flags & { user?: string; team?: string }) => {
      if (!flags.user && !flags.team) throw new Error('name a --user or a --team');
      await withStores(flags, async ({ packages }) => packages.revoke(await packages.require(name), flags.team ? 'team' : 'user', (flags.team ?? flags.user) as string));
    });
  withDataDir(pkg.command('roles <package>'))
    .description('list the roles granted on a package')
    .action(async (name: string, flags: Flags) => {
      const roles = await withStores(flags, async ({ packages }) => packages.roles(await packages.require(name)));
      for (const r of roles) process.stdout.write(`${r.kind}\t${r.name}\t${r.role}\n`);
    });
  withDataDir(pkg.command('link <package> <repository>'))
    .description('link a package to a source repository OWNER/REPO')
    .option('--inherit', 'inherit access from the repository')
    .action(async (name: string, repository: string, flags: Flags & { inherit?: boolean }) => {
      await withStores(flags, async ({ packages, repositories }) =>
        repositories.link((await packages.require(name)).id, await repositories.require(repository), flags.inherit ? { inherit: true } : {}),
      );
    });
  withDataDir(pkg.command('unlink <package>'))
    .description('unlink a package from its source repository')
    .action(async (name: string, flags: Flags) => {
      await withStores(flags, async ({ packages, repositories }) => repositories.unlink((await packages.require(name)).id));
    });
  withDataDir(pkg.command('inherit <package> <on|off>'))
    .description('turn inheriting access from the linked repository on or off')
    .action(async (name: string, value: string, flags: Flags) => {
      await withStores(flags, async ({ packages }) => packages.setInheritAccess(await packages.require(name), onOff(value)));
    });
  withDataDir(pkg.command('org-settings <org>'))
    .description('who may create packages in an organization, and which visibilities members may choose')
    .option('--members-can-create <on|off>', 'whether members (not only owners) may create packages')
    .option('--visibilities <list>', 'comma-separated: private,internal,public')
    .action(async (org: string, flags: Flags & { membersCanCreate?: string; visibilities?: string }) => {
      const settings = await withStores(flags, async ({ accounts, packages }) => {
        const account = await accounts.requireOrg(org);
        const current = await packages.orgSettings(account.id);
        const next = {
          membersCanCreate: flags.membersCanCreate === undefined ? current.membersCanCreate : onOff(flags.membersCanCreate),
          visibilities: flags.visibilities === undefined ? current.visibilities : flags.visibilities.split(',').map((item) => visibility(item.trim())),
        };
        await packages.setOrgSettings(account.id, next);
        return next;
      });
      process.stdout.write(`members-can-create=${settings.membersCanCreate ? 'on' : 'off'}\tvisibilities=${settings.visibilities.join(',')}\n`);
    });
  withDataDir(pkg.command('immutable-tags <target>'))
    .description('list or change the immutable tag patterns of a package (NAMESPACE/NAME), or the default of a user or organization (NAME) for all its packages')
    .option('--add <pattern>', 'add a pattern, a regular expression matched against the whole tag (repeatable)', collect, [])
    .option('--remove <pattern>', 'remove a pattern (repeatable)', collect, [])
    .option('--clear', "remove every pattern of the target (an owner's default stays on its packages)")
    .action(async (target: string, flags: Flags & { add: string[]; remove: string[]; clear?: boolean }) => {
      const lines = await withStores(flags, async ({ accounts, packages }) => {
        const change = flags.clear === true || flags.add.length > 0 || flags.remove.length > 0;
        const next = (current: string[]) => parsePatterns([...(flags.clear ? [] : current), ...flags.add].filter((pattern) => !flags.remove.includes(pattern)));
        if (target.includes('/')) {
          const found = await packages.require(target);
          const current = await packages.immutableTags.ofPackage(found.id, found.owner.id);
          if (change) await packages.immutableTags.setForPackage(found.id, next(current.patterns));
          const after = await packages.immutableTags.ofPackage(found.id, found.owner.id);
          return [...after.patterns.map((pattern) => `package\t${pattern}`), ...after.ownerPatterns.map((pattern) => `${found.owner.login}\t${pattern}`)];
        }
        const owner = await accounts.find(target);
        if (!owner) throw new Error(`account "${target}" not found`);
        if (change) await packages.immutableTags.setForOwner(owner.id, next(await packages.immutableTags.ofOwner(owner.id)));
        return (await packages.immutableTags.ofOwner(owner.id)).map((pattern) => `${owner.name}\t${pattern}`);
      });
      for (const line of lines) process.stdout.write(`${line}\n`);
    });
  withDataDir(pkg.command('retention <target>'))
    .description('show or set the retention policy of a package (NAMESPACE/NAME), or the default of a user or organization (NAME) for its packages; preview or apply it')
    .option('--keep-newest <n>', 'keep the N newest top-level versions', whole)
    .option('--keep-tag <pattern>', 'keep versions with a tag this pattern matches (repeatable)', collect, [])
    .option('--delete-untagged-after <days>', 'delete untagged top-level versions older than this', whole)
    .option('--delete-tagged-after <days>', 'delete top-level versions whose tags all match a --delete-tag pattern, older than this', whole)
    .option('--delete-tag <pattern>', 'a pattern for --delete-tagged-after (repeatable)', collect, [])
    .option('--keep-all', 'set a policy without rules: the package keeps everything, whatever its owner sets')
    .option('--clear', "remove the target's policy (a package takes its owner's default again)")
    .option('--dry-run', 'list what the policy (the one given, unsaved) would delete now')
    .option('--apply', 'save the policy given, if any, and apply it now')
    .action(async (target: string, flags: RetentionFlags) => {
      if (flags.dryRun && (flags.apply || flags.clear)) throw new Error('--dry-run changes nothing: give neither --apply nor --clear with it');
      const policy = policyOfFlags(flags);
      if (policy && flags.clear) throw new Error('--clear removes the policy: give no rules with it');
      const lines = await withStores(flags, async ({ accounts, packages }) => {
        const save = !flags.dryRun;
        if (target.includes('/')) {
          const found = await packages.require(target);
          if (flags.clear) await packages.retention.clearForPackage(found.id);
          if (policy && save) await packages.retention.setForPackage(found.id, policy);
          const run = await runRetention(packages, found, flags, `package:${found.repository}`, flags.dryRun ? policy : undefined);
          const current = await packages.retention.ofPackage(found);
          return [policyLine('package', current.policy), policyLine(found.owner.login, current.ownerPolicy), ...run];
        }
        const owner = await accounts.find(target);
        if (!owner) throw new Error(`account "${target}" not found`);
        if (flags.clear) await packages.retention.clearForOwner(owner.id);
        if (policy && save) await packages.retention.setForOwner(owner.id, policy);
        const run: string[] = [];
        if (flags.dryRun || flags.apply) {
          // Every package that takes the owner's default: those without a policy of their own.
          const tried = flags.dryRun ? policy : undefined;
          for (const each of await packages.listByOwner(owner.id)) {
            if ((await packages.retention.ofPackage(each)).policy) continue;
            run.push(...(await runRetention(packages, each, flags, `${owner.kind}:${owner.name}`, tried ?? (await packages.retention.ofOwner(owner.id)))));
          }
        }
        return [policyLine(owner.name, await packages.retention.ofOwner(owner.id)), ...run];
      });
      for (const line of lines) process.stdout.write(`${line}\n`);
    });
  return pkg;
}

/** `berth repo create|collaborator add|team add|show`: the source repositories packages link to. */
export function repoCommand(): Command {
  const repo = new Command('repo').description('manage source repositories (OWNER/REPO) that packages link to');
  withDataDir(repo.command('create <repository>'))
    .description('register a repository OWNER/REPO')
    .action(async (name: string, flags: Flags) => {
      await withStores(flags, ({ repositories }) => repositories.create(name));
    });
  const collaborator = repo.command('collaborator').description('manage collaborators');
  withDataDir(collaborator.command('add <repository> <user>'))
    .description('give a user a role on the repository')
    .requiredOption('--role <role>', 'read, write or admin')
    .action(async (name: string, user: string, flags: Flags & { role: string }) => {
      await withStores(flags, ({ repositories }) => repositories.setCollaborator(name, 'user', user, role(flags.role)));
    });
  const team = repo.command('team').description('manage teams (organization repositories)');
  withDataDir(team.command('add <repository> <team>'))
    .description('give a team of the owning organization a role on the repository')
    .requiredOption('--role <role>', 'read, write or admin')
    .action(async (name: string, teamName: string, flags: Flags & { role: string }) => {
      await withStores(flags, ({ repositories }) => repositories.setCollaborator(name, 'team', teamName, role(flags.role)));
    });
  withDataDir(repo.command('show <repository>'))
    .description('list the collaborators and teams of a repository')
    .action(async (name: string, flags: Flags) => {
      const list = await withStores(flags, ({ repositories }) => repositories.collaborators(name));
      for (const c of list) process.stdout.write(`${c.kind}\t${c.name}\t${c.role}\n`);
    });
  return repo;
}
