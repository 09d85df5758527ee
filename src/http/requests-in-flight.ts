import type { FastifyInstance } from 'fastify';

/**
 * The requests a node is serving, each counted from its start until its response is closed (sent,
 * or cut off with the connection), so that background work can yield to them.
 */
export class RequestsInFlight {
  count = 0;
  /** When (performance.now()) a request last started or ended. */
  private lastActivity = Number.NEGATIVE_INFINITY;

  /** How long the node has been serving no request, in ms; 0 while it serves one. */
  quietMs(now = performance.now()): number {
    return this.count > 0 ? 0 : now - this.lastActivity;
  }

  track(app: FastifyInstance): void {
    app.addHook('onRequest', (_request, reply, done) => {
      this.count += 1;
      this.lastActivity = performance.now();
      reply.raw.once('close', () => {
        this.count -= 1;
        this.lastActivity = performance.now();
      });
      done();
    });
  }
}
