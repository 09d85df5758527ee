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
 * Reads a small request body whole (a manifest, a form), with the body timeout and the client's
 * going away as for `requestBody`; undefined, without reading the rest, as soon as it holds more
 * than `maxBytes`. It listens to the request itself: for a body this small, a stream and an async
 * iterator around the request cost more CPU than reading it.
 */
export function readRequestAtMost(request: FastifyRequest, maxBytes: number): Promise<Buffer | undefined> {
  const raw = request.raw;
  if (raw.readableEnded) return Promise.resolve(Buffer.alloc(0));
  const timeoutMs = request.server.bodyTimeout;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (error: Error | undefined, body?: Buffer) => {
      clearTimeout(timer);
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onError);
      raw.off('close', onClose);
      if (!raw.readableEnded) raw.pause();
      if (error) reject(error);
      else resolve(body);
    };
    const onData = (chunk: Buffer) => {
      timer.refresh();
      total += chunk.length;
      if (total > maxBytes) settle(undefined);
      else chunks.push(chunk);
    };
    const onEnd = () => settle(undefined, Buffer.concat(chunks, total));
    const onError = (error: Error) => settle(error);
    // A request closes before its end only when the client went away.
    const onClose = () => settle(Object.assign(new Error('the client closed the connection before the end of the request body'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    const timer = setTimeout(() => settle(new BodyTimeoutError(timeoutMs)), timeoutMs);
    timer.unref();
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', onError);
    raw.once('close', onClose);
  });
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
