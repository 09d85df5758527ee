import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';
import { statusOf } from './registry-status.js';
import { readSmallBody } from './read-body.js';
import { sendJson } from './send-json.js';

/** An error of the JSON APIs under `/api`, answered in GitHub's shape `{"message": ...}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The error handler of a JSON API plugin. `fromDomain` maps the plugin's own service errors;
 * client errors (an oversized body, a bad header) keep their 4xx status; anything else is a 500,
 * logged once with the request id.
 */
export function apiErrorHandler(fromDomain: (error: unknown) => ApiError | undefined = () => undefined, extra: Record<string, unknown> = {}) {
  return async (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = error instanceof ApiError ? error : (fromDomain(error) ?? fromClientError(error));
    if (mapped) return sendJson(reply.code(mapped.status).headers(mapped.headers), { message: mapped.message, ...extra });
    request.log.error({ err: error }, 'unexpected error');
    return sendJson(reply.code(500), { message: 'internal server error', requestId: request.id });
  };
}

/**
 * A request body that must be a JSON object (at most 64 KiB; larger is 413). With `optional`, an
 * empty body is an empty object, for endpoints whose every field has a default.
 */
export async function readJsonObject(request: FastifyRequest, { optional = false }: { optional?: boolean } = {}): Promise<Record<string, unknown>> {
  const text = await readSmallBody(request);
  if (optional && text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new ApiError(400, 'Problems parsing JSON: the body must be a JSON object');
}

function fromClientError(error: unknown): ApiError | undefined {
  if (error instanceof RegistryError) return new ApiError(statusOf(error), error.message, error.headers);
  const status = (error as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new ApiError(status, (error as Error).message);
  return undefined;
}
