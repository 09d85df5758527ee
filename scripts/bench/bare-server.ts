/**
 * Bare Node servers that bound what Berth can do on this machine, run in their own process:
 * - HTTP `GET|HEAD|POST /ok`: 200 at once (a POST body is drained): the load client's ceiling.
 * - HTTP `POST /ingest[?keep=1]`: sha256 while appending to a file, fsync, 201 with the digest.
 * - HTTP `GET /blob`: sends the last kept upload from disk as Berth sends a blob (two reused buffers).
 * - HTTP `GET /zeros?bytes=N`: sends N zero bytes from memory: the pull client's ceiling.
 * - HTTP `/v2/`: the least a registry does for a real client's push and pull (bare-registry.ts).
 * - TCP: counts the bytes a client sends and answers the count when the client ends (loopback).
 * Prints `{"http":port,"tcp":port}` on stdout once listening.
 */
import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppendWriter } from '../../src/storage/fs/append-writer.js';
import { FileSender } from '../../src/storage/fs/file-sender.js';
import { BareRegistry } from './bare-registry.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: bare-server <data-dir>');
const dir: string = dataDir;
let sequence = 0;
const registry = new BareRegistry(path.join(dir, 'registry'));

async function ingest(request: http.IncomingMessage, keep: boolean): Promise<string> {
  const file = path.join(dir, `upload-${process.pid}-${sequence++}`);
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  // The same batched, flushed-behind appends as Berth's store: the bound is the best plain
  // pipeline, without routing, auth, metadata or digest checks.
  await pipeline(request, hashing, new AppendWriter(file));
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (keep) await rename(file, path.join(dir, 'blob'));
  else setImmediate(() => void rm(file, { force: true }));
  return `sha256:${hash.digest('hex')}`;
}

const zeros = Buffer.alloc(1024 * 1024);

/** Writes `bytes` zero bytes, one shared buffer at a time, waiting whenever the socket is full. */
function sendZeros(response: http.ServerResponse, bytes: number): void {
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      const piece = left >= zeros.length ? zeros : zeros.subarray(0, left);
      left -= piece.length;
      if (!response.write(piece)) {
        response.once('drain', pump);
        return;
      }
    }
    response.end();
  };
  pump();
}

const server = http.createServer((request, response) => {
  const url = request.url ?? '/';
  const fail = (error: unknown) => {
    if (!response.headersSent) response.writeHead(500, { 'Content-Length': 0 });
    response.end();
    process.stderr.write(`${String(error)}\n`);
  };
  if (url.startsWith('/ok')) {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'Content-Length': 0 });
      response.end();
    });
    return;
  }
  if (url.startsWith('/ingest') && request.method === 'POST') {
    ingest(request, url.includes('keep=1')).then((digest) => {
      response.writeHead(201, { 'Docker-Content-Digest': digest, 'Content-Length': 0 });
      response.end();
    }, fail);
    return;
  }
  if (url.startsWith('/v2/')) {
    registry.serve(request, response).catch(fail);
    return;
  }
  if (url.startsWith('/zeros')) {
    const bytes = Number(new URL(url, 'http://bare').searchParams.get('bytes'));
    response.writeHead(200, { 'Content-Length': bytes, 'Content-Type': 'application/octet-stream' });
    sendZeros(response, bytes);
    return;
  }
  if (url.startsWith('/blob')) {
    open(path.join(dir, 'blob'), 'r').then(async (handle) => {
      const { size } = await handle.stat();
      response.writeHead(200, { 'Content-Length': size, 'Content-Type': 'application/octet-stream' });
      await (request.method === 'HEAD' ? handle.close() : new FileSender(handle, 0, size - 1).sendTo(response));
      response.end();
    }, fail).catch(fail);
    return;
  }
  response.writeHead(404, { 'Content-Length': 0 });
  response.end();
});
server.keepAliveTimeout = 60_000;

const tcp = net.createServer((socket) => {
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  socket.on('end', () => socket.end(`${bytes}\n`));
  socket.on('error', () => socket.destroy());
});

server.listen(0, '127.0.0.1', () => {
  tcp.listen(0, '127.0.0.1', () => {
    const httpPort = (server.address() as net.AddressInfo).port;
    const tcpPort = (tcp.address() as net.AddressInfo).port;
    process.stdout.write(`${JSON.stringify({ http: httpPort, tcp: tcpPort })}\n`);
  });
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  tcp.close();
  process.exit(0);
});
