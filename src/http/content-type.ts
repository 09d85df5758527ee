import type { FastifyRequest } from 'fastify';
import { isMediaTypeSyntax } from '../oci/media-types.js';

const setAside = new WeakMap<FastifyRequest, string>();

/**
 * An `onRequest` hook for routes that judge the Content-Type themselves. Fastify answers 415 to a
 * Content-Type that is not a media type before the route runs, so before authorization and in
 * its own words; a blob's bytes do not depend on it at all, and a manifest's handler answers it
 * as the manifest error it is. Such a header is taken out of Fastify's sight and kept for
 * `requestContentType`.
 */
export async function setAsideMalformedContentType(request: FastifyRequest): Promise<void> {
  const header = request.headers['content-type'];
  if (header === undefined || isMediaTypeSyntax(header)) return;
  setAside.set(request, header);
  delete request.raw.headers['content-type'];
}

/** The request's Content-Type header as the client sent it. */
export function requestContentType(request: FastifyRequest): string | undefined {
  return setAside.get(request) ?? request.headers['content-type'];
}
