import type { SelectQueryBuilder } from 'kysely';
import type { Database, Schema } from '../db/schema.js';

/**
 * The manifests the indexes of `repository` list, one row per index and listed manifest
 * (`manifest_references.manifest_digest` lists `manifest_references.referenced_digest`); the
 * caller selects the columns and narrows. References of kind `blob` are an image's config and
 * layers, not listings.
 */
export function indexListings(db: Database, repository: string): SelectQueryBuilder<Schema, 'manifest_references' | 'repositories', object> {
  return db
    .selectFrom('manifest_references')
    .innerJoin('repositories', 'repositories.id', 'manifest_references.repository_id')
    .where('repositories.name', '=', repository)
    .where('manifest_references.kind', '=', 'manifest');
}
