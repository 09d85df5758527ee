/**
 * Shows that Berth's memory stays flat while a large blob streams through it: starts a server on
 * a temporary data dir, pushes a blob of BLOB_GIB GiB (default 2) with one streamed PATCH, pulls it
 * back, checks the digest both ways, and prints the server's peak RSS (VmHWM).
 *
 *   npm run memory-check                                      # BLOB_GIB=2 by default
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const gib = Number(process.env.BLOB_GIB ?? 2);
const totalBytes = Math.round(gib * 1024 ** 3);
const chunk = Buffer.alloc(1024 * 1024);
for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'berth-memory-'));
  const port = await freePort();
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/berth.js');
  // Through its shebang, as an operator runs it (it sets V8's heap flags).
  const server = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    // Authentication is off: this measures the streaming path, and a token adds nothing to it.
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn', BERTH_AUTH: 'off' },
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitUntilUp(base);
    const baseline = await rss(server);
    const started = Date.now();
    const location = await request('POST', `${base}/v2/memory/check/blobs/uploads/`).then((res) => res.headers.location);
    if (!location) throw new Error('no upload location');
    const hash = createHash('sha256');
    await request('PATCH', new URL(location, base).href, generate(totalBytes, hash), { 'Content-Type': 'application/octet-stream' });
    const digest = `sha256:${hash.digest('hex')}`;
    await request('PUT', `${new URL(location, base).href}?digest=${digest}`);
    const pushSeconds = (Date.now() - started) / 1000;
    const afterPush = await rss(server);

    const pullStarted = Date.now();
    const pulled = createHash('sha256');
    let pulledBytes = 0;
    await new Promise<void>((resolve, reject) => {
      http.get(`${base}/v2/memory/check/blobs/${digest}`, (res) => {
        res.on('data', (data: Buffer) => {
          pulled.update(data);
          pulledBytes += data.length;
        });
        res.on('end', resolve);
        res.on('error', reject);
      }).on('error', reject);
    });
    const pullSeconds = (Date.now() - pullStarted) / 1000;
    if (`sha256:${pulled.digest('hex')}` !== digest || pulledBytes !== totalBytes) throw new Error('pulled blob differs from pushed');
    const final = await rss(server);
    const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
    console.log(`blob: ${gib} GiB, digest ${digest}`);
    console.log(`push: ${pushSeconds.toFixed(1)} s (${(totalBytes / 1024 ** 2 / pushSeconds).toFixed(0)} MiB/s), pull: ${pullSeconds.toFixed(1)} s (${(totalBytes / 1024 ** 2 / pullSeconds).toFixed(0)} MiB/s)`);
    console.log(`server RSS: at start ${mib(baseline.current)}, after push ${mib(afterPush.current)}, after pull ${mib(final.current)}`);
    console.log(`server peak RSS (VmHWM) over the whole run: ${mib(final.peak)}`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Yields `total` bytes of a repeating pattern, hashing them on the way out. */
function generate(total: number, hash: ReturnType<typeof createHash>): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const piece = total - sent >= chunk.length ? chunk : chunk.subarray(0, total - sent);
      sent += piece.length;
      hash.update(piece);
      this.push(piece);
    },
  });
}

function request(method: string, url: string, body?: Readable, headers: Record<string, string> = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body ? headers : { ...headers, 'Content-Length': '0' } }, (res) => {
      res.resume();
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${url}: ${res.statusCode}`));
        else resolve(res);
      });
    });
    req.on('error', reject);
    if (body) body.pipe(req);
    else req.end();
  });
}

async function rss(child: ChildProcess): Promise<{ current: number; peak: number }> {
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { current: field('VmRSS'), peak: field('VmHWM') };
}

async function waitUntilUp(base: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const up = await fetch(`${base}/v2/`).then((res) => res.ok, () => false);
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('server did not start');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

await main();
