import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Holds background work back while the node is busy serving requests: `pass` resolves once the
 * node is idle, or once work has been held back for `maxWaitMs` in a row, after which everything
 * passes until the node is next seen idle. A burst of pushes then has the CPUs to itself and its
 * webhook deliveries follow it; under sustained load they lag by at most `maxWaitMs`.
 */
export class IdleGate {
  private heldSince: number | undefined;

  constructor(
    private readonly busy: () => boolean,
    private readonly maxWaitMs: number,
    private readonly clock: () => number = Date.now,
    private readonly pollMs = 10,
  ) {}

  /** Resolves when the work may go; at once when `released` answers true (the work is stopping). */
  async pass(released: () => boolean = () => false): Promise<void> {
    for (;;) {
      if (!this.busy()) {
        this.heldSince = undefined;
        return;
      }
      const now = this.clock();
      this.heldSince ??= now;
      if (now - this.heldSince >= this.maxWaitMs || released()) return;
      await sleep(this.pollMs);
    }
  }
}
