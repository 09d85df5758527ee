import { Command } from 'commander';
import { formatByteSize, parseByteSize } from '../quotas/byte-size.js';
import type { AccountStorage } from '../quotas/storage-quotas.js';
import { withDataDir, withStores } from './data-dir.js';

type Flags = { dataDir?: string; database?: string };

/** `berth quota set|clear`: an account's storage quota. */
export function quotaCommand(): Command {
  const quota = new Command('quota').description("set or remove an account's storage quota");
  withDataDir(quota.command('set <account> <size>'))
    .description('limit the bytes an account’s images may hold (e.g. 10GiB, 500MB, or bytes); a push past it is refused')
    .action(async (account: string, size: string, flags: Flags) => {
      const bytes = parseByteSize(size);
      await withStores(flags, ({ quotas }) => quotas.setQuota(account, bytes));
    });
  withDataDir(quota.command('clear <account>'))
    .description("remove an account's storage quota")
    .action(async (account: string, flags: Flags) => {
      await withStores(flags, ({ quotas }) => quotas.setQuota(account, null));
    });
  return quota;
}

/** `berth usage [account]`: one account's storage with its packages, or every account's. */
export function usageCommand(): Command {
  return withDataDir(new Command('usage'))
    .argument('[account]', 'the user or organization; every account when left out')
    .description('storage used by an account and its packages (distinct blobs and manifests, each counted once)')
    .option('--bytes', 'print sizes in bytes')
    .action(async (account: string | undefined, flags: Flags & { bytes?: boolean }) => {
      const size = (bytes: number) => (flags.bytes ? String(bytes) : formatByteSize(bytes));
      await withStores(flags, async ({ quotas, accounts }) => {
        if (account !== undefined) {
          const storage = await quotas.ofAccount(account);
          if (!storage) throw new Error(`account "${account}" not found`);
          process.stdout.write(accountLine(storage, size, true));
          for (const pkg of storage.packages) process.stdout.write(`  ${pkg.name}\tused ${size(pkg.usedBytes)}\twith restorable ${size(pkg.usedWithRestorableBytes)}\n`);
          return;
        }
        for (const kind of ['user', 'org'] as const) {
          for (const { name } of await accounts.list(kind)) {
            const storage = await quotas.ofAccount(name);
            if (storage) process.stdout.write(accountLine(storage, size, false));
          }
        }
      });
    });
}

function accountLine(storage: AccountStorage, size: (bytes: number) => string, detailed: boolean): string {
  const quota = storage.quotaBytes === null ? 'no quota' : `quota ${size(storage.chargedBytes)} of ${size(storage.quotaBytes)}`;
  const pending = detailed ? `\tpending uploads ${size(storage.pendingBytes)}` : '';
  return `${storage.account.name}\tused ${size(storage.usedBytes)}\twith restorable ${size(storage.usedWithRestorableBytes)}${pending}\t${quota}\n`;
}
