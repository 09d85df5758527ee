import type { FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';
import { readRequestAtMost } from './request-body.js';

/**
 * Reads a small request body (a form, a JSON document) into a string. The app registers no body
 * parsers (blobs are streamed by their handlers), so the few routes with small bodies read them here.
 */
export async function readSmallBody(request: FastifyRequest, maxBytes = 64 * 1024): Promise<string> {
  const body = await readRequestAtMost(request, maxBytes);
  if (!body) throw new RegistryError('SIZE_INVALID', `the request body is larger than ${maxBytes} bytes`, { condition: 'too-large' });
  return body.toString('utf8');
}
