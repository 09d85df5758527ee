import { Command } from 'commander';
import type { Stores } from './data-dir.js';
import { readStdin, withDataDir, withStores } from './data-dir.js';
import type { HookScope } from '../webhooks/hook-service.js';
import { HookService } from '../webhooks/hook-service.js';

type Flags = { dataDir?: string; database?: string };

/** The hooks of a user or organization (NAME) or of a package (NAMESPACE/NAME). */
async function scopeOf(stores: Stores, target: string): Promise<HookScope> {
  if (target.includes('/')) return { kind: 'package', packageId: (await stores.packages.require(target.toLowerCase())).id };
  const account = await stores.accounts.find(target);
  if (!account) throw new Error(`account "${target}" not found`);
  return { kind: 'account', accountId: account.id };
}

function hookId(value: string): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`invalid hook id "${value}"`);
  return id;
}

/** `berth hook list|create|delete|deliveries`: webhooks of accounts and packages, for operators. */
export function hookCommand(): Command {
  const hook = new Command('hook').description('manage webhooks of users, organizations and packages');
  withDataDir(hook.command('list <target>'))
    .description('list the hooks of a user or organization (NAME) or of a package (NAMESPACE/NAME)')
    .action(async (target: string, flags: Flags) => {
      const list = await withStores(flags, async (stores) => stores.hooks.list(await scopeOf(stores, target)));
      for (const h of list) process.stdout.write(`${h.id}\t${h.url}\t${h.events.join(',')}\t${h.format}\t${h.active ? 'active' : 'inactive'}\n`);
    });
  withDataDir(hook.command('create <target>'))
    .description('add a hook to a user or organization (NAME) or a package (NAMESPACE/NAME); prints its id')
    .requiredOption('--url <url>', 'where deliveries are POSTed')
    .option('--secret-stdin', 'read the secret that signs deliveries (X-Hub-Signature-256) from stdin')
    .option('--events <list>', 'comma-separated: package (all), or package.published, package.updated, package.version_deleted, package.version_restored, package.deleted, package.restored, package.visibility_changed', 'package')
    .option('--format <format>', 'github (GitHub\'s package event) or distribution (Distribution\'s notification envelope)', 'github')
    .option('--inactive', 'create it inactive')
    .action(async (target: string, flags: Flags & { url: string; secretStdin?: boolean; events: string; format: string; inactive?: boolean }) => {
      const secret = flags.secretStdin ? await readStdin() : undefined;
      const settings = HookService.parseSettings(
        {
          config: { url: flags.url, format: flags.format, ...(secret !== undefined ? { secret } : {}) },
          events: flags.events.split(',').map((name) => name.trim()).filter(Boolean),
          active: !flags.inactive,
        },
        false,
      );
      const created = await withStores(flags, async (stores) => stores.hooks.create(await scopeOf(stores, target), settings));
      process.stdout.write(`${created.id}\n`);
    });
  withDataDir(hook.command('delete <target> <id>'))
    .description('delete a hook and its deliveries')
    .action(async (target: string, id: string, flags: Flags) => {
      await withStores(flags, async (stores) => stores.hooks.remove(await scopeOf(stores, target), hookId(id)));
    });
  withDataDir(hook.command('deliveries <target> <id>'))
    .description('list the latest deliveries of a hook')
    .action(async (target: string, id: string, flags: Flags) => {
      const { items } = await withStores(flags, async (stores) => stores.hooks.deliveries(await scopeOf(stores, target), hookId(id), 50, 0));
      for (const d of items) {
        process.stdout.write(`${d.id}\t${d.guid}\t${d.event}${d.action ? `.${d.action}` : ''}\t${d.state}\tattempts=${d.attempts}\t${d.status ?? '-'}\n`);
      }
    });
  return hook;
}
