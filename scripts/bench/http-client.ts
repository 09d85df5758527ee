import http from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequest {
  method: string;
  /** A path (with query) on the client's base URL, or an absolute URL on the same host. */
  url: string;
  headers?: http.OutgoingHttpHeaders;
  /** A buffer, or a stream piped with backpressure (never buffered by the client). */
  body?: Buffer | Readable;
}

/**
 * A minimal keep-alive HTTP/1.1 client over node:http, so the load generator costs as little as
 * possible: one Agent per target with enough sockets for the highest concurrency used, no
 * redirects, no decompression, no body parsing.
 */
export class HttpClient {
  readonly agent: http.Agent;
  private readonly base: URL;
  /** Added to every request (an `Authorization` header, when the bench runs with credentials). */
  defaultHeaders: http.OutgoingHttpHeaders = {};

  constructor(baseUrl: string, maxSockets = 128) {
    this.base = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  }

  get origin(): string {
    return this.base.origin;
  }

  request(options: HttpRequest): Promise<HttpResponse> {
    const target = new URL(options.url, this.base);
    return new Promise<HttpResponse>((resolve, reject) => {
      const request = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method: options.method,
          agent: this.agent,
          headers: { ...this.defaultHeaders, ...options.headers },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      const body = options.body;
      if (body === undefined) request.end();
      else if (Buffer.isBuffer(body)) request.end(body);
      else pipeline(body, request).catch(reject);
    });
  }

  /** Like `request`, but fails unless the status is one of `expected`. */
  async expect(expected: number | number[], options: HttpRequest): Promise<HttpResponse> {
    return checkStatus(expected, options, await this.request(options));
  }

  close(): void {
    this.agent.destroy();
  }
}

/** `response`, unless its status is not one of `expected`. */
export function checkStatus(expected: number | number[], request: HttpRequest, response: HttpResponse): HttpResponse {
  const allowed = Array.isArray(expected) ? expected : [expected];
  if (!allowed.includes(response.status)) {
    const text = response.body.toString('utf8', 0, Math.min(response.body.length, 500));
    throw new Error(`${request.method} ${request.url.slice(0, 160)}: expected ${allowed.join('/')}, got ${response.status} ${text}`);
  }
  return response;
}

/**
 * Runs `count` tasks with at most `concurrency` in flight. Returns each task's latency in ms.
 * The first failure stops the pool and is rethrown.
 */
export async function runPool(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = new Array<number>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const start = performance.now();
      await task(index);
      latencies[index] = performance.now() - start;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return latencies;
}

/**
 * Keeps `concurrency` tasks in flight for `durationMs` (and never more than `maxRequests` in all),
 * and returns the completed count, elapsed seconds and sorted latencies in ms.
 */
export async function runForDuration(
  durationMs: number,
  concurrency: number,
  task: () => Promise<void>,
  maxRequests = 5_000_000,
): Promise<{ count: number; seconds: number; latencies: Float64Array }> {
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + durationMs;
  let started = 0;
  const worker = async () => {
    while (performance.now() < deadline && started < maxRequests) {
      started++;
      const begin = performance.now();
      await task();
      latencies.push(performance.now() - begin);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  return { count: latencies.length, seconds, latencies: Float64Array.from(latencies).sort() };
}
