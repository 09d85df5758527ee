import { digestOf } from '../../src/oci/digest.js';

/** The `sha256:<hex>` digest of bytes or of a string's UTF-8, as the registry computes it. */
export function sha256(data: string | Uint8Array): string {
  return digestOf(data, 'sha256');
}

/** The `sha512:<hex>` digest, for the algorithm clients may choose instead. */
export function sha512(data: string | Uint8Array): string {
  return digestOf(data, 'sha512');
}
