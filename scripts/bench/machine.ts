import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { BenchConfig } from './config.js';
import { type HttpClient, runPool } from './http-client.js';
import { type RoundFigures, medianOf, pullOnce } from './scenarios.js';
import { MiB, secondsSince } from './stats.js';
import { ab } from './ab.js';
import { expectDownload } from './curl.js';
import { RawHttpClient } from './raw-http.js';
import { imageManifest, sha256 } from './registry-client.js';

/** sha256 over `data` in 1 MiB updates, as a streamed upload is hashed (node:crypto). */
export function sha256Rate(data: Buffer): RoundFigures {
  const start = performance.now();
  const hash = createHash('sha256');
  for (let offset = 0; offset < data.length; offset += MiB) hash.update(data.subarray(offset, offset + MiB));
  hash.digest();
  return { sha256: data.length / MiB / secondsSince(start) };
}

/** Writes `data` in 1 MiB writes to a new file in `dir`, then fdatasync (what a durable push must do). */
export async function diskWriteRate(dir: string, data: Buffer): Promise<RoundFigures> {
  const file = path.join(dir, `disk-probe-${process.pid}`);
  const start = performance.now();
  const handle = await open(file, 'w');
  try {
    for (let offset = 0; offset < data.length; offset += MiB) {
      const slice = data.subarray(offset, offset + MiB);
      let written = 0;
      while (written < slice.length) written += (await handle.write(slice, written, slice.length - written)).bytesWritten;
    }
    await handle.datasync();
  } finally {
    await handle.close();
  }
  const rate = data.length / MiB / secondsSince(start);
  await rm(file, { force: true });
  return { diskWrite: rate };
}

/** Sends `bytes` over a loopback TCP connection to the bare server and waits for its count. */
export async function loopbackRate(port: number, bytes: number, block: Buffer): Promise<RoundFigures> {
  const start = performance.now();
  const received = await new Promise<number>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    socket.on('end', () => resolve(Number(answer.trim())));
    socket.on('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        const slice = block.subarray(0, Math.min(block.length, bytes - sent));
        sent += slice.length;
        if (!socket.write(slice)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    socket.once('connect', pump);
  });
  if (received !== bytes) throw new Error(`loopback: the server counted ${received} of ${bytes} bytes`);
  return { loopback: bytes / MiB / secondsSince(start) };
}

/** The bare Node server's hash + write + fsync rate for an upload of `data` (the last is kept for the pulls). */
export async function bareIngest(client: HttpClient, data: Buffer, config: BenchConfig): Promise<RoundFigures> {
  return medianOf(config.transferRepeats, async () => {
    const start = performance.now();
    await client.expect(201, { method: 'POST', url: '/ingest?keep=1', headers: { 'Content-Length': data.length }, body: data });
    return { pushMono: data.length / MiB / secondsSince(start) };
  });
}

/** The bare Node server's stream-out rate of the kept upload, pulled as the registries are. */
export async function barePull(client: HttpClient, config: BenchConfig): Promise<RoundFigures> {
  const get = () => expectDownload(`${client.origin}/blob`, {}, config.blobBytes);
  return medianOf(config.transferRepeats, () => pullOnce(get, config));
}

/**
 * The load clients' own ceilings against a server that answers 200 at once: ApacheBench's GETs at the read
 * scenarios' concurrency and time, the lean client's 4 KiB POSTs and manifest-sized PUTs at the
 * concurrency of the small pushes and manifest PUTs, and curl's download of a blob's size sent from memory.
 */
export async function clientCeiling(client: HttpClient, config: BenchConfig): Promise<RoundFigures> {
  const reads = await ab({ url: `${client.origin}/ok`, method: 'GET', headers: {}, seconds: config.readSeconds, connections: config.readConcurrency });
  const lean = new RawHttpClient(client.origin);
  try {
    const rate = async (count: number, concurrency: number, method: string, body: Buffer) => {
      const start = performance.now();
      await runPool(count, concurrency, async () => {
        await lean.expect(200, { method, url: '/ok', headers: { 'Content-Type': 'application/octet-stream' }, body });
      });
      return count / secondsSince(start);
    };
    const posts = await rate(config.smallCount, config.smallConcurrency, 'POST', Buffer.alloc(config.smallBytes, 1));
    const blob = { digest: sha256(Buffer.alloc(0)), size: 0 };
    const puts = await rate(config.manifestCount, config.manifestConcurrency, 'PUT', imageManifest(blob, blob, `0-0-${Date.now()}`));
    const pulled = await expectDownload(`${client.origin}/zeros?bytes=${config.blobBytes}`, {}, config.blobBytes);
    return {
      ceilingGetRate: reads.rate,
      ceilingGetP50: reads.p50,
      ceilingGetP99: reads.p99,
      ceilingPostRate: posts,
      ceilingPutRate: puts,
      ceilingPull: pulled.bytes / MiB / pulled.seconds,
    };
  } finally {
    lean.close();
  }
}
