/**
 * Counts failed sign-ins per key (a client address, a user name) in a fixed window. A key that
 * reached the limit is refused until its window ends, whether or not the next attempt is right:
 * otherwise the limit would still let an attacker learn when a guess succeeds.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the first blocked key is allowed again, or 0 when none of them is blocked. */
  retryAfter(keys: readonly string[]): number {
    const now = this.now();
    let wait = 0;
    for (const key of keys) {
      const window = this.windows.get(key);
      if (!window) continue;
      if (window.resetAt <= now) {
        this.windows.delete(key);
        continue;
      }
      if (window.count >= this.limit) wait = Math.max(wait, Math.ceil((window.resetAt - now) / 1000));
    }
    return wait;
  }

  fail(keys: readonly string[]): void {
    const now = this.now();
    for (const key of keys) {
      const window = this.windows.get(key);
      if (!window || window.resetAt <= now) this.windows.set(key, { count: 1, resetAt: now + this.windowMs });
      else window.count += 1;
    }
    if (this.windows.size > 100_000) this.prune(now);
  }

  reset(key: string): void {
    this.windows.delete(key);
  }

  private prune(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}
