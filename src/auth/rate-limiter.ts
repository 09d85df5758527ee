/**
 * Counts failed sign-ins per client address in a fixed window. An address that reached the limit
 * is refused until its window ends, whether or not its next attempt is right: otherwise the limit
 * would still let an attacker learn when a guess succeeds.
 *
 * There is deliberately no count per user name: anyone can send a user's name, so a limit on it
 * would let anyone lock that user out, and a limit that a correct credential passes would still
 * tell a guesser which guess was right. Tokens are too long to guess; passwords are hashed with
 * scrypt, which bounds how fast any number of addresses can try them.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the address is allowed again, or 0 when it is not blocked. */
  retryAfter(address: string): number {
    const window = this.windows.get(address);
    if (!window) return 0;
    const now = this.now();
    if (window.resetAt <= now) {
      this.windows.delete(address);
      return 0;
    }
    return window.count >= this.limit ? Math.ceil((window.resetAt - now) / 1000) : 0;
  }

  fail(address: string): void {
    const now = this.now();
    const window = this.windows.get(address);
    if (!window || window.resetAt <= now) this.windows.set(address, { count: 1, resetAt: now + this.windowMs });
    else window.count += 1;
    if (this.windows.size > 100_000) this.prune(now);
  }

  private prune(now: number): void {
    for (const [address, window] of this.windows) if (window.resetAt <= now) this.windows.delete(address);
  }
}
