import { sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { SignInLimiter } from './rate-limiter.js';

/**
 * The failure limit of `FailureLimiter`, counted in the database, so that a client spreading its
 * guesses over the nodes behind a load balancer meets one limit, not one per node.
 */
export class SharedFailureLimiter implements SignInLimiter {
  constructor(
    private readonly db: Database,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async retryAfter(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const now = this.now();
    const blocked = await this.db
      .selectFrom('sign_in_failures')
      .select('reset_at')
      .where('key', 'in', keys)
      .where('count', '>=', this.limit)
      .where('reset_at', '>', new Date(now).toISOString())
      .execute();
    return blocked.reduce((wait, row) => Math.max(wait, Math.ceil((Date.parse(row.reset_at) - now) / 1000)), 0);
  }

  async fail(keys: readonly string[]): Promise<void> {
    const now = new Date(this.now()).toISOString();
    const resetAt = new Date(this.now() + this.windowMs).toISOString();
    for (const key of keys) {
      // One statement, so that failures counted at once on several nodes all count.
      await this.db
        .insertInto('sign_in_failures')
        .values({ key, count: 1, reset_at: resetAt })
        .onConflict((conflict) =>
          conflict.column('key').doUpdateSet({
            count: sql<number>`case when sign_in_failures.reset_at <= ${now} then 1 else sign_in_failures.count + 1 end`,
            reset_at: sql<string>`case when sign_in_failures.reset_at <= ${now} then ${resetAt} else sign_in_failures.reset_at end`,
          }),
        )
        .execute();
    }
  }

  /** Forgets windows that have ended (from the periodic sweep). */
  async prune(): Promise<void> {
    await this.db.deleteFrom('sign_in_failures').where('reset_at', '<=', new Date(this.now()).toISOString()).execute();
  }
}
