/**
 * Names of the runs in progress in this process: a second run of a name is refused while the
 * first one runs, as a job that must not overlap itself (a sweep that outlasts its interval) or a
 * second writer of one upload needs.
 */
export class LocalLocks {
  private readonly running = new Set<string>();

  async exclusively<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
    if (this.running.has(name)) return undefined;
    this.running.add(name);
    try {
      return await run();
    } finally {
      this.running.delete(name);
    }
  }
}
