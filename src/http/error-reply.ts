import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';
import { statusOf } from './registry-status.js';
import { BodyTimeoutError } from './request-body.js';
import { sendJson } from './send-json.js';

/** Errors of a request body that ended before it was complete: the client went away or was cut off. */
const bodyCutShort = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'ECONNABORTED', 'EPIPE']);

/**
 * Answers any error in the OCI envelope: registry errors with their code and status, client-caused
 * failures as the nearest code, and anything else as a 500 that is logged once with the request id
 * and tells the client nothing of the internals.
 */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  const registryError = toRegistryError(error);
  if (!registryError) request.log.error({ err: error }, 'unexpected error');
  if (reply.sent || reply.raw.headersSent) return undefined;
  if (!registryError) {
    return sendJson(reply.code(500), {
      errors: [{ code: 'UNKNOWN', message: 'internal server error', detail: { requestId: request.id } }],
    });
  }
  return sendJson(reply.code(frameworkStatus(error) ?? statusOf(registryError)).headers(registryError.headers), registryError.toBody());
}

/** The status of a 4xx error Fastify raised itself (a body it could not parse, one too large). */
function frameworkStatus(error: unknown): number | undefined {
  if (error instanceof RegistryError) return undefined;
  const statusCode = (error as { statusCode?: number }).statusCode;
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 ? statusCode : undefined;
}

function toRegistryError(error: unknown): RegistryError | undefined {
  if (error instanceof RegistryError) return error;
  if (error instanceof BodyTimeoutError) return new RegistryError('BLOB_UPLOAD_INVALID', error.message, { condition: 'timed-out' });
  const code = (error as { code?: string }).code;
  if ((code !== undefined && bodyCutShort.has(code)) || (error as Error).message === 'aborted') {
    return new RegistryError('BLOB_UPLOAD_INVALID', 'the request body ended before it was complete');
  }
  const statusCode = frameworkStatus(error);
  if (statusCode !== undefined) return new RegistryError(statusCode === 413 ? 'SIZE_INVALID' : 'UNSUPPORTED', (error as Error).message);
  return undefined;
}
