import net from 'node:net';
import type { HttpRequest, HttpResponse } from './http-client.js';
import { checkStatus } from './http-client.js';

interface RawResponse extends HttpResponse {
  /** Header names lowercased; a repeated header keeps its last value. */
  headers: Record<string, string>;
}

/**
 * A lean HTTP/1.1 keep-alive client for the bench's request-rate scenarios (small blob pushes,
 * manifest PUTs): each request is written as one buffer of head and body, and the answer is parsed
 * just enough to find its status, headers and end.
 *
 * The load runs on the same CPUs as the registries, so its cost is taken from the faster one.
 * Through node:http the bench took 150-180 µs of CPU per manifest PUT, a third of what Berth's event
 * loop spends on one; this client takes 65-75 µs (`process.cpuUsage` over 3,000 PUTs at c=16).
 */
export class RawHttpClient {
  private readonly idle: RawConnection[] = [];
  private readonly all = new Set<RawConnection>();
  private readonly base: URL;

  constructor(baseUrl: string) {
    this.base = new URL(baseUrl);
  }

  /** Like `HttpClient.expect`, for requests whose body, if any, is a buffer. */
  async expect(expected: number | number[], options: HttpRequest & { body?: Buffer }): Promise<HttpResponse> {
    return checkStatus(expected, options, await this.request(options));
  }

  async request({ method, url, headers = {}, body }: HttpRequest & { body?: Buffer }): Promise<RawResponse> {
    const target = new URL(url, this.base);
    const lines = [`${method} ${target.pathname}${target.search} HTTP/1.1`, `Host: ${this.base.host}`];
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) lines.push(`${name}: ${Array.isArray(value) ? value.join(', ') : value}`);
    }
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-length')) lines.push(`Content-Length: ${body?.length ?? 0}`);
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    let connection = this.idle.pop();
    // A server may close a connection left idle (Berth after 72 s): such ones are dropped here.
    while (connection?.closed) {
      this.all.delete(connection);
      connection = this.idle.pop();
    }
    connection ??= await this.connect();
    try {
      const response = await connection.exchange(body ? [head, body] : [head], method === 'HEAD');
      if (response.headers.connection?.toLowerCase() === 'close') this.drop(connection);
      else this.idle.push(connection);
      return response;
    } catch (error) {
      this.drop(connection);
      throw error;
    }
  }

  /** Connections whose socket is still open (the server has not closed them, or not yet been seen to). */
  get openConnections(): number {
    let open = 0;
    for (const connection of this.all) if (!connection.closed) open++;
    return open;
  }

  close(): void {
    for (const connection of this.all) connection.socket.destroy();
    this.all.clear();
    this.idle.length = 0;
  }

  private async connect(): Promise<RawConnection> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect(Number(this.base.port), this.base.hostname, () => resolve(socket));
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    const connection = new RawConnection(socket);
    this.all.add(connection);
    return connection;
  }

  private drop(connection: RawConnection): void {
    connection.socket.destroy();
    this.all.delete(connection);
  }
}

/** One socket, one request at a time. */
class RawConnection {
  closed = false;
  private received: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (response: RawResponse) => void; reject: (error: Error) => void; headOnly: boolean } | undefined;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      // Bytes nobody asked for would be read as the next request's answer: the connection is unusable.
      if (!this.waiting) {
        socket.destroy(new Error('the server sent bytes no request asked for'));
        return;
      }
      this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
      this.tryComplete();
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => {
      this.closed = true;
      this.fail(new Error('the server closed the connection before answering'));
    });
  }

  exchange(buffers: Buffer[], headOnly: boolean): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error('the connection is closed'));
        return;
      }
      this.waiting = { resolve, reject, headOnly };
      this.socket.cork();
      for (const buffer of buffers) this.socket.write(buffer);
      this.socket.uncork();
    });
  }

  private tryComplete(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    let response;
    try {
      response = parseResponse(this.received, waiting.headOnly);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (!response) return;
    if (response.length < this.received.length) {
      this.fail(new Error('the server sent more than one answer'));
      this.socket.destroy();
      return;
    }
    this.received = Buffer.alloc(0);
    this.waiting = undefined;
    waiting.resolve(response.response);
  }

  private fail(error: Error): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }
}

/** The first complete response in `bytes` and its length, or undefined while more must arrive. */
export function parseResponse(bytes: Buffer, headOnly = false): { response: RawResponse; length: number } | undefined {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine = '', ...headerLines] = bytes.toString('latin1', 0, headEnd).split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!status) throw new Error(`not an HTTP response: ${statusLine.slice(0, 80)}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const code = Number(status[1]);
  const bodyStart = headEnd + 4;
  if (headOnly || code === 204 || code === 304) return { response: { status: code, headers, body: Buffer.alloc(0) }, length: bodyStart };
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') return parseChunked(bytes, bodyStart, code, headers);
  const declared = headers['content-length'];
  if (declared === undefined) throw new Error(`HTTP ${code} without Content-Length or chunked encoding`);
  if (!/^\d+$/.test(declared)) throw new Error(`HTTP ${code} with Content-Length "${declared.slice(0, 40)}"`);
  const end = bodyStart + Number(declared);
  if (bytes.length < end) return undefined;
  return { response: { status: code, headers, body: bytes.subarray(bodyStart, end) }, length: end };
}

function parseChunked(bytes: Buffer, start: number, status: number, headers: Record<string, string>) {
  const pieces: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(bytes.toString('latin1', at, lineEnd), 16);
    if (!Number.isFinite(size)) throw new Error('bad chunk size');
    const dataStart = lineEnd + 2;
    if (size === 0) {
      // No trailers are expected: the last chunk is followed by an empty line.
      if (bytes.length < dataStart + 2) return undefined;
      return { response: { status, headers, body: Buffer.concat(pieces) }, length: dataStart + 2 };
    }
    if (bytes.length < dataStart + size + 2) return undefined;
    pieces.push(bytes.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}
