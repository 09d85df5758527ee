import { setTimeout as sleep } from 'node:timers/promises';

/** What the gate needs to know of the node's requests. */
export interface NodeActivity {
  /** When the node was last idle, on the gate's clock: now while it is. */
  lastIdleAt(): number;
}

/**
 * Holds background work back while the node is busy serving requests: `pass` resolves once the
 * node is idle, or once work has been held back for `maxWaitMs` in a row, after which everything
 * passes until the node is next idle (whether or not work was waiting then). A burst of pushes
 * then has the CPUs to itself and its webhook deliveries follow it; under sustained load they lag
 * by at most `maxWaitMs`.
 */
export class IdleGate {
  private heldSince: number | undefined;

  constructor(
    private readonly activity: NodeActivity,
    private readonly maxWaitMs: number,
    private readonly clock: () => number = () => performance.now(),
    private readonly pollMs = 10,
  ) {}

  /** Resolves when the work may go; at once when `released` answers true (the work is stopping). */
  async pass(released: () => boolean = () => false): Promise<void> {
    for (;;) {
      const now = this.clock();
      const idleAt = this.activity.lastIdleAt();
      if (idleAt >= now) {
        this.heldSince = undefined;
        return;
      }
      // A burst that began after the last hold is held anew.
      if (this.heldSince === undefined || idleAt > this.heldSince) this.heldSince = now;
      if (now - this.heldSince >= this.maxWaitMs || released()) return;
      await sleep(this.pollMs);
    }
  }
}
