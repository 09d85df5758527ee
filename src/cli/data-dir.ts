import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { AccountService } from '../accounts/account-service.js';
import { jobAuditContext, withAuditContext } from '../audit/audit-context.js';
import { PersonalAccessTokenService } from '../auth/personal-access-tokens.js';
import { RepositoryTokenService } from '../auth/repository-tokens.js';
import { openDatabase } from '../db/open-database.js';
import type { Database } from '../db/schema.js';
import { PackageAccess } from '../packages/package-access.js';
import { PackageService } from '../packages/package-service.js';
import { SourceRepositoryService } from '../packages/source-repositories.js';
import { StorageQuotas } from '../quotas/storage-quotas.js';
import { StorageUsage } from '../quotas/storage-usage.js';
import { RegistryMetadata } from '../registry/metadata.js';
import { loadConfig } from '../config.js';
import { PackageJson } from '../packages/package-json.js';
import { ActiveHooks } from '../webhooks/active-hooks.js';
import { AddressGuard } from '../webhooks/address-guard.js';
import { HookOutbox } from '../webhooks/hook-outbox.js';
import { HookPayloads } from '../webhooks/hook-payloads.js';
import { HookService } from '../webhooks/hook-service.js';

export interface Stores {
  db: Database;
  accounts: AccountService;
  tokens: PersonalAccessTokenService;
  packages: PackageService;
  repositories: SourceRepositoryService;
  repositoryTokens: RepositoryTokenService;
  quotas: StorageQuotas;
  hooks: HookService;
}

/** Adds where the database is (`--data-dir`, or `--database` for PostgreSQL) to an administrative command. */
export function withDataDir(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'where the database lives (env BERTH_DATA_DIR; default ./data)')
    .option('--database <url>', 'a postgres:// URL of the metadata database instead (env BERTH_DATABASE_URL)');
}

/**
 * Opens the data dir's database for one administrative command, through the same seam as the
 * server; the embedded engine lets this run while the server is serving from the same data.
 */
export async function withStores<T>(flags: { dataDir?: string; database?: string }, run: (stores: Stores) => Promise<T>): Promise<T> {
  const dir = path.resolve(flags.dataDir ?? process.env['BERTH_DATA_DIR'] ?? './data');
  const engine = await openDatabase(dir, flags.database ?? (process.env['BERTH_DATABASE_URL'] || undefined));
  const { db } = engine;
  try {
    const metadata = new RegistryMetadata(engine);
    const access = new PackageAccess(db);
    // What the server's settings say of webhooks, from the same environment: the URL deliveries
    // name, and the networks hooks may reach. The server sends what the commands queue.
    const settings = webhookSettings(dir);
    const payloads = new HookPayloads(new PackageJson(settings.publicUrl), settings.publicUrl);
    const guard = new AddressGuard(settings.webhookAllowedNetworks);
    const activeHooks = new ActiveHooks(engine.dataVersion);
    // What a command changes is the operator's doing on the server's host: the audit log names
    // the command line and the operating system's user, with no client address.
    return await withAuditContext(jobAuditContext({ kind: 'system', name: `cli:${operatorName()}` }), async () => run({
      db,
      accounts: new AccountService(db, metadata),
      tokens: new PersonalAccessTokenService(db),
      packages: new PackageService(db, metadata, undefined, new HookOutbox(activeHooks)),
      repositories: new SourceRepositoryService(db),
      repositoryTokens: new RepositoryTokenService(db, (userId, repositoryId) => access.repositoryRole(userId, repositoryId)),
      hooks: new HookService(db, guard, payloads, activeHooks),
      // The server's default upload expiry: how long an unreferenced upload counts as pending.
      quotas: new StorageQuotas(db, new StorageUsage(db, 24 * 60 * 60 * 1000)),
    }));
  } finally {
    await engine.close();
  }
}

function operatorName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

function webhookSettings(dataDir: string): { publicUrl: string; webhookAllowedNetworks: string[] } {
  try {
    return loadConfig({ dataDir }, process.env);
  } catch {
    // A command that changes no package needs neither; one that does names the default URL.
    return { publicUrl: 'http://localhost:5000', webhookAllowedNetworks: [] };
  }
}

/** Reads all of stdin (for `--password-stdin`), without the final line break. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
