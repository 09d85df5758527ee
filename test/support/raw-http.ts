import net from 'node:net';
import type { TestContext } from 'node:test';

export interface RawResponse {
  status: number;
  /** Lowercased names. */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A plain TCP connection to a listening server, for requests no HTTP client would send: bodies
 * that stall halfway, chunked bodies of any size, malformed heads. Everything the server sends is
 * kept; `closed()` waits (bounded) for the server to close the connection.
 */
export class RawConnection {
  private received = Buffer.alloc(0);
  private readonly whenClosed: Promise<void>;
  private readonly waiters = new Set<() => void>();
  /** Set when the server reset the connection (the client may still have been sending). */
  resetByServer = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      for (const wake of this.waiters) wake();
    });
    this.whenClosed = new Promise((resolve) => {
      socket.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNRESET' || error.code === 'EPIPE') this.resetByServer = true;
      });
      socket.on('close', () => {
        for (const wake of this.waiters) wake();
        resolve();
      });
    });
  }

  /** Connects to `baseUrl` (http://host:port); the socket is destroyed after the test. */
  static async open(t: TestContext, baseUrl: string): Promise<RawConnection> {
    const { hostname, port } = new URL(baseUrl);
    const socket = net.connect({ host: hostname, port: Number(port) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    t.after(() => {
      socket.destroy();
    });
    return new RawConnection(socket);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Resolves once the server has closed the connection; rejects after `timeoutMs`. */
  async closed(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.whenClosed,
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`the server did not close the connection within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The first complete response (its body read by Content-Length); rejects after `timeoutMs`. */
  async response(timeoutMs = 10_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseResponse(this.received);
      if (parsed) return parsed;
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error(`the connection closed without a complete response: ${JSON.stringify(this.received.toString('latin1').slice(0, 300))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete response within ${timeoutMs} ms: ${JSON.stringify(this.received.toString('latin1').slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, left);
        function wake() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(wake);
      }).finally(() => this.waiters.clear());
    }
  }
}

/** `data` as one chunk of the chunked transfer coding. */
export function chunk(data: Buffer | string): Buffer {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
}

/** The last chunk of a chunked body. */
export const lastChunk = '0\r\n\r\n';

function parseResponse(bytes: Buffer): RawResponse | undefined {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine = '', ...lines] = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = bytes.subarray(headEnd + 4);
  if (body.length < length) return undefined;
  return { status, headers, body: body.subarray(0, length) };
}
