import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';
import { sendError } from './error-reply.js';
import { sendJson } from './send-json.js';

/** The JSON APIs under /api answer errors in GitHub's shape; everything else speaks the registry's envelope. */
function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/**
 * Errors Fastify raises before routing (a malformed percent-encoding in the path): the OCI
 * envelope, with a malformed /v2 path as NAME_INVALID as the router answers escapes it cannot
 * decode; under /api, GitHub's `{"message"}`.
 */
export function answerFrameworkError(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?', 1)[0] ?? '';
  const status = (error as { statusCode?: number }).statusCode ?? 400;
  if (isApiPath(path)) {
    if (status >= 500) request.log.error({ err: error }, 'unexpected error');
    void sendJson(reply.code(status), { message: status >= 500 ? 'internal server error' : error.message });
    return;
  }
  if (error.code === 'FST_ERR_BAD_URL' && path.startsWith('/v2/')) {
    void sendError(new RegistryError('NAME_INVALID', 'malformed percent-encoding in the path'), request, reply);
    return;
  }
  void sendError(error, request, reply);
}

/**
 * Requests Node's HTTP parser refuses before there is a request at all (headers too large, a
 * malformed request line, a header timeout). There is no reply object, so a minimal response is
 * written to the socket in the same envelope as every other error, then the connection closes.
 * The parser's raw bytes are never logged: they may carry an Authorization header.
 */
export function answerClientError(log: FastifyBaseLogger, error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message =
    status === 431 ? 'the request header fields are too large' : status === 408 ? 'the request headers took too long to arrive' : 'malformed HTTP request';
  log.debug({ code: error.code, status }, 'client error');
  const path = requestPath(error.rawPacket);
  const body = JSON.stringify(path !== undefined && isApiPath(path) ? { message } : new RegistryError('UNSUPPORTED', message).toBody());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  // After the response is flushed; destroying at once could discard it.
  socket.destroySoon();
}

/** The path of the request line at the start of the bytes the parser refused, if it is there. */
function requestPath(raw: unknown): string | undefined {
  // Node gives a Buffer, whatever Fastify's types say.
  if (!Buffer.isBuffer(raw)) return undefined;
  const match = /^[A-Z]+ (\/\S*) /.exec(raw.subarray(0, 8192).toString('latin1'));
  return match?.[1]?.split('?', 1)[0];
}
