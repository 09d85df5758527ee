import type { Transaction } from 'kysely';
import type { Schema } from '../db/schema.js';

/**
 * The digests that the deleted, still restorable, versions of a repository's package mention in
 * their manifests: a restore stores those manifests again, which needs their blobs linked. Every
 * digest in the manifest's text counts (layers, config, and also a subject or an annotation): a
 * blob kept too long costs bytes until the version is purged, a blob removed too soon a restore.
 */
export async function restorableBlobs(trx: Transaction<Schema>, repositoryId: number): Promise<Set<string>> {
  const rows = await trx
    .selectFrom('package_versions as pv')
    .innerJoin('packages as p', 'p.id', 'pv.package_id')
    .innerJoin('repositories as r', 'r.name', 'p.name')
    .select('pv.content')
    .where('r.id', '=', repositoryId)
    .where('pv.deleted_at', 'is not', null)
    .where('pv.content', 'is not', null)
    .execute();
  const digests = new Set<string>();
  for (const { content } of rows) {
    for (const [digest] of Buffer.from(content as Uint8Array).toString('utf8').matchAll(digestPattern)) digests.add(digest);
  }
  return digests;
}

const digestPattern = /sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}/g;
