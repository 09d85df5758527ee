import type { ByteRange } from '../storage/blob-store.js';

/**
 * Parses a `Range: bytes=...` request header against a resource of `size` bytes (RFC 9110 14.2).
 * Returns undefined to serve the whole resource (no header, or several ranges, which we may
 * ignore), 'unsatisfiable' for a 416, or the single range to serve with 206.
 */
export function parseRangeHeader(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return header.trim().startsWith('bytes=') && !header.includes(',') ? 'unsatisfiable' : undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return 'unsatisfiable';
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
