import { type RawBuilder, sql } from 'kysely';
import { dialectOf } from '../db/dialect.js';
import type { Database } from '../db/schema.js';
import type { Digest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';

/** Bytes a namespace or a package holds, each distinct blob and manifest counted once. */
export interface StorageFigures {
  /** Blobs (configs and layers) referenced by live manifests, and those manifests' own bytes. */
  usedBytes: number;
  /** The same with the versions deleted but still restorable. */
  usedWithRestorableBytes: number;
}

export interface PackageStorage extends StorageFigures {
  /** The repository name, `namespace/name`. */
  name: string;
}

export interface NamespaceStorage extends StorageFigures {
  namespace: string;
  /** Blobs uploaded within the upload expiry that no live manifest references (yet). */
  pendingBytes: number;
  /** What the quota is checked against: `usedBytes + pendingBytes`. */
  chargedBytes: number;
  packages: PackageStorage[];
}

/**
 * Storage used per namespace (the account a repository name's first path segment names) and per
 * package. One copy of a blob is stored for the whole registry; a namespace is charged once for
 * each distinct blob its repositories use, however many images share it.
 *
 * What a quota is checked against (`charged`): the blobs referenced by the namespace's live
 * manifests, the manifests' own bytes, and blobs linked to its repositories within the last
 * `pendingMs` (the upload expiry) that nothing references yet, so that blobs uploaded without a
 * manifest count too. Restorable versions are not charged: deleting a version makes room at once,
 * as a client expects (so a recent link to one of their blobs is not pending either); their bytes
 * are reported in `usedWithRestorableBytes` and go with the purge.
 */
export class StorageUsage {
  constructor(
    private readonly db: Database,
    private readonly pendingMs: number,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The bytes the namespace is charged for: one aggregate over its repositories, for the push-time check. */
  async chargedBytes(namespace: string): Promise<number> {
    const { from, to } = namespaceRange(namespace);
    const since = this.pendingSince();
    const deleted = await this.recentlyDeletedBlobs(from, to, since);
    // The distinct digests first, each size looked up once: cheaper than a union of (digest, size)
    // rows over every reference of the namespace.
    const { rows } = await sql<{ blob_bytes: number | string | null; manifest_bytes: number | string | null }>`
      select
        (select coalesce(sum(b.size), 0) from blobs b where b.digest in (
          select mr.referenced_digest from manifest_references mr
          join repositories r on r.id = mr.repository_id
          where r.name >= ${from} and r.name < ${to} and mr.kind = 'blob'
          union
          select rb.digest from repository_blobs rb
          join repositories r on r.id = rb.repository_id
          where r.name >= ${from} and r.name < ${to} and rb.created_at >= ${since}
            and rb.digest not in (select d.value from ${deleted} as d))) as blob_bytes,
        (select coalesce(sum(held.size), 0) from (
          ${this.manifestBytes(from, to)}
        ) held) as manifest_bytes`.execute(this.db);
    return Number(rows[0]?.blob_bytes ?? 0) + Number(rows[0]?.manifest_bytes ?? 0);
  }

  /** Of the digests, those the namespace is charged for already: pushing them again adds nothing. */
  async chargedAmong(namespace: string, digests: readonly Digest[]): Promise<Set<Digest>> {
    if (digests.length === 0) return new Set();
    const { from, to } = namespaceRange(namespace);
    const since = this.pendingSince();
    const deleted = await this.recentlyDeletedBlobs(from, to, since);
    const given = dialectOf(this.db).jsonArrayElements(JSON.stringify(digests));
    const { rows } = await sql<{ value: string }>`
      select d.value from ${given} as d
      where exists (
          select 1 from manifest_references mr join repositories r on r.id = mr.repository_id
          where mr.referenced_digest = d.value and mr.kind = 'blob' and r.name >= ${from} and r.name < ${to})
        or exists (
          select 1 from manifests m join repositories r on r.id = m.repository_id
          where m.digest = d.value and r.name >= ${from} and r.name < ${to})
        or exists (
          select 1 from repository_blobs rb join repositories r on r.id = rb.repository_id
          where rb.digest = d.value and rb.created_at >= ${since} and r.name >= ${from} and r.name < ${to}
            and rb.digest not in (select x.value from ${deleted} as x))`.execute(this.db);
    return new Set(rows.map((row) => row.value as Digest));
  }

  /** The stored sizes of blobs, by digest; a digest not stored is absent. */
  async blobSizes(digests: readonly Digest[]): Promise<Map<Digest, number>> {
    const sizes = new Map<Digest, number>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db.selectFrom('blobs').select(['digest', 'size']).where('digest', 'in', digests.slice(i, i + 500)).execute();
      for (const row of rows) sizes.set(row.digest as Digest, Number(row.size));
    }
    return sizes;
  }

  /**
   * The sizes of the blobs among `digests` that are linked in the repository, by digest; any other
   * is absent. What a push may count as its own: a blob stored for other repositories only is
   * neither counted nor its size revealed in a refusal.
   */
  async linkedBlobSizes(repository: string, digests: readonly Digest[]): Promise<Map<Digest, number>> {
    const sizes = new Map<Digest, number>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('repository_blobs')
        .innerJoin('repositories', 'repositories.id', 'repository_blobs.repository_id')
        .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
        .select(['blobs.digest', 'blobs.size'])
        .where('repositories.name', '=', repository)
        .where('repository_blobs.digest', 'in', digests.slice(i, i + 500))
        .execute();
      for (const row of rows) sizes.set(row.digest as Digest, Number(row.size));
    }
    return sizes;
  }

  /** The whole report of a namespace: its figures, and those of each of its packages (live or deleted). */
  async ofNamespace(namespace: string): Promise<NamespaceStorage> {
    const { from, to } = namespaceRange(namespace);
    const live = await sql<{ repository: string; digest: string; size: number | string }>`
      select r.name as repository, mr.referenced_digest as digest, b.size from manifest_references mr
      join repositories r on r.id = mr.repository_id
      join blobs b on b.digest = mr.referenced_digest
      where r.name >= ${from} and r.name < ${to} and mr.kind = 'blob'
      union
      select r.name as repository, m.digest, m.size from manifests m
      join repositories r on r.id = m.repository_id
      where r.name >= ${from} and r.name < ${to}`.execute(this.db);
    const linked = await sql<{ digest: string; size: number | string }>`
      select distinct rb.digest, b.size from repository_blobs rb
      join repositories r on r.id = rb.repository_id
      join blobs b on b.digest = rb.digest
      where r.name >= ${from} and r.name < ${to} and rb.created_at >= ${this.pendingSince()}`.execute(this.db);

    const liveByPackage = new Map<string, Map<string, number>>();
    const liveAll = new Map<string, number>();
    for (const row of live.rows) {
      const digests = liveByPackage.get(row.repository) ?? new Map<string, number>();
      liveByPackage.set(row.repository, digests);
      digests.set(row.digest, Number(row.size));
      liveAll.set(row.digest, Number(row.size));
    }
    const restorableByPackage = await this.restorable(from, to);
    const withRestorableAll = new Map(liveAll);
    for (const digests of restorableByPackage.values()) for (const [digest, size] of digests) withRestorableAll.set(digest, size);

    const names = new Set([...liveByPackage.keys(), ...restorableByPackage.keys()]);
    const packages = [...names].sort().map((name) => {
      const liveHere = liveByPackage.get(name) ?? new Map<string, number>();
      const withRestorable = new Map([...liveHere, ...(restorableByPackage.get(name) ?? [])]);
      return { name, usedBytes: total(liveHere), usedWithRestorableBytes: total(withRestorable) };
    });
    const usedBytes = total(liveAll);
    const deleted = new Set<string>(await this.recentlyDeletedBlobList(from, to, this.pendingSince()));
    const pendingBytes = linked.rows.filter((row) => !liveAll.has(row.digest) && !deleted.has(row.digest)).reduce((sum, row) => sum + Number(row.size), 0);
    return { namespace, usedBytes, usedWithRestorableBytes: total(withRestorableAll), pendingBytes, chargedBytes: usedBytes + pendingBytes, packages };
  }

  /** Live bytes of every namespace that has any, in one grouped query (for `/metrics`). */
  async usedByNamespace(): Promise<Map<string, number>> {
    const namespace = dialectOf(this.db).firstPathSegment('r.name');
    const { rows } = await sql<{ namespace: string; bytes: number | string }>`
      select held.namespace, sum(held.size) as bytes from (
        select ${namespace} as namespace, mr.referenced_digest as digest, b.size from manifest_references mr
        join repositories r on r.id = mr.repository_id
        join blobs b on b.digest = mr.referenced_digest
        where mr.kind = 'blob'
        union
        select ${namespace} as namespace, m.digest, m.size from manifests m
        join repositories r on r.id = m.repository_id
      ) held
      where held.namespace <> ''
      group by held.namespace`.execute(this.db);
    return new Map(rows.map((row) => [row.namespace, Number(row.bytes)]));
  }

  /**
   * The blobs and manifests of deleted, restorable versions, by package name. Their manifests are
   * no longer in the registry's tables, only in the version's snapshot, so they are parsed here.
   */
  private async restorable(from: string, to: string): Promise<Map<string, Map<string, number>>> {
    const versions = await this.db
      .selectFrom('package_versions')
      .innerJoin('packages', 'packages.id', 'package_versions.package_id')
      .select(['packages.name', 'package_versions.digest', 'package_versions.media_type', 'package_versions.content'])
      .where('packages.name', '>=', from)
      .where('packages.name', '<', to)
      .where('package_versions.deleted_at', 'is not', null)
      .where('package_versions.content', 'is not', null)
      .execute();
    const byPackage = new Map<string, Map<string, number>>();
    const declared = new Map<Digest, number>();
    const blobsOf: Array<{ name: string; digests: Digest[] }> = [];
    for (const version of versions) {
      const content = Buffer.from(version.content!);
      const digests = byPackage.get(version.name) ?? new Map<string, number>();
      byPackage.set(version.name, digests);
      digests.set(version.digest, content.length);
      let blobs: Array<{ digest: Digest; size: number }>;
      try {
        blobs = parseManifest(content, version.media_type).blobs;
      } catch {
        // It was valid when pushed; a snapshot that no longer parses counts its own bytes only.
        continue;
      }
      for (const blob of blobs) declared.set(blob.digest, blob.size);
      blobsOf.push({ name: version.name, digests: blobs.map((blob) => blob.digest) });
    }
    // The stored size is the truth; the descriptor's stands in for a blob no longer stored.
    const stored = await this.blobSizes([...declared.keys()]);
    for (const { name, digests } of blobsOf) {
      const sizes = byPackage.get(name)!;
      for (const digest of digests) sizes.set(digest, stored.get(digest) ?? declared.get(digest) ?? 0);
    }
    return byPackage;
  }

  /**
   * The blobs of versions deleted within the pending window, as a table: their links may be recent,
   * yet they are restorable, not pending. Few versions are deleted in a window, so parsing them
   * costs little even where a namespace has thousands of manifests.
   */
  private async recentlyDeletedBlobs(from: string, to: string, since: string): Promise<RawBuilder<{ value: string }>> {
    return dialectOf(this.db).jsonArrayElements(JSON.stringify(await this.recentlyDeletedBlobList(from, to, since)));
  }

  private async recentlyDeletedBlobList(from: string, to: string, since: string): Promise<Digest[]> {
    const versions = await this.db
      .selectFrom('package_versions')
      .innerJoin('packages', 'packages.id', 'package_versions.package_id')
      .select(['package_versions.media_type', 'package_versions.content'])
      .where('packages.name', '>=', from)
      .where('packages.name', '<', to)
      .where('package_versions.deleted_at', '>=', since)
      .where('package_versions.content', 'is not', null)
      .execute();
    return versions.flatMap((version) => {
      try {
        return parseManifest(Buffer.from(version.content!), version.media_type).blobs.map((blob) => blob.digest);
      } catch {
        return [];
      }
    });
  }

  /** Each distinct manifest of the namespace once, though two of its repositories hold it. */
  private manifestBytes(from: string, to: string): RawBuilder<unknown> {
    return sql`
      select distinct m.digest, m.size from manifests m
      join repositories r on r.id = m.repository_id
      where r.name >= ${from} and r.name < ${to}`;
  }

  private pendingSince(): string {
    return new Date(this.clock().getTime() - this.pendingMs).toISOString();
  }
}

/** The repository names of a namespace, `ns/` up to `ns0` ('0' follows '/'): an index range. */
function namespaceRange(namespace: string): { from: string; to: string } {
  return { from: `${namespace}/`, to: `${namespace}0` };
}

function total(sizes: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const size of sizes.values()) sum += size;
  return sum;
}
