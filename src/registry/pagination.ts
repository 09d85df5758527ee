import type { FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';
import { queryParam } from './route-context.js';

export interface PageRequest {
  limit: number;
  last: string | undefined;
}

/**
 * Reads `n` and `last` (OCI Distribution "Listing Tags"). Without `n` a page holds `defaultLimit`
 * entries; `n` above `maxLimit` is lowered to it, and the `Link` header tells the client to go on.
 */
export function pageRequest(request: FastifyRequest, defaultLimit: number, maxLimit: number): PageRequest {
  const n = queryParam(request, 'n');
  const last = queryParam(request, 'last');
  if (n === undefined || n === '') return { limit: defaultLimit, last: last || undefined };
  if (!/^\d{1,9}$/.test(n)) {
    throw new RegistryError('UNSUPPORTED', `n must be a non-negative integer, got "${n.slice(0, 20)}"`, { condition: 'bad-parameter' });
  }
  return { limit: Math.min(Number(n), maxLimit), last: last || undefined };
}

/**
 * Fetches one entry more than the page to learn whether another page follows, and answers the
 * page with `Link: <path?n=N&last=X>; rel="next"` when it does.
 */
export async function paginate<T extends string>(
  page: PageRequest,
  fetch: (limit: number, last: string | undefined) => Promise<T[] | undefined>,
  path: string,
): Promise<{ items: T[]; link: string | undefined } | undefined> {
  if (page.limit === 0) return (await fetch(0, page.last)) && { items: [], link: undefined };
  const rows = await fetch(page.limit + 1, page.last);
  if (!rows) return undefined;
  const items = rows.slice(0, page.limit);
  const lastItem = items[items.length - 1];
  const link =
    rows.length > page.limit && lastItem !== undefined
      ? `<${path}?n=${page.limit}&last=${encodeURIComponent(lastItem)}>; rel="next"`
      : undefined;
  return { items, link };
}
