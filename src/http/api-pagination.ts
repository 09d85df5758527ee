import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './api-error.js';

/** A page of a GitHub-style list: `page` counts from 1. */
export interface Page {
  page: number;
  perPage: number;
}

/** GitHub's `page` (from 1) and `per_page` (at most 100). */
export function pageOf(query: Record<string, string | undefined>, defaultPerPage: number): Page {
  const page = query['page'] === undefined ? 1 : Number(query['page']);
  const perPage = query['per_page'] === undefined ? defaultPerPage : Number(query['per_page']);
  if (!Number.isSafeInteger(page) || page < 1) throw new ApiError(422, 'page must be a positive integer');
  if (!Number.isSafeInteger(perPage) || perPage < 1) throw new ApiError(422, 'per_page must be a positive integer');
  return { page, perPage: Math.min(perPage, 100) };
}

/** The items of one page of a list held whole. */
export function pageItems<T>(items: readonly T[], page: Page): T[] {
  return items.slice((page.page - 1) * page.perPage, page.page * page.perPage);
}

/** GitHub's `Link` header: first, prev, next and last pages. */
export function setLink(reply: FastifyReply, request: FastifyRequest, page: Page, total: number): void {
  const last = Math.max(1, Math.ceil(total / page.perPage));
  const [path, search] = request.url.split('?', 2) as [string, string | undefined];
  const link = (n: number, rel: string) => {
    const params = new URLSearchParams(search ?? '');
    params.set('page', String(n));
    params.set('per_page', String(page.perPage));
    return `<${path}?${params.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page.page < last) links.push(link(page.page + 1, 'next'), link(last, 'last'));
  if (page.page > 1) links.push(link(1, 'first'), link(Math.min(page.page - 1, last), 'prev'));
  if (links.length > 0) reply.header('Link', links.join(', '));
}
