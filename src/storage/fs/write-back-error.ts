/**
 * The disk reported that bytes written to an upload may not be on it: an fsync failed. The kernel
 * reports a write-back error once, so a later sync of the same file can succeed while the bytes are
 * lost; the upload can no longer be trusted and must be started again.
 */
export class WriteBackError extends Error {
  constructor(cause: unknown) {
    super('the disk did not store the upload’s bytes', { cause });
    this.name = 'WriteBackError';
  }
}
