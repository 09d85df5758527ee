/**
 * Read buffers of one size that senders give back once they are done, for the next to reuse.
 *
 * A pull reads its file through buffers of its own. Allocated for every pull, they became
 * garbage as it ended: memory outside V8's heap that stays resident until a collection, tens of
 * MiB after a client pulled many layers at once. Given back, they are the next pull's, and a
 * burst of pulls allocates only what the pulls running at the same moment hold.
 *
 * A buffer taken back holds the bytes of an earlier pull: a sender sends only what it has just
 * read into it.
 */
export class ReadBuffers {
  private readonly idle: Buffer[] = [];

  constructor(
    readonly bufferBytes: number,
    /** Kept for later pulls; more given back are left to the collector. */
    private readonly keepIdle: number,
  ) {}

  take(): Buffer {
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  /** Only once nothing reads into `buffer` or writes from it any more. */
  giveBack(buffer: Buffer): void {
    if (this.idle.length < this.keepIdle && buffer.length === this.bufferBytes) this.idle.push(buffer);
  }
}
