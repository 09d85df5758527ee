/**
 * Counts failed sign-ins per key (a client address) in a fixed window. A key that reached the
 * limit is refused until its window ends, whether or not the next attempt is right: otherwise the
 * limit would still let an attacker learn when a guess succeeds.
 *
 * Keys are never user names: anyone can send a user's name, so a limit on it would let anyone
 * lock that user out, and a limit that a correct credential passes would still tell a guesser
 * which guess was right. Tokens are too long to guess; passwords are hashed with scrypt, which
 * bounds how fast any number of addresses can try them.
 */
export interface SignInLimiter {
  /** Seconds until the first blocked key is allowed again, or 0 when none of them is blocked. */
  retryAfter(keys: readonly string[]): number | Promise<number>;
  /** Counts a failed sign-in against each key. */
  fail(keys: readonly string[]): void | Promise<void>;
}

/** The limiter of one node, in its memory. */
export class FailureLimiter implements SignInLimiter {
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

  private prune(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}
