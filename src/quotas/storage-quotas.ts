import { nameKey } from '../accounts/names.js';
import { AccountNotFoundError } from '../accounts/errors.js';
import { preparedQuery } from '../db/prepared-query.js';
import type { AccountKind, Database } from '../db/schema.js';
import type { Digest } from '../oci/digest.js';
import type { RepositoryName } from '../oci/names.js';
import type { StorageAddition, StorageExcess, StorageGuard } from '../registry/storage-guard.js';
import type { NamespaceStorage, StorageUsage } from './storage-usage.js';

export interface AccountStorage extends NamespaceStorage {
  account: { id: number; name: string; kind: AccountKind };
  /** null: no limit. */
  quotaBytes: number | null;
}

/**
 * Storage quotas of accounts, set by site administrators, and the check a push passes before it
 * stores anything (the registry's `StorageGuard`).
 *
 * The check reads the namespace's usage from the database at each push rather than from a counter
 * kept in memory, so that every node of a shared database sees every other node's pushes. Two
 * pushes into one namespace at the same moment may each pass: a quota can be exceeded by what is
 * in flight at once, never by a push that starts after the namespace is full.
 */
export class StorageQuotas implements StorageGuard {
  /** Asked by every push (most namespaces have no quota), so compiled once. */
  private readonly quotaOf: (namespace: string) => Promise<Array<{ storage_quota_bytes: number | string | null }>>;

  constructor(
    private readonly db: Database,
    readonly usage: StorageUsage,
  ) {
    this.quotaOf = preparedQuery(db, (namespace) => db.selectFrom('accounts').select('storage_quota_bytes').where('name_key', '=', namespace));
  }

  async excess(name: RepositoryName, additions: readonly StorageAddition[]): Promise<StorageExcess | undefined> {
    const namespace = name.slice(0, name.indexOf('/'));
    if (!namespace) return undefined;
    // Most namespaces have no quota: one indexed lookup, and nothing is summed for them.
    const quotaBytes = await this.quotaOfNamespace(namespace);
    if (quotaBytes === null) return undefined;
    const named = additions.flatMap((addition) => (addition.digest === undefined ? [] : [addition.digest]));
    const held = await this.usage.chargedAmong(namespace, named);
    const unsized = named.filter((digest) => !held.has(digest) && additions.some((a) => a.digest === digest && a.size === undefined));
    const sizes = await this.usage.linkedBlobSizes(name, unsized);
    let addedBytes = 0;
    const counted = new Set<Digest>();
    for (const addition of additions) {
      if (addition.digest !== undefined) {
        if (held.has(addition.digest) || counted.has(addition.digest)) continue;
        counted.add(addition.digest);
      }
      addedBytes += addition.size ?? sizes.get(addition.digest!) ?? 0;
    }
    if (addedBytes === 0) return undefined;
    const usedBytes = await this.usage.chargedBytes(namespace);
    return usedBytes + addedBytes > quotaBytes ? { namespace, usedBytes, quotaBytes, addedBytes } : undefined;
  }

  /** Sets (a number of bytes) or removes (null) an account's quota. */
  async setQuota(accountName: string, quotaBytes: number | null): Promise<void> {
    if (quotaBytes !== null && (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0)) throw new RangeError('a quota is a whole number of bytes, 0 or more');
    const result = await this.db
      .updateTable('accounts')
      .set({ storage_quota_bytes: quotaBytes })
      .where('name_key', '=', nameKey(accountName))
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw new AccountNotFoundError('account', accountName);
  }

  /** An account's usage, its packages' and its quota; undefined for no such account. */
  async ofAccount(accountName: string): Promise<AccountStorage | undefined> {
    const row = await this.db
      .selectFrom('accounts')
      .select(['id', 'name', 'name_key', 'kind', 'storage_quota_bytes'])
      .where('name_key', '=', nameKey(accountName))
      .executeTakeFirst();
    if (!row) return undefined;
    const usage = await this.usage.ofNamespace(row.name_key);
    return { ...usage, account: { id: row.id, name: row.name, kind: row.kind }, quotaBytes: toBytes(row.storage_quota_bytes) };
  }

  /** Every account's live usage and quota, for `/metrics`: accounts with neither are left out. */
  async summary(): Promise<Array<{ account: string; usedBytes: number; quotaBytes: number | null }>> {
    const used = await this.usage.usedByNamespace();
    const rows = await this.db.selectFrom('accounts').select(['name', 'name_key', 'storage_quota_bytes']).orderBy('name_key').execute();
    return rows
      .map((row) => ({ account: row.name, usedBytes: used.get(row.name_key) ?? 0, quotaBytes: toBytes(row.storage_quota_bytes) }))
      .filter((entry) => entry.usedBytes > 0 || entry.quotaBytes !== null);
  }

  private async quotaOfNamespace(namespace: string): Promise<number | null> {
    const [row] = await this.quotaOf(namespace);
    return toBytes(row?.storage_quota_bytes ?? null);
  }
}

/** PostgreSQL answers `bigint` as a string. */
function toBytes(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}
