import type { FastifyInstance } from 'fastify';
import type { NodeActivity } from '../webhooks/idle-gate.js';

/**
 * The requests a node is serving, each counted from its start until its response is closed (sent,
 * or cut off with the connection), so that background work can yield to them. The node is idle
 * once it has served nothing for `quietAfterMs`: clients of a busy node send their next requests
 * moments after the answers (all at once after a group commit), so a lull shorter than that is
 * still the same burst.
 */
export class RequestsInFlight implements NodeActivity {
  private count = 0;
  /** When (performance.now()) a request last started or ended. */
  private lastActivity = Number.NEGATIVE_INFINITY;
  /** When the last idle span ended (a request started after one). */
  private idleEndedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly quietAfterMs = 50) {}

  lastIdleAt(now = performance.now()): number {
    return this.idleAt(now) ? now : this.idleEndedAt;
  }

  track(app: FastifyInstance): void {
    app.addHook('onRequest', (_request, reply, done) => {
      const now = performance.now();
      if (this.idleAt(now)) this.idleEndedAt = now;
      this.count += 1;
      this.lastActivity = now;
      reply.raw.once('close', () => {
        this.count -= 1;
        this.lastActivity = performance.now();
      });
      done();
    });
  }

  private idleAt(now: number): boolean {
    return this.count === 0 && now - this.lastActivity >= this.quietAfterMs;
  }
}
