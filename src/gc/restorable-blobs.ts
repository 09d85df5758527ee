import type { Database } from '../db/schema.js';

/**
 * The digests that the deleted, still restorable, versions of a repository's package mention in
 * their manifests: a restore stores those manifests again, which needs their blobs linked. Every
 * digest in the manifest's text counts (layers, config, and also a subject or an annotation): a
 * blob kept too long costs bytes until the version is purged, a blob removed too soon a restore.
 *
 * One collection asks for each batch of links it removes, inside that batch's transaction (a dry
 * run outside any), since a version may be deleted meanwhile. The versions are listed each time,
 * but a version's digests are read from its manifest once: its kept manifest is that of its
 * digest, the same bytes whenever it is kept. Reading them all for every batch would hold each
 * batch's transaction, and the requests waiting behind it, for as long as reading a repository's
 * deleted manifests takes.
 */
export class RestorableBlobs {
  private readonly digestsOfVersion = new Map<number, readonly string[]>();

  async of(db: Database, repositoryId: number): Promise<Set<string>> {
    const versions = await deletedVersions(db, repositoryId).select('pv.id').execute();
    const unread = versions.map((version) => version.id).filter((id) => !this.digestsOfVersion.has(id));
    if (unread.length > 0) {
      const rows = await deletedVersions(db, repositoryId).select(['pv.id', 'pv.content']).where('pv.id', 'in', unread).execute();
      for (const { id, content } of rows) this.digestsOfVersion.set(id, digestsIn(content as Uint8Array));
    }
    const digests = new Set<string>();
    for (const { id } of versions) for (const digest of this.digestsOfVersion.get(id) ?? []) digests.add(digest);
    return digests;
  }
}

function deletedVersions(db: Database, repositoryId: number) {
  // By the repository's packages first, so that the deleted versions are searched by package in
  // their index rather than all of them scanned.
  const packages = db.selectFrom('packages as p').innerJoin('repositories as r', 'r.name', 'p.name').select('p.id').where('r.id', '=', repositoryId);
  return db
    .selectFrom('package_versions as pv')
    .where('pv.package_id', 'in', packages)
    .where('pv.deleted_at', 'is not', null)
    .where('pv.content', 'is not', null);
}

function digestsIn(content: Uint8Array): string[] {
  return [...new Set(Array.from(Buffer.from(content).toString('utf8').matchAll(digestPattern), ([digest]) => digest))];
}

const digestPattern = /sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}/g;
