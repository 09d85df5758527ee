import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

/**
 * Sends the reply's status and headers, then lets `writeBody` write the body straight into the
 * response, for bodies that a stream given to `reply.send` would cost more to produce (a blob
 * sent from reused buffers). Fastify steps aside (`hijack`); the request is still logged and
 * counted, since those hooks run when the response finishes. Once the headers are out, a failure
 * can only cut the connection, which tells the client the body is incomplete.
 */
export async function replyWithBody(reply: FastifyReply, writeBody: (response: ServerResponse) => Promise<void>): Promise<void> {
  reply.hijack();
  const response = reply.raw;
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) response.setHeader(name, value);
  response.writeHead(reply.statusCode);
  try {
    await writeBody(response);
    response.end();
  } catch (error) {
    if (!response.destroyed) reply.log.warn({ err: error }, 'the response body failed after its headers were sent');
    response.destroy();
  }
}
