import type { IncomingMessage } from 'node:http';
import { Readable, finished } from 'node:stream';
import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** How long a request body may send nothing while it is being read, in ms. */
    bodyTimeout: number;
  }
}

/** A request body that sent nothing for the body timeout while the server was waiting for it. */
export class BodyTimeoutError extends Error {
  readonly statusCode = 408;
  readonly code = 'ERR_BODY_TIMEOUT';

  constructor(timeoutMs: number) {
    super(`no bytes of the request body arrived for ${timeoutMs} ms`);
    this.name = 'BodyTimeoutError';
  }
}

/**
 * The request body as a stream for a handler to consume, with two differences from the raw
 * request:
 *
 * - It fails with BodyTimeoutError when the client sends nothing for the body timeout while the
 *   server waits for bytes (not while the consumer holds it back: a slow disk is not an idle
 *   client). A total deadline would cut off large blobs on slow links; idleness is what a stalled
 *   client shows.
 * - Destroying it (a consumer that failed, read enough, or timed out) only stops reading: the
 *   connection stays open so the error can still be answered. The response then closes the
 *   connection (see `closeIfBodyUnread`) instead of reading the rest of the body.
 */
export function requestBody(request: FastifyRequest): Readable {
  return new RequestBody(request.raw, request.server.bodyTimeout);
}

/**
 * For an `onSend` hook: a response sent before its request body has fully arrived closes the
 * connection. Otherwise the server would read and discard the rest for as long as the client
 * cared to send it, and a client that stalled would hold the connection forever.
 */
export function closeIfBodyUnread(request: FastifyRequest, reply: { header(name: string, value: string): unknown }): void {
  // HTTP/2 has no Connection header: there the stream alone ends with the response.
  if (!request.raw.complete && request.raw.httpVersionMajor === 1) reply.header('Connection', 'close');
}

class RequestBody extends Readable {
  /** Whether bytes are awaited: the idle timer counts only then. */
  private waiting = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onData = (chunk: Buffer) => {
    this.timer.refresh();
    if (!this.push(chunk)) this.hold();
  };
  private readonly onEnd = () => {
    clearTimeout(this.timer);
    this.push(null);
  };
  private readonly stopWatching: () => void;

  constructor(
    private readonly raw: IncomingMessage,
    timeoutMs: number,
  ) {
    super();
    // One timer for the whole body, rescheduled by each chunk (cheaper than a new timer each time).
    this.timer = setTimeout(() => {
      if (this.waiting) this.destroy(new BodyTimeoutError(timeoutMs));
    }, timeoutMs);
    this.timer.unref();
    if (raw.readableEnded) {
      this.push(null);
      this.stopWatching = () => undefined;
      return;
    }
    raw.on('data', this.onData);
    raw.once('end', this.onEnd);
    raw.pause();
    // A client that went away before the end: the consumer sees the failure, not a stream that never ends.
    this.stopWatching = finished(raw, { writable: false }, (error) => {
      if (error && !this.destroyed) this.destroy(error);
    });
  }

  override _read(): void {
    if (this.raw.readableEnded) return;
    this.waiting = true;
    this.timer.refresh();
    this.raw.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    this.stopWatching();
    this.raw.off('data', this.onData);
    this.raw.off('end', this.onEnd);
    if (!this.raw.readableEnded) this.raw.pause();
    callback(error);
  }

  /** The consumer is full: stop reading, and stop counting idle time, until it asks for more. */
  private hold(): void {
    this.waiting = false;
    this.raw.pause();
  }
}
