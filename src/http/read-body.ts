import type { FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';

/**
 * Reads a small request body (a form, a JSON document) into a string. The app registers no body
 * parsers (blobs are streamed by their handlers), so the few routes with small bodies read them here.
 */
export async function readSmallBody(request: FastifyRequest, maxBytes = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new RegistryError('SIZE_INVALID', `the request body is larger than ${maxBytes} bytes`, { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
