import type { FastifyReply } from 'fastify';

/**
 * Sends JSON with exactly the given Content-Type. Fastify appends `; charset=utf-8` to JSON types
 * sent as strings or objects; some clients (and the OCI conformance suite) compare the type whole,
 * so the body goes out as a Buffer, which Fastify leaves alone.
 */
export function sendJson(reply: FastifyReply, body: unknown, contentType = 'application/json'): FastifyReply {
  return reply.header('Content-Type', contentType).send(Buffer.from(JSON.stringify(body)));
}
