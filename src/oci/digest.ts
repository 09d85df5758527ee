import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

/**
 * A content digest `algorithm:encoded` (OCI Image Spec, "Digests"). Only the registered
 * algorithms sha256 and sha512 are accepted; their encoded part is lowercase hex of a fixed length.
 */
export type Digest = string & { readonly __brand: 'Digest' };
export type DigestAlgorithm = 'sha256' | 'sha512';

const hexLength: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
// Stryker disable next-line Regex: the algorithm part must then be sha256 or sha512, which a looser pattern lets through no more of
const digestGrammar = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigestAlgorithm(value: string): value is DigestAlgorithm {
  return value === 'sha256' || value === 'sha512';
}

/** Parses a digest or throws DIGEST_INVALID; the result is safe to use in a file path. */
export function parseDigest(value: string): Digest {
  const problem = problemOf(value);
  if (problem !== undefined) throw new RegistryError('DIGEST_INVALID', problem);
  return value as Digest;
}

export function isDigest(value: string): boolean {
  return problemOf(value) === undefined;
}

/** What is wrong with a digest, or undefined when it is one. */
function problemOf(value: string): string | undefined {
  if (!digestGrammar.test(value)) return `invalid digest "${truncate(value)}"`;
  // Stryker disable next-line StringLiteral: unreachable defaults, the grammar requires a colon with text on both sides
  const [algorithm = '', encoded = ''] = value.split(':', 2);
  if (!isDigestAlgorithm(algorithm)) return `unsupported digest algorithm "${truncate(algorithm)}": use sha256 or sha512`;
  if (encoded.length !== hexLength[algorithm] || !/^[a-f0-9]+$/.test(encoded)) return `invalid ${algorithm} digest "${truncate(value)}"`;
  return undefined;
}

export function digestAlgorithm(digest: Digest): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(':')) as DigestAlgorithm;
}

export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export function createDigester(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}...` : value;
}
