import type { FastifyInstance } from 'fastify';

/**
 * How many requests a node is serving right now, each counted from its start until its response
 * is closed (sent, or cut off with the connection), so that background work can yield to them.
 */
export class RequestsInFlight {
  count = 0;

  track(app: FastifyInstance): void {
    app.addHook('onRequest', (_request, reply, done) => {
      this.count += 1;
      reply.raw.once('close', () => {
        this.count -= 1;
      });
      done();
    });
  }
}
