import type { Writable } from 'node:stream';

/** One chunk at a time into a writable, failing as soon as the writable closes or errors. */
export class ChunkWriter {
  private pending: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private rejectPending: ((error: Error) => void) | undefined;
  private readonly onClose = () => this.fail(prematureClose());
  private readonly onError = (error: Error) => this.fail(error);

  constructor(private readonly destination: Writable) {
    if (destination.destroyed) this.failure = prematureClose();
    destination.on('close', this.onClose);
    destination.on('error', this.onError);
  }

  write(chunk: Buffer): void {
    // After a failure `previous` rejects; nothing more is written.
    if (this.failure) return;
    this.pending = new Promise<void>((resolve, reject) => {
      this.rejectPending = reject;
      this.destination.write(chunk, (error) => {
        this.rejectPending = undefined;
        if (error) reject(error);
        else resolve();
      });
    });
    // The sender reads the next chunk before it awaits this write: a failure meanwhile is handled then.
    this.pending.catch(() => undefined);
  }

  previous(): Promise<void> {
    return this.failure ? Promise.reject(this.failure) : this.pending;
  }

  release(): void {
    this.destination.off('close', this.onClose);
    this.destination.off('error', this.onError);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.rejectPending?.(this.failure);
  }
}

function prematureClose(): Error {
  return Object.assign(new Error('the destination closed before the blob was sent'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}
