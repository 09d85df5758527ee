import type { QueryResult } from 'kysely';

/**
 * Runs a compiled statement at once on the connection a transaction holds, and answers what
 * Kysely's driver would. An engine offers one when its statements run synchronously on a single
 * connection (SQLite): there, Kysely's executor (its connection provider, its locks, the promises
 * between them) costs about as much as the small statements of a push.
 */
export type DirectRunner = (sql: string, parameters: readonly unknown[]) => QueryResult<unknown>;

const runners = new WeakMap<object, DirectRunner>();

/**
 * Lets prepared statements run on `transaction` through `runner` while `work` runs, and only then:
 * a statement run on it after its end must fail as Kysely fails it, not run on the connection
 * outside any transaction.
 */
export async function directlyWithin<T>(transaction: object, runner: DirectRunner | undefined, work: () => Promise<T>): Promise<T> {
  if (!runner) return work();
  runners.set(transaction, runner);
  try {
    return await work();
  } finally {
    runners.delete(transaction);
  }
}

/** The runner for statements on `executor`, if it is a transaction that has one. */
export function directRunnerOf(executor: object): DirectRunner | undefined {
  return runners.get(executor);
}
