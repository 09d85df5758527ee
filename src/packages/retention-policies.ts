import type { Database } from '../db/schema.js';
import { type ImmutableTags, firstMatch } from './immutable-tags.js';
import { indexListings } from './index-listings.js';
import { type RetentionDeletion, type RetentionPolicy, type RetentionVersion, planRetention } from './retention-policy.js';

/** A policy and whose it is: `package:<name>`, `org:<name>` or `user:<name>`, as deleted versions record it. */
export interface AppliedPolicy {
  policy: RetentionPolicy;
  by: string;
}

/** A package's own policy and its owner's default; the package's, when it has one, is the one that applies. */
export interface PackageRetention {
  policy: RetentionPolicy | undefined;
  ownerPolicy: RetentionPolicy | undefined;
}

/** What `plan` needs of a package. */
export interface RetainedPackage {
  id: number;
  repository: string;
  owner: { id: number; login: string; kind: 'user' | 'org' };
}

type Row = {
  keep_newest: number | null;
  keep_tags: string | null;
  delete_untagged_days: number | null;
  delete_tagged_days: number | null;
  delete_tags: string | null;
};

/**
 * Retention policies of packages and the defaults of their owners, and the plan of what one
 * deletes (`planRetention`) over a package's live versions as the database holds them. Applying a
 * plan is `PackageService.applyRetention`, which owns soft deletion.
 */
export class RetentionPolicies {
  constructor(
    private readonly db: Database,
    private readonly immutableTags: ImmutableTags,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async ofPackage(pkg: RetainedPackage): Promise<PackageRetention> {
    const own = await this.db.selectFrom('package_retention_policies').selectAll().where('package_id', '=', pkg.id).executeTakeFirst();
    return { policy: own && fromRow(own), ownerPolicy: await this.ofOwner(pkg.owner.id) };
  }

  async ofOwner(accountId: number): Promise<RetentionPolicy | undefined> {
    const row = await this.db.selectFrom('account_retention_policies').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    return row && fromRow(row);
  }

  /** The policy that applies to a package: its own, else its owner's default, else none. */
  async applying(pkg: RetainedPackage): Promise<AppliedPolicy | undefined> {
    const { policy, ownerPolicy } = await this.ofPackage(pkg);
    if (policy) return { policy, by: `package:${pkg.repository}` };
    return ownerPolicy && { policy: ownerPolicy, by: `${pkg.owner.kind}:${pkg.owner.login}` };
  }

  /** Sets a package's policy (checked by `parseRetentionPolicy`), which replaces its owner's default. */
  async setForPackage(packageId: number, policy: RetentionPolicy): Promise<void> {
    const values = { ...toRow(policy), updated_at: this.clock().toISOString() };
    await this.db
      .insertInto('package_retention_policies')
      .values({ package_id: packageId, ...values })
      .onConflict((c) => c.column('package_id').doUpdateSet(values))
      .execute();
  }

  async setForOwner(accountId: number, policy: RetentionPolicy): Promise<void> {
    const values = { ...toRow(policy), updated_at: this.clock().toISOString() };
    await this.db
      .insertInto('account_retention_policies')
      .values({ account_id: accountId, ...values })
      .onConflict((c) => c.column('account_id').doUpdateSet(values))
      .execute();
  }

  async clearForPackage(packageId: number): Promise<void> {
    await this.db.deleteFrom('package_retention_policies').where('package_id', '=', packageId).execute();
  }

  async clearForOwner(accountId: number): Promise<void> {
    await this.db.deleteFrom('account_retention_policies').where('account_id', '=', accountId).execute();
  }

  /** The live packages a policy applies to (their own or their owner's), by name. */
  async packagesWithPolicies(): Promise<string[]> {
    // Found from the policies, through the packages' indexes, rather than by testing every package:
    // most have no policy, and the sweep that asks runs beside the server's start.
    const rows = await this.db
      .selectFrom('packages')
      .select('name')
      .where('deleted_at', 'is', null)
      .where('id', 'in', (eb) => eb.selectFrom('package_retention_policies').select('package_id'))
      .union((eb) =>
        eb
          .selectFrom('packages')
          .select('name')
          .where('deleted_at', 'is', null)
          .where('owner_id', 'in', eb.selectFrom('account_retention_policies').select('account_id')),
      )
      .orderBy('name')
      .execute();
    return rows.map((row) => row.name);
  }

  /** What `applied` deletes of the package now, indexes first, each with why. */
  async plan(pkg: RetainedPackage, applied: AppliedPolicy): Promise<RetentionDeletion[]> {
    const versions = await this.db
      .selectFrom('package_versions')
      .select(['id', 'digest', 'created_at', 'updated_at', 'subject_digest'])
      .where('package_id', '=', pkg.id)
      .where('deleted_at', 'is', null)
      .execute();
    const tags = await this.db
      .selectFrom('tags')
      .innerJoin('repositories', 'repositories.id', 'tags.repository_id')
      .select(['tags.name', 'tags.digest', 'tags.updated_at'])
      .where('repositories.name', '=', pkg.repository)
      .orderBy('tags.name')
      .execute();
    const references = await indexListings(this.db, pkg.repository).select(['manifest_references.manifest_digest', 'manifest_references.referenced_digest']).execute();
    const tagsOf = new Map<string, Array<{ name: string; updatedAt: string }>>();
    for (const tag of tags) tagsOf.set(tag.digest, [...(tagsOf.get(tag.digest) ?? []), { name: tag.name, updatedAt: tag.updated_at }]);
    const lists = new Map<string, string[]>();
    for (const ref of references) lists.set(ref.manifest_digest, [...(lists.get(ref.manifest_digest) ?? []), ref.referenced_digest]);
    const retained: RetentionVersion[] = versions.map((row) => {
      const own = tagsOf.get(row.digest) ?? [];
      return {
        id: row.id,
        digest: row.digest,
        createdAt: row.created_at,
        lastActiveAt: own.reduce((latest, tag) => (tag.updatedAt > latest ? tag.updatedAt : latest), row.updated_at),
        subject: row.subject_digest,
        tags: own.map((tag) => tag.name),
      };
    });
    const rules = await this.immutableTags.rulesOf(pkg.repository);
    return planRetention(retained, lists, applied.policy, (tag) => firstMatch(rules, tag) !== undefined, this.clock());
  }
}

function fromRow(row: Row): RetentionPolicy {
  const policy: RetentionPolicy = {};
  if (row.keep_newest !== null) policy.keepNewest = Number(row.keep_newest);
  if (row.keep_tags !== null) policy.keepTags = JSON.parse(row.keep_tags) as string[];
  if (row.delete_untagged_days !== null) policy.deleteUntaggedOlderThanDays = Number(row.delete_untagged_days);
  if (row.delete_tagged_days !== null) policy.deleteTaggedOlderThanDays = Number(row.delete_tagged_days);
  if (row.delete_tags !== null) policy.deleteTags = JSON.parse(row.delete_tags) as string[];
  return policy;
}

function toRow(policy: RetentionPolicy): Row {
  return {
    keep_newest: policy.keepNewest ?? null,
    keep_tags: policy.keepTags && policy.keepTags.length > 0 ? JSON.stringify(policy.keepTags) : null,
    delete_untagged_days: policy.deleteUntaggedOlderThanDays ?? null,
    delete_tagged_days: policy.deleteTaggedOlderThanDays ?? null,
    delete_tags: policy.deleteTags && policy.deleteTags.length > 0 ? JSON.stringify(policy.deleteTags) : null,
  };
}
