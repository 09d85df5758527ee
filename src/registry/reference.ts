import { type Digest, parseDigest } from '../oci/digest.js';
import { isTag } from '../oci/names.js';

/** A manifest `<reference>`: a tag or a digest (OCI Distribution "Pulling manifests"). */
export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

/**
 * Reads a reference from the URL. Anything with a colon is taken as a digest and must be valid
 * (DIGEST_INVALID otherwise); anything else must be a tag, or undefined is returned so the caller
 * can answer as it should (404 on reads, 400 on a push).
 */
export function parseReference(value: string): Reference | undefined {
  if (value.includes(':')) return { kind: 'digest', digest: parseDigest(value) };
  return isTag(value) ? { kind: 'tag', tag: value } : undefined;
}
