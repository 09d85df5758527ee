import { type NotNull, type Selectable, type Transaction, sql } from 'kysely';
import type { AuditContext } from '../audit/audit-context.js';
import { type AuditEntry, recordAudit } from '../audit/audit-log.js';
import { isSet, toFlag } from '../db/flags.js';
import { preparedStatement } from '../db/prepared-query.js';
import type { AccountKind, Database, PackageRole, PackageVersionsTable, PrincipalKind, Schema, Visibility } from '../db/schema.js';
import type { Digest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import type { RepositoryName } from '../oci/names.js';
import { type NewManifest, type RegistryMetadata, newManifest } from '../registry/metadata.js';
import { ListedByTaggedIndexError, PackageConflictError, PackageNotFoundError, PackageRuleError } from './errors.js';
import type { ImageMetadata } from './image-metadata.js';
import { ImmutableTags } from './immutable-tags.js';
import { indexListings } from './index-listings.js';
import { type AppliedPolicy, RetentionPolicies } from './retention-policies.js';
import type { RetentionDeletion } from './retention-policy.js';
import type { PackageAction, PackageChanges } from './package-changes.js';
import { type RoleGrant, findRoleHolder, listRoleHolders } from './role-holders.js';
import { namespaceOf } from './package-access.js';
import { type PackageFacts, visibilities } from './roles.js';

/** Deleted packages and versions can be restored for this long, then they are purged. */
export const restoreWindowMs = 30 * 24 * 60 * 60 * 1000;

export interface PackageOwner {
  id: number;
  login: string;
  kind: AccountKind;
}

export interface LinkedRepository {
  id: number;
  name: string;
  owner: PackageOwner;
}

export interface PackageRecord {
  id: number;
  /** The repository name, `namespace/name`. */
  repository: RepositoryName;
  /** The package name as GitHub shows it: the repository name without the namespace. */
  name: string;
  owner: PackageOwner;
  visibility: Visibility;
  inheritAccess: boolean;
  source: LinkedRepository | undefined;
  metadata: ImageMetadata;
  downloadCount: number;
  versionCount: number;
  /** When the newest live version was pushed, as the package page's "Last published"; null without one. */
  lastPublishedAt: string | null;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

/** What access to a package is decided on (`PackageAccess`, `roleFor`). */
export function factsOf(pkg: PackageRecord): PackageFacts {
  return {
    id: pkg.id,
    ownerId: pkg.owner.id,
    ownerKind: pkg.owner.kind,
    visibility: pkg.visibility,
    inheritAccess: pkg.inheritAccess,
    sourceRepositoryId: pkg.source?.id ?? null,
  };
}

export interface VersionRecord {
  id: number;
  digest: Digest;
  mediaType: string;
  artifactType: string | null;
  subject: string | null;
  size: number;
  platforms: string[];
  downloadCount: number;
  tags: string[];
  /** Indexes of the package that list this manifest (it is one of their platform images or attestations). */
  parents: string[];
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
  /** The retention policy that deleted it (`package:<name>`, `org:<name>`, `user:<name>`), if one did. */
  deletedByPolicy: string | null;
}

/** What a retention policy deletes (or, in a preview, would delete) of a package, and whose policy it is. */
export interface RetentionOutcome {
  /** `package:<name>`, `org:<name>` or `user:<name>`; undefined when no policy applies. */
  by: string | undefined;
  versions: RetentionDeletion[];
}

export type NewVersion = Pick<VersionRecord, 'digest' | 'mediaType' | 'artifactType' | 'subject' | 'size' | 'platforms'>;

export interface OrgPackageSettings {
  membersCanCreate: boolean;
  visibilities: Visibility[];
}

type Clock = () => Date;

/** What a deleted version keeps for its restore. */
interface VersionSnapshot {
  digest: Digest;
  content: Buffer | null;
  tags: string[];
}

/** Packages, their versions, visibility, roles, and soft deletion with restore. */
export class PackageService {
  /** The statements of every manifest push, compiled once (see `preparedStatement`). */
  private readonly pushes: ReturnType<typeof pushStatements>;
  /** The immutable tag patterns of packages and owners, over the same database (or transaction). */
  readonly immutableTags: ImmutableTags;
  /** The retention policies of packages and owners, and their plans; applied by `applyRetention`. */
  readonly retention: RetentionPolicies;

  constructor(
    private readonly db: Database,
    private readonly metadata: RegistryMetadata,
    private readonly clock: Clock = () => new Date(),
    /** Told of every change to a package or its versions, inside the change's transaction. */
    private readonly changes?: PackageChanges,
    pushes?: ReturnType<typeof pushStatements>,
  ) {
    this.pushes = pushes ?? pushStatements(db);
    this.immutableTags = new ImmutableTags(db, clock);
    this.retention = new RetentionPolicies(db, this.immutableTags, clock);
  }

  /** The same service with every query inside `trx`, so a push's package writes commit as one. */
  within(trx: Transaction<Schema>): PackageService {
    return new PackageService(trx, this.metadata, this.clock, this.changes, this.pushes);
  }

  /** The live package of a repository, or (with `deleted`) the most recently deleted one. */
  async get(repository: string, options: { deleted?: boolean } = {}): Promise<PackageRecord | undefined> {
    let query = this.packageQuery().where('packages.name', '=', repository);
    query = options.deleted ? query.where('packages.deleted_at', 'is not', null).orderBy('packages.deleted_at', 'desc') : query.where('packages.deleted_at', 'is', null);
    const row = await query.executeTakeFirst();
    return row && this.toRecord(row);
  }

  /** A package by id, live or deleted. */
  async byId(id: number): Promise<PackageRecord | undefined> {
    const row = await this.packageQuery().where('packages.id', '=', id).executeTakeFirst();
    return row && this.toRecord(row);
  }

  /** The newest version of a package with this digest, live or deleted. */
  async versionByDigest(pkg: PackageRecord, digest: string): Promise<VersionRecord | undefined> {
    // Live and deleted versions asked apart, each through its own partial index. A live one is the
    // newest: a digest gets a new version only while it has no live one, and a deleted version
    // is not restored while its digest has one (`restoreVersion`).
    const byDigest = this.db.selectFrom('package_versions').selectAll().where('package_id', '=', pkg.id).where('digest', '=', digest);
    const row = (await byDigest.where('deleted_at', 'is', null).executeTakeFirst()) ?? (await byDigest.where('deleted_at', 'is not', null).orderBy('id', 'desc').executeTakeFirst());
    return row && (await this.toVersions(pkg, [row]))[0];
  }

  /**
   * Tells `PackageChanges` of a change, in the transaction this service runs in (see `within`),
   * after the change is written there.
   */
  async report(
    action: PackageAction,
    target: { packageId: number; ownerId: number; digest?: string; tag?: string; actorId?: number; from?: Visibility },
  ): Promise<boolean> {
    return (await this.changes?.record(this.db, { action, ...target })) ?? false;
  }

  /** Once a transaction that reported changes has committed. */
  committed(): void {
    this.changes?.committed();
  }

  async require(repository: string, options: { deleted?: boolean } = {}): Promise<PackageRecord> {
    const found = await this.get(repository, options);
    if (!found) throw new PackageNotFoundError(`package ${repository}`);
    return found;
  }

  /** Live packages of an account, by name. */
  async listByOwner(ownerId: number): Promise<PackageRecord[]> {
    const rows = await this.packageQuery().where('packages.owner_id', '=', ownerId).where('packages.deleted_at', 'is', null).orderBy('packages.name').execute();
    return Promise.all(rows.map((row) => this.toRecord(row)));
  }

  /** Deleted packages of an account that can still be restored, the most recently deleted first. */
  async listDeletedByOwner(ownerId: number): Promise<PackageRecord[]> {
    const rows = await this.packageQuery()
      .where('packages.owner_id', '=', ownerId)
      .where('packages.deleted_at', 'is not', null)
      .orderBy('packages.deleted_at', 'desc')
      .execute();
    return Promise.all(rows.map((row) => this.toRecord(row)));
  }

  /** Live public packages, the most recently updated first. */
  async listPublic(limit: number): Promise<PackageRecord[]> {
    const rows = await this.packageQuery()
      .where('packages.visibility', '=', 'public')
      .where('packages.deleted_at', 'is', null)
      .orderBy('packages.updated_at', 'desc')
      .limit(limit)
      .execute();
    return Promise.all(rows.map((row) => this.toRecord(row)));
  }

  /**
   * Creates the package of a repository at its first push, private (or the first visibility its
   * organization allows), with the creator as admin. Answers the live package, whether it is new,
   * and whether it was published (tagged) before.
   */
  async ensure(repository: RepositoryName, creatorId: number | undefined): Promise<{ id: number; ownerId: number; created: boolean; published: boolean } | undefined> {
    const [existing] = (await this.pushes.livePackage(this.db, repository)).rows;
    if (existing) return { id: existing.id, ownerId: existing.owner_id, created: false, published: existing.published_at !== null };
    const owner = await this.db.selectFrom('accounts').select(['id', 'kind']).where('name_key', '=', namespaceOf(repository)).executeTakeFirst();
    if (!owner) return undefined;
    const allowed = owner.kind === 'org' ? (await this.orgSettings(owner.id)).visibilities : ['private' as const];
    const visibility = visibilities.find((item) => allowed.includes(item)) ?? 'private';
    const now = this.now();
    const row = await this.db
      .insertInto('packages')
      .values({ name: repository, owner_id: owner.id, visibility, created_at: now, updated_at: now, deleted_at: null, published_at: null, source_repository_id: null, metadata: null })
      .onConflict((c) => c.doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!row) {
      // A concurrent first push created it.
      const raced = await this.db.selectFrom('packages').select(['id', 'published_at']).where('name', '=', repository).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
      return { id: raced.id, ownerId: owner.id, created: false, published: raced.published_at !== null };
    }
    if (creatorId !== undefined && !(owner.kind === 'user' && owner.id === creatorId)) {
      await this.db.insertInto('package_roles').values({ package_id: row.id, principal_kind: 'user', principal_id: creatorId, role: 'admin', created_at: now }).execute();
    }
    return { id: row.id, ownerId: owner.id, created: true, published: false };
  }

  /**
   * Records a pushed manifest as a version; a known one (a new tag on it) is only touched.
   * Answers whether the version is new.
   */
  async recordVersion(packageId: number, version: NewVersion): Promise<boolean> {
    const now = this.now();
    const platforms = version.platforms.length > 0 ? JSON.stringify(version.platforms) : null;
    const [row] = (await this.pushes.upsertVersion(this.db, packageId, version.digest, version.mediaType, version.artifactType, version.subject, version.size, platforms, now)).rows;
    return row?.created_at === now;
  }

  /** Total size of a live version, if recorded. */
  async versionSize(packageId: number, digest: string): Promise<number | undefined> {
    const [row] = (await this.pushes.versionSize(this.db, packageId, digest)).rows;
    return row === undefined ? undefined : Number(row.size);
  }

  /**
   * After a push: the package was updated, published if the push tagged it (the first tag is the
   * first publish), and shows the metadata of the newest image, when the push read any.
   */
  async pushed(packageId: number, { tagged, metadata }: { tagged: boolean; metadata: ImageMetadata | undefined }): Promise<void> {
    const now = this.now();
    await this.pushes.touchPackage(this.db, now, tagged ? now : null, metadata ? JSON.stringify(metadata) : null, packageId);
  }

  /** A page of versions, newest first; of live ones, with `tagged`, only those with (or without) a tag. */
  async versions(pkg: PackageRecord, state: 'active' | 'deleted', limit: number, offset: number, options: { tagged?: boolean } = {}): Promise<{ items: VersionRecord[]; total: number }> {
    let base = this.db
      .selectFrom('package_versions')
      .where('package_id', '=', pkg.id)
      .where('deleted_at', state === 'active' ? 'is' : 'is not', null);
    if (options.tagged !== undefined) {
      base = base.where((eb) => {
        const tagged = eb.exists(
          eb
            .selectFrom('tags')
            .innerJoin('repositories', 'repositories.id', 'tags.repository_id')
            .select('tags.digest')
            .where('repositories.name', '=', pkg.repository)
            .whereRef('tags.digest', '=', 'package_versions.digest'),
        );
        return options.tagged ? tagged : eb.not(tagged);
      });
    }
    const count = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    const rows = await base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute();
    return { items: await this.toVersions(pkg, rows), total: Number(count?.n ?? 0) };
  }

  /** The newest live versions among `packages`, newest first: what was pushed lately. */
  async recentVersions(packages: readonly PackageRecord[], limit: number): Promise<Array<{ pkg: PackageRecord; version: VersionRecord }>> {
    if (packages.length === 0) return [];
    const byId = new Map(packages.map((pkg) => [pkg.id, pkg]));
    const rows = await this.db
      .selectFrom('package_versions')
      .selectAll()
      .where('package_id', 'in', [...byId.keys()])
      .where('deleted_at', 'is', null)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    const versions = new Map<number, VersionRecord>();
    for (const [packageId, pkg] of byId) {
      const own = rows.filter((row) => row.package_id === packageId);
      if (own.length === 0) continue;
      for (const version of await this.toVersions(pkg, own)) versions.set(version.id, version);
    }
    return rows.map((row) => ({ pkg: byId.get(row.package_id) as PackageRecord, version: versions.get(row.id) as VersionRecord }));
  }

  async version(pkg: PackageRecord, id: number): Promise<VersionRecord> {
    const row = await this.db.selectFrom('package_versions').selectAll().where('package_id', '=', pkg.id).where('id', '=', id).executeTakeFirst();
    if (!row) throw new PackageNotFoundError(`version ${id} of ${pkg.repository}`);
    const [version] = await this.toVersions(pkg, [row]);
    return version as VersionRecord;
  }

  /**
   * Deletes a version, restorable for 30 days. A platform image or attestation still listed by a
   * tagged index is refused (deleting it would break the multi-arch image) unless forced; a
   * version that carries an immutable tag, or that an index with one lists, is refused even then:
   * `force` is for breaking an index knowingly, and an immutable tag promises it stays whole.
   */
  async deleteVersion(pkg: PackageRecord, id: number, options: { force?: boolean; actorId?: number } = {}): Promise<void> {
    const version = await this.version(pkg, id);
    if (version.deletedAt) throw new PackageNotFoundError(`version ${id} of ${pkg.repository}`);
    await this.refuseDeletion(pkg.repository, version.digest, {
      what: `version ${id} (${version.digest})`,
      force: options.force ?? false,
      hint: 'delete that index first, or pass force=true to break it',
    });
    await this.softDelete(pkg.id, pkg.repository, [version.digest], {
      withPackage: false,
      alongside: async (trx) => {
        await recordAudit(trx, versionEntry(pkg, 'package_version.delete', version.id, version.digest, { tags: version.tags, ...(options.force && { force: true }) }));
        await this.within(trx).report('version_deleted', { packageId: pkg.id, ownerId: pkg.owner.id, digest: version.digest, actorId: options.actorId });
      },
    });
    this.committed();
  }

  /**
   * What a retention policy would delete of a package now: `applied` if given (to try a policy
   * before setting it), else the one that applies to the package. Changes nothing.
   */
  async previewRetention(pkg: PackageRecord, applied?: AppliedPolicy): Promise<RetentionOutcome> {
    const policy = applied ?? (await this.retention.applying(pkg));
    if (!policy) return { by: undefined, versions: [] };
    return { by: policy.by, versions: await this.retention.plan(pkg, policy) };
  }

  /**
   * Applies the retention policy of a package (or `applied`): soft-deletes what its plan lists, in
   * one transaction, each version recording the policy. The plan is computed outside the
   * transaction; if the package changed since in a way that touches it (a tag set on one of its
   * versions, a manifest listing or referring to one), nothing is deleted and a
   * `PackageConflictError` says so: the next run plans again.
   */
  async applyRetention(pkg: PackageRecord, applied?: AppliedPolicy): Promise<RetentionOutcome> {
    const planned = await this.previewRetention(pkg, applied);
    if (planned.by === undefined || planned.versions.length === 0) return planned;
    const digests = planned.versions.map((version) => version.digest as Digest);
    const expected = new Map(planned.versions.map((version) => [version.digest, version]));
    await this.softDelete(pkg.id, pkg.repository, digests, {
      withPackage: false,
      deletedByPolicy: planned.by,
      before: (trx) => this.within(trx).refuseChangedPlan(pkg.repository, expected),
      alongside: async (trx) => {
        const actor = { kind: 'system' as const, name: `retention:${planned.by}` };
        for (const version of planned.versions) {
          await recordAudit(trx, { ...versionEntry(pkg, 'package_version.delete', version.id, version.digest, { tags: version.tags, policy: planned.by }), actor });
          await this.within(trx).report('version_deleted', { packageId: pkg.id, ownerId: pkg.owner.id, digest: version.digest });
        }
      },
    });
    this.committed();
    return planned;
  }

  /** Applies every package's retention policy (the sweep); one outcome per package a policy applies to. */
  async applyAllRetention(): Promise<Array<{ repository: string } & ({ outcome: RetentionOutcome } | { error: unknown })>> {
    const results: Array<{ repository: string } & ({ outcome: RetentionOutcome } | { error: unknown })> = [];
    for (const repository of await this.retention.packagesWithPolicies()) {
      try {
        const pkg = await this.get(repository);
        if (pkg) results.push({ repository, outcome: await this.applyRetention(pkg) });
      } catch (error) {
        results.push({ repository, error });
      }
    }
    return results;
  }

  /**
   * In the deletion's transaction: the versions a retention plan deletes still have the tags it
   * saw, and no manifest lists or refers to them but those it saw.
   */
  private async refuseChangedPlan(repository: string, expected: ReadonlyMap<string, { tags: readonly string[]; heldBy: readonly string[] }>): Promise<void> {
    const digests = [...expected.keys()];
    const changed = () => new PackageConflictError(`${repository} changed while its retention policy was applied: nothing was deleted, the next run decides again`);
    const tags = await this.tagsOf(repository, digests);
    for (const [digest, seen] of expected) {
      if ([...(tags.get(digest) ?? [])].sort().join('\u0000') !== [...seen.tags].sort().join('\u0000')) throw changed();
    }
    const holders = await indexListings(this.db, repository)
      .select(['manifest_references.manifest_digest as holder', 'manifest_references.referenced_digest as held'])
      .where('manifest_references.referenced_digest', 'in', digests)
      .union((eb) =>
        eb
          .selectFrom('manifests')
          .innerJoin('repositories', 'repositories.id', 'manifests.repository_id')
          .select(['manifests.digest as holder', 'manifests.subject_digest as held'])
          .where('repositories.name', '=', repository)
          .where('manifests.subject_digest', 'in', digests)
          .$narrowType<{ held: NotNull }>(),
      )
      .execute();
    if (holders.some(({ holder, held }) => !expected.get(held)?.heldBy.includes(holder))) throw changed();
  }

  /**
   * Called before the registry deletes a manifest by digest (`DELETE /v2/.../manifests/<digest>`):
   * refuses as `deleteVersion` does without `force`, and answers what to write in the deletion's
   * transaction to keep the version restorable.
   */
  async manifestDeleting(repository: RepositoryName, digest: Digest, audit?: AuditContext): Promise<((trx: Transaction<Schema>) => Promise<void>) | undefined> {
    const pkg = await this.db.selectFrom('packages').select(['id', 'owner_id']).where('name', '=', repository).where('deleted_at', 'is', null).executeTakeFirst();
    if (!pkg) return undefined;
    await this.refuseDeletion(repository, digest, { what: `manifest ${digest}`, force: false, hint: 'delete that index first' });
    const [snapshot] = await this.snapshots(repository, [digest]);
    const now = this.now();
    const owner = await this.db.selectFrom('accounts').select(['id', 'name']).where('id', '=', pkg.owner_id).executeTakeFirstOrThrow();
    return async (trx) => {
      const inside = this.within(trx);
      const version = await inside.markDeleted(pkg.id, snapshot!, false, now);
      if (version !== undefined) {
        await recordAudit(trx, { action: 'package_version.delete', owner, target: `${repository}@${digest}`, details: { version_id: version, digest, tags: snapshot!.tags, via: 'registry' }, context: audit });
      }
      await inside.report('version_deleted', { packageId: pkg.id, ownerId: pkg.owner_id, digest });
    };
  }

  /** Called before the registry deletes a tag (`DELETE /v2/.../manifests/<tag>`): an immutable one stays. */
  async tagDeleting(repository: RepositoryName, tag: string): Promise<void> {
    await this.immutableTags.refuseRemoving(repository, [tag], 'delete it');
  }

  /**
   * The one rule for deleting a manifest of a package, whichever way it is asked: not one that
   * carries an immutable tag, not one a tagged index lists (unless `force`), and never one an
   * index with an immutable tag lists.
   */
  private async refuseDeletion(repository: RepositoryName, digest: Digest, options: { what: string; force: boolean; hint: string }): Promise<void> {
    await this.immutableTags.refuseRemoving(repository, (await this.tagsOf(repository, [digest])).get(digest) ?? [], `delete ${options.what}`);
    const tagged = await this.taggedParents(repository, digest);
    if (tagged.length === 0) return;
    if (!options.force) throw new ListedByTaggedIndexError(options.what, tagged, options.hint);
    await this.immutableTags.refuseRemoving(repository, tagged.flatMap((parent) => parent.tags), `delete ${options.what}, which the index it points at lists`);
  }

  async restoreVersion(pkg: PackageRecord, id: number, options: { actorId?: number } = {}): Promise<void> {
    const row = await this.db.selectFrom('package_versions').selectAll().where('package_id', '=', pkg.id).where('id', '=', id).executeTakeFirst();
    if (!row || !row.deleted_at || !row.content) throw new PackageNotFoundError(`deleted version ${id} of ${pkg.repository}`);
    const live = await this.db
      .selectFrom('package_versions')
      .select('id')
      .where('package_id', '=', pkg.id)
      .where('digest', '=', row.digest)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (live) throw new PackageConflictError(`${row.digest} was pushed again as version ${live.id}`);
    // A restore is activity: a retention policy counts the version's age from it.
    const now = this.now();
    await this.metadata.putManifests(pkg.repository, await this.reinstatable(pkg.repository, [row]), async (trx) => {
      await trx.updateTable('package_versions').set({ deleted_at: null, deleted_with_package: 0, deleted_by_policy: null, content: null, tags: null, updated_at: now }).where('id', '=', id).execute();
      await recordAudit(trx, versionEntry(pkg, 'package_version.restore', id, row.digest));
      await this.within(trx).report('version_restored', { packageId: pkg.id, ownerId: pkg.owner.id, digest: row.digest, actorId: options.actorId });
    });
    this.committed();
  }

  /** Deletes a package with all its versions, restorable for 30 days if the name is not reused. */
  async deletePackage(pkg: PackageRecord, options: { actorId?: number } = {}): Promise<void> {
    // A package with an immutable tag is not deleted whole either: its admins clear the package's
    // patterns first (an owner's default pattern, by its owner), which says they mean it.
    const tags = await this.db.selectFrom('tags').innerJoin('repositories', 'repositories.id', 'tags.repository_id').select('tags.name').where('repositories.name', '=', pkg.repository).orderBy('tags.name').execute();
    await this.immutableTags.refuseRemoving(pkg.repository, tags.map((tag) => tag.name), `delete package ${pkg.repository}`);
    const live = await this.db.selectFrom('package_versions').select('digest').where('package_id', '=', pkg.id).where('deleted_at', 'is', null).orderBy('id', 'desc').execute();
    const now = this.now();
    // Newest first, so that indexes go before the manifests they list.
    const digests = live.map((row) => row.digest as Digest);
    await this.softDelete(pkg.id, pkg.repository, digests, {
      withPackage: true,
      now,
      alongside: async (trx) => {
        await trx.updateTable('packages').set({ deleted_at: now, updated_at: now }).where('id', '=', pkg.id).execute();
        await recordAudit(trx, packageEntry(pkg, 'package.delete', { versions: digests.length }));
        await this.within(trx).report('deleted', { packageId: pkg.id, ownerId: pkg.owner.id, actorId: options.actorId });
      },
    });
    this.committed();
  }

  async restorePackage(repository: string, options: { actorId?: number } = {}): Promise<PackageRecord> {
    const pkg = await this.require(repository, { deleted: true });
    if (await this.get(repository)) throw new PackageConflictError(`the name ${repository} is in use by a new package`);
    const rows = await this.db.selectFrom('package_versions').selectAll().where('package_id', '=', pkg.id).where('deleted_with_package', '=', 1).orderBy('id').execute();
    const now = this.now();
    await this.metadata.putManifests(pkg.repository as RepositoryName, await this.reinstatable(pkg.repository, rows), async (trx) => {
      await trx
        .updateTable('package_versions')
        .set({ deleted_at: null, deleted_with_package: 0, content: null, tags: null, updated_at: now })
        .where('package_id', '=', pkg.id)
        .where('deleted_with_package', '=', 1)
        .execute();
      await trx.updateTable('packages').set({ deleted_at: null, updated_at: now }).where('id', '=', pkg.id).execute();
      await recordAudit(trx, packageEntry(pkg, 'package.restore', { versions: rows.length }));
      await this.within(trx).report('restored', { packageId: pkg.id, ownerId: pkg.owner.id, actorId: options.actorId });
    });
    this.committed();
    return this.require(repository);
  }

  /**
   * Removes what was deleted longer ago than the restore window. A purged package whose name has
   * no other package takes its repository along (the blob links its deletion kept for a restore),
   * so that whoever creates a package of that name later finds none of the old blobs.
   */
  async purge(): Promise<void> {
    const cutoff = new Date(this.clock().getTime() - restoreWindowMs).toISOString();
    const emptied = await this.db.transaction().execute(async (trx) => {
      const purged = await trx.selectFrom('packages').select('name').where('deleted_at', '<', cutoff).execute();
      await trx.deleteFrom('packages').where('deleted_at', '<', cutoff).execute();
      await trx.deleteFrom('package_versions').where('deleted_at', '<', cutoff).execute();
      const names = [...new Set(purged.map((row) => row.name))];
      if (names.length === 0) return [];
      const kept = new Set((await trx.selectFrom('packages').select('name').where('name', 'in', names).execute()).map((row) => row.name));
      const emptied = names.filter((name) => !kept.has(name));
      await this.metadata.deleteRepositories(trx, emptied);
      return emptied;
    });
    const forget = new Set(emptied);
    if (forget.size > 0) this.metadata.forgetRepositories((name) => forget.has(name));
  }

  /**
   * Changes the visibility. Public is final (as on ghcr.io), internal is for organization packages,
   * and an organization may limit what its members choose.
   */
  async setVisibility(pkg: PackageRecord, visibility: Visibility, options: { byOrgOwner: boolean; actorId?: number }): Promise<void> {
    if (pkg.visibility === 'public' && visibility !== 'public') throw new PackageRuleError('a public package cannot be made private or internal again');
    if (visibility === 'internal' && pkg.owner.kind !== 'org') throw new PackageRuleError('only organization packages can be internal');
    if (pkg.owner.kind === 'org' && !options.byOrgOwner) {
      const settings = await this.orgSettings(pkg.owner.id);
      if (!settings.visibilities.includes(visibility)) {
        throw new PackageRuleError(`${pkg.owner.login} lets members choose only ${settings.visibilities.join(', ')} visibility`);
      }
    }
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('packages').set({ visibility, updated_at: this.now() }).where('id', '=', pkg.id).execute();
      await recordAudit(trx, packageEntry(pkg, 'package.visibility', { from: pkg.visibility, to: visibility }));
      if (visibility !== pkg.visibility) await this.within(trx).report('visibility_changed', { packageId: pkg.id, ownerId: pkg.owner.id, actorId: options.actorId, from: pkg.visibility });
    });
    this.committed();
  }

  async setInheritAccess(pkg: PackageRecord, inherit: boolean): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('packages').set({ inherit_access: toFlag(inherit), updated_at: this.now() }).where('id', '=', pkg.id).execute();
      await recordAudit(trx, packageEntry(pkg, 'package.inherit_access', { from: pkg.inheritAccess, to: inherit }));
    });
  }

  /**
   * Grants a role to a user or (organization packages) a team of the owner. On private and
   * internal organization packages only members of the organization can be granted.
   */
  async grant(pkg: PackageRecord, kind: PrincipalKind, principal: string, role: PackageRole): Promise<RoleGrant> {
    const target = await this.principal(pkg, kind, principal);
    if (kind === 'user' && pkg.owner.kind === 'org' && pkg.visibility !== 'public') {
      const member = await this.db.selectFrom('org_members').select('role').where('org_id', '=', pkg.owner.id).where('user_id', '=', target.id).executeTakeFirst();
      if (!member) throw new PackageRuleError(`${target.name} is not a member of ${pkg.owner.login}: only members can be granted a role on its ${pkg.visibility} packages`);
    }
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('package_roles')
        .values({ package_id: pkg.id, principal_kind: kind, principal_id: target.id, role, created_at: this.now() })
        .onConflict((c) => c.columns(['package_id', 'principal_kind', 'principal_id']).doUpdateSet({ role }))
        .execute();
      await recordAudit(trx, packageEntry(pkg, 'package.role_grant', { [kind]: target.name, role }));
    });
    return { kind, id: target.id, name: target.name, role };
  }

  async revoke(pkg: PackageRecord, kind: PrincipalKind, principal: string): Promise<void> {
    const target = await this.principal(pkg, kind, principal);
    await this.db.transaction().execute(async (trx) => {
      const removed = await trx
        .deleteFrom('package_roles')
        .where('package_id', '=', pkg.id)
        .where('principal_kind', '=', kind)
        .where('principal_id', '=', target.id)
        .returning('role')
        .executeTakeFirst();
      if (!removed) throw new PackageNotFoundError(`role of ${kind} ${principal} on ${pkg.repository}`);
      await recordAudit(trx, packageEntry(pkg, 'package.role_revoke', { [kind]: target.name, role: removed.role }));
    });
  }

  async roles(pkg: PackageRecord): Promise<RoleGrant[]> {
    return listRoleHolders(this.db, this.db.selectFrom('package_roles').select(['principal_kind', 'principal_id', 'role']).where('package_id', '=', pkg.id));
  }

  async orgSettings(orgId: number): Promise<OrgPackageSettings> {
    const row = await this.db.selectFrom('org_package_settings').selectAll().where('org_id', '=', orgId).executeTakeFirst();
    if (!row) return { membersCanCreate: true, visibilities: [...visibilities] };
    return { membersCanCreate: isSet(row.members_can_create), visibilities: row.visibilities.split(' ').filter(Boolean) as Visibility[] };
  }

  async setOrgSettings(orgId: number, settings: OrgPackageSettings): Promise<void> {
    if (settings.visibilities.length === 0) throw new PackageRuleError('allow at least one visibility');
    const values = { members_can_create: toFlag(settings.membersCanCreate), visibilities: settings.visibilities.join(' ') };
    await this.db
      .insertInto('org_package_settings')
      .values({ org_id: orgId, ...values })
      .onConflict((c) => c.column('org_id').doUpdateSet(values))
      .execute();
  }

  private async principal(pkg: PackageRecord, kind: PrincipalKind, name: string): Promise<{ id: number; name: string }> {
    if (kind === 'team' && pkg.owner.kind !== 'org') throw new PackageRuleError('teams can be granted roles only on organization packages');
    return findRoleHolder(this.db, kind, name, pkg.owner);
  }

  /** Tagged indexes of the repository that list the digest. */
  private async taggedParents(repository: string, digest: string): Promise<Array<{ digest: string; tags: string[] }>> {
    const rows = await indexListings(this.db, repository)
      .innerJoin('tags', (join) => join.onRef('tags.repository_id', '=', 'manifest_references.repository_id').onRef('tags.digest', '=', 'manifest_references.manifest_digest'))
      .select(['manifest_references.manifest_digest', 'tags.name'])
      .where('manifest_references.referenced_digest', '=', digest)
      .orderBy('tags.name')
      .execute();
    const parents = new Map<string, string[]>();
    for (const row of rows) parents.set(row.manifest_digest, [...(parents.get(row.manifest_digest) ?? []), row.name]);
    return [...parents].map(([parent, tags]) => ({ digest: parent, tags }));
  }

  /**
   * Marks versions deleted, keeping what a restore needs, and deletes their manifests, all in one
   * transaction with `alongside` (after) and `before` (first, and may refuse).
   */
  private async softDelete(
    packageId: number,
    repository: RepositoryName,
    digests: Digest[],
    options: {
      withPackage: boolean;
      now?: string;
      deletedByPolicy?: string;
      alongside?: (trx: Transaction<Schema>) => Promise<void>;
      before?: (trx: Transaction<Schema>) => Promise<void>;
    },
  ): Promise<void> {
    const now = options.now ?? this.now();
    const snapshots = await this.snapshots(repository, digests);
    await this.metadata.deleteManifests(
      repository,
      digests,
      async (trx) => {
        const inside = this.within(trx);
        for (const snapshot of snapshots) await inside.markDeleted(packageId, snapshot, options.withPackage, now, options.deletedByPolicy);
        if (options.alongside) await options.alongside(trx);
      },
      options.before,
    );
  }

  /** What a restore of each version needs: its manifest's bytes and its tags, read before deletion. */
  private async snapshots(repository: RepositoryName, digests: Digest[]): Promise<VersionSnapshot[]> {
    const tags = await this.tagsOf(repository, digests);
    const snapshots: VersionSnapshot[] = [];
    for (const digest of digests) {
      // Without the manifest (removed behind the registry's back) the version is deleted for good.
      const stored = await this.metadata.manifestByDigest(repository, digest);
      snapshots.push({ digest, content: stored?.content ?? null, tags: tags.get(digest) ?? [] });
    }
    return snapshots;
  }

  /** The id of the version marked deleted; undefined when there was no live one. */
  private async markDeleted(packageId: number, snapshot: VersionSnapshot, withPackage: boolean, now: string, deletedByPolicy?: string): Promise<number | undefined> {
    const row = await this.db
      .updateTable('package_versions')
      .set({
        deleted_at: now,
        updated_at: now,
        deleted_with_package: toFlag(withPackage),
        deleted_by_policy: deletedByPolicy ?? null,
        content: snapshot.content,
        tags: JSON.stringify(snapshot.tags),
      })
      .where('package_id', '=', packageId)
      .where('digest', '=', snapshot.digest)
      .where('deleted_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    return row?.id;
  }

  /**
   * The manifests of deleted versions, to put back in this order, each with those of its tags
   * nobody has taken since (nor an earlier version of the same restore).
   */
  private async reinstatable(
    repository: string,
    rows: ReadonlyArray<{ digest: string; media_type: string; content: Uint8Array | null; tags: string | null }>,
  ): Promise<Array<{ manifest: NewManifest; tags: string[] }>> {
    const taken = new Set((await this.db.selectFrom('tags').innerJoin('repositories', 'repositories.id', 'tags.repository_id').select('tags.name').where('repositories.name', '=', repository).execute()).map((tag) => tag.name));
    const entries: Array<{ manifest: NewManifest; tags: string[] }> = [];
    for (const row of rows) {
      if (!row.content) continue;
      const content = Buffer.from(row.content);
      const tags = (JSON.parse(row.tags ?? '[]') as string[]).filter((tag) => !taken.has(tag));
      for (const tag of tags) taken.add(tag);
      entries.push({ manifest: newManifest(row.digest as Digest, content, parseManifest(content, row.media_type)), tags });
    }
    return entries;
  }

  private async tagsOf(repository: string, digests: string[]): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>();
    if (digests.length === 0) return result;
    // Sorted here: ordered by name in SQL, SQLite walks every tag of the repository in name order
    // rather than looking the digests up (tags_digest).
    const rows = await this.db
      .selectFrom('tags')
      .innerJoin('repositories', 'repositories.id', 'tags.repository_id')
      .select(['tags.name', 'tags.digest'])
      .where('repositories.name', '=', repository)
      .where('tags.digest', 'in', digests)
      .execute();
    for (const row of rows) result.set(row.digest, [...(result.get(row.digest) ?? []), row.name]);
    for (const names of result.values()) names.sort();
    return result;
  }

  private async toVersions(pkg: PackageRecord, rows: Array<Selectable<PackageVersionsTable>>): Promise<VersionRecord[]> {
    const live = rows.filter((row) => row.deleted_at === null).map((row) => row.digest);
    const tags = await this.tagsOf(pkg.repository, live);
    const parents = new Map<string, string[]>();
    if (rows.length > 0) {
      const refs = await indexListings(this.db, pkg.repository)
        .select(['manifest_references.manifest_digest', 'manifest_references.referenced_digest'])
        .where('manifest_references.referenced_digest', 'in', rows.map((row) => row.digest))
        .execute();
      for (const ref of refs) parents.set(ref.referenced_digest, [...(parents.get(ref.referenced_digest) ?? []), ref.manifest_digest]);
    }
    return rows.map((row) => ({
      id: row.id,
      digest: row.digest as Digest,
      mediaType: row.media_type,
      artifactType: row.artifact_type,
      subject: row.subject_digest,
      size: Number(row.size),
      platforms: row.platforms ? (JSON.parse(row.platforms) as string[]) : [],
      downloadCount: Number(row.download_count),
      tags: row.deleted_at === null ? (tags.get(row.digest) ?? []) : (JSON.parse(row.tags ?? '[]') as string[]),
      parents: parents.get(row.digest) ?? [],
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      deletedAt: row.deleted_at,
      deletedByPolicy: row.deleted_at === null ? null : row.deleted_by_policy,
    }));
  }

  private packageQuery() {
    return this.db
      .selectFrom('packages')
      .innerJoin('accounts as owner', 'owner.id', 'packages.owner_id')
      .leftJoin('source_repositories as repo', 'repo.id', 'packages.source_repository_id')
      .leftJoin('accounts as repo_owner', 'repo_owner.id', 'repo.owner_id')
      .select((eb) => [
        'packages.id',
        'packages.name',
        'packages.visibility',
        'packages.inherit_access',
        'packages.metadata',
        'packages.download_count',
        'packages.created_at',
        'packages.updated_at',
        'packages.deleted_at',
        'owner.id as owner_id',
        'owner.name as owner_name',
        'owner.kind as owner_kind',
        'repo.id as repo_id',
        'repo.name as repo_name',
        'repo_owner.id as repo_owner_id',
        'repo_owner.name as repo_owner_name',
        'repo_owner.kind as repo_owner_kind',
        eb
          .selectFrom('package_versions')
          .select((inner) => inner.fn.countAll<number>().as('n'))
          .whereRef('package_versions.package_id', '=', 'packages.id')
          .where('package_versions.deleted_at', 'is', null)
          .as('version_count'),
        eb
          .selectFrom('package_versions')
          .select((inner) => inner.fn.max('package_versions.created_at').as('t'))
          .whereRef('package_versions.package_id', '=', 'packages.id')
          .where('package_versions.deleted_at', 'is', null)
          .as('last_published_at'),
      ]);
  }

  private async toRecord(row: {
    id: number;
    name: string;
    visibility: Visibility;
    inherit_access: number;
    metadata: string | null;
    download_count: number;
    created_at: string;
    updated_at: string;
    deleted_at: string | null;
    owner_id: number;
    owner_name: string;
    owner_kind: AccountKind;
    repo_id: number | null;
    repo_name: string | null;
    repo_owner_id: number | null;
    repo_owner_name: string | null;
    repo_owner_kind: AccountKind | null;
    version_count: number | null;
    last_published_at: string | null;
  }): Promise<PackageRecord> {
    const slash = row.name.indexOf('/');
    return {
      id: row.id,
      repository: row.name as RepositoryName,
      name: row.name.slice(slash + 1),
      owner: { id: row.owner_id, login: row.owner_name, kind: row.owner_kind },
      visibility: row.visibility,
      inheritAccess: isSet(row.inherit_access),
      source:
        row.repo_id !== null && row.repo_name !== null && row.repo_owner_id !== null
          ? { id: row.repo_id, name: row.repo_name, owner: { id: row.repo_owner_id, login: row.repo_owner_name ?? '', kind: row.repo_owner_kind ?? 'user' } }
          : undefined,
      metadata: row.metadata ? (JSON.parse(row.metadata) as ImageMetadata) : {},
      downloadCount: Number(row.download_count),
      versionCount: Number(row.version_count ?? 0),
      lastPublishedAt: row.last_published_at,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      deletedAt: row.deleted_at,
    };
  }

  private now(): string {
    return this.clock().toISOString();
  }
}

function pushStatements(db: Database) {
  return {
    livePackage: preparedStatement<{ id: number; owner_id: number; published_at: string | null }, [string]>((repository) =>
      db.selectFrom('packages').select(['id', 'owner_id', 'published_at']).where('name', '=', repository).where('deleted_at', 'is', null),
    ),
    // A live version pushed again is only touched: one statement, where an update and then an
    // insert were two.
    // Returning the creation time tells a new version (created now) from a touched one.
    upsertVersion: preparedStatement<{ created_at: string }, [number, string, string, string | null, string | null, number, string | null, string]>(
      (packageId, digest, mediaType, artifactType, subject, size, platforms, now) =>
        db
          .insertInto('package_versions')
          .values({
            package_id: packageId,
            digest,
            media_type: mediaType,
            artifact_type: artifactType,
            subject_digest: subject,
            size,
            platforms,
            created_at: now,
            updated_at: now,
            deleted_at: null,
            content: null,
            tags: null,
          })
          .onConflict((c) =>
            c
              .columns(['package_id', 'digest'])
              .where('deleted_at', 'is', null)
              .doUpdateSet({ updated_at: (eb) => eb.ref('excluded.updated_at') }),
          )
          .returning('created_at'),
    ),
    versionSize: preparedStatement<{ size: number }, [number, string]>((packageId, digest) =>
      db.selectFrom('package_versions').select('size').where('package_id', '=', packageId).where('digest', '=', digest).where('deleted_at', 'is', null),
    ),
    // A null publication time or metadata keeps the one the package has.
    touchPackage: preparedStatement<never, [string, string | null, string | null, number]>((now, publishedAt, metadata, packageId) =>
      db
        .updateTable('packages')
        .set({ updated_at: now, published_at: sql`coalesce(published_at, ${publishedAt})`, metadata: sql`coalesce(${metadata}, metadata)` })
        .where('id', '=', packageId),
    ),
  };
}

/** An audit entry about a package, which belongs to the package's owner. */
function packageEntry(pkg: PackageRecord, action: AuditEntry['action'], details?: Record<string, unknown>): AuditEntry {
  return { action, owner: { id: pkg.owner.id, name: pkg.owner.login }, target: pkg.repository, ...(details && { details }) };
}

function versionEntry(pkg: PackageRecord, action: AuditEntry['action'], id: number, digest: string, details: Record<string, unknown> = {}): AuditEntry {
  return { ...packageEntry(pkg, action, { version_id: id, digest, ...details }), target: `${pkg.repository}@${digest}` };
}
