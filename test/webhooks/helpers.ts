import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

/** A request a receiver got. */
export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: Record<string, any>;
  event: string;
  guid: string;
  /** Whether `X-Hub-Signature-256` is the HMAC of the body with the secret the receiver was made with. */
  signed: boolean;
}

export interface Receiver {
  /** `http://127.0.0.1:PORT/hook` (or `host` instead of 127.0.0.1). */
  url: string;
  port: number;
  received: Received[];
  /** The status of each next answer, one per request, then 204. */
  answers: number[];
  /** Stops listening (the port stays known): deliveries fail to connect until `start`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** The requests of one event, in order of arrival. */
  of(event: string): Received[];
}

/** An HTTP receiver on loopback that records what it gets and checks signatures with `secret`. */
export async function receiver(t: TestContext, secret: string, options: { host?: string; port?: number } = {}): Promise<Receiver> {
  const host = options.host ?? '127.0.0.1';
  const received: Received[] = [];
  const answers: number[] = [];
  let server: http.Server | undefined;
  let port = options.port ?? 0;
  const listen = async () => {
    server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const expected = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
        received.push({
          path: request.url ?? '',
          headers: request.headers,
          body,
          json: JSON.parse(body) as Record<string, any>,
          event: String(request.headers['x-github-event']),
          guid: String(request.headers['x-github-delivery']),
          signed: request.headers['x-hub-signature-256'] === expected,
        });
        response.statusCode = answers.shift() ?? 204;
        response.end(response.statusCode >= 400 ? 'not now' : '');
      });
    });
    // Listening again on its port after a stop fails, rather than crashing the file, if another
    // test's server took the port meanwhile.
    await new Promise<void>((resolve, reject) => server!.once('error', reject).listen(port, host, resolve));
    port = (server!.address() as AddressInfo).port;
  };
  const stop = async () => {
    const current = server;
    server = undefined;
    if (!current) return;
    current.closeAllConnections();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await listen();
  t.after(stop);
  return {
    get url() {
      return `http://${host}:${port}/hook`;
    },
    get port() {
      return port;
    },
    received,
    answers,
    stop,
    start: listen,
    of: (event) => received.filter((request) => request.event === event),
  };
}
