import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Asks `probe` until `done` holds of its answer, and returns that answer; after `timeoutMs`
 * returns the last answer, for the caller's assertion to report. For what the server finishes
 * after the client has its answer (a metric counted once the response is written, a file closed
 * once a request is torn down), or a worker thread reports: waiting for the thing itself rather
 * than for a fixed time, with a bound far above what a loaded machine needs.
 */
export async function eventually<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() >= deadline) return value;
    await sleep(5);
  }
}
