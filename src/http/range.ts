import type { ByteRange } from '../storage/blob-store.js';

/**
 * Parses a `Range: bytes=...` request header against a resource of `size` bytes (RFC 9110 14.2).
 * Returns undefined to serve the whole resource, 'unsatisfiable' for a 416, or the single range to
 * serve with 206. The whole resource is served for no header, several ranges (which a server may
 * ignore), and a header that is not a valid range at all (`bytes=abc`, `bytes=-`, or `bytes=5-3`,
 * whose last position is before its first: RFC 9110 14.1.1 calls it invalid, and 14.2 has a
 * server ignore an invalid range set). Only valid ranges past the end are unsatisfiable.
 */
export function parseRangeHeader(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first !== '' && last !== '' && Number(last) < Number(first)) return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** Parses a chunk's `Content-Range: <start>-<end>` (OCI uploads use no `bytes ` unit). */
export function parseContentRange(header: string | undefined): { start: number; end: number } | 'invalid' | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:bytes )?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) return 'invalid';
  const start = Number(match[1]);
  const end = Number(match[2]);
  return end < start ? 'invalid' : { start, end };
}
