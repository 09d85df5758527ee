import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authorizer } from '../auth/access.js';
import type { RepositoryName } from '../oci/names.js';
import type { RegistryServices } from './services.js';

export interface RegistryRouteOptions {
  services: RegistryServices;
  authorizer: Authorizer;
}

/** What the router extracted from the path: the repository and the trailing reference, if any. */
export interface RoutePath {
  name: RepositoryName;
  reference: string;
}

export type RegistryHandler = (
  context: RegistryRouteOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  path: RoutePath,
) => Promise<unknown>;

/** `Content-Length` of the request, undefined when absent (chunked) or not a number. */
export function declaredLength(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * Whether the request carries a body: a non-zero Content-Length, or chunked transfer coding (in
 * HTTP/2, which has no chunked coding, a stream that the headers did not end).
 */
export function hasBody(request: FastifyRequest): boolean {
  const length = declaredLength(request);
  if (length !== undefined) return length > 0;
  const http2Stream = (request.raw as { stream?: { endAfterHeaders: boolean } }).stream;
  return http2Stream ? !http2Stream.endAfterHeaders : request.headers['transfer-encoding'] !== undefined;
}

/** A single query parameter (the first, when repeated). */
export function queryParam(request: FastifyRequest, key: string): string | undefined {
  const value = (request.query as Record<string, string | string[] | undefined>)[key];
  return Array.isArray(value) ? value[0] : value;
}
