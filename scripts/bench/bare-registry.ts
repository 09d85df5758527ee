/**
 * The least a registry on Node does for a real client's push and pull: the bound of the
 * real-client scenario. It answers the Distribution API's routes that skopeo uses, over plain
 * `node:http`, with no authentication, no database and no check but the blob's digest:
 * - a blob is stored as Berth's filesystem store does: hashed while it is appended to its upload's
 *   file, flushed behind as it arrives, then at the `PUT ?digest=` fsynced, renamed to its digest,
 *   and its directory fsynced; it is sent from disk as Berth sends one;
 * - manifests and tags live in memory (what Berth writes to its database is left out).
 * It runs inside the bare server's process (bare-server.ts), under `/v2/`.
 */
import { createHash, type Hash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppendWriter } from '../../src/storage/fs/append-writer.js';
import { FileSender } from '../../src/storage/fs/file-sender.js';
import { FlushBehind } from '../../src/storage/fs/flush-behind.js';

interface Upload {
  file: string;
  hash: Hash;
  size: number;
  flushBehind: FlushBehind;
}

interface Manifest {
  mediaType: string;
  bytes: Buffer;
  digest: string;
}

const digestPattern = /^sha256:[a-f0-9]{64}$/;
const maxManifestBytes = 4 * 1024 * 1024;

export class BareRegistry {
  private readonly uploads = new Map<string, Upload>();
  /** By digest, and by `name:tag`. */
  private readonly manifests = new Map<string, Manifest>();
  private readonly ready: Promise<unknown>;

  constructor(private readonly dir: string) {
    this.ready = Promise.all([mkdir(path.join(dir, 'uploads'), { recursive: true }), mkdir(path.join(dir, 'blobs'), { recursive: true })]);
  }

  /** Answers a request under `/v2/`. */
  async serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    await this.ready;
    const url = new URL(request.url ?? '/', 'http://bare');
    const method = request.method ?? 'GET';
    if (url.pathname === '/v2/') return answer(response, 200, { 'Content-Type': 'application/json' }, '{}');
    const route = /^\/v2\/(.+)\/(blobs\/uploads|blobs|manifests)\/(.*)$/.exec(url.pathname);
    if (!route) return notFound(request, response);
    const [, name, kind, reference = ''] = route;
    if (kind === 'blobs/uploads') {
      if (method === 'POST' && reference === '') return this.startUpload(name as string, response);
      const upload = this.uploads.get(reference);
      if (!upload) return notFound(request, response);
      if (method === 'PATCH') return this.append(name as string, reference, upload, request, response);
      if (method === 'PUT') return this.finish(name as string, reference, upload, url.searchParams.get('digest') ?? '', request, response);
    } else if (kind === 'blobs' && (method === 'GET' || method === 'HEAD')) {
      return this.sendBlob(reference, request, response);
    } else if (kind === 'manifests') {
      if (method === 'PUT') return this.putManifest(name as string, reference, request, response);
      if (method === 'GET' || method === 'HEAD') return this.sendManifest(name as string, reference, request, response);
    }
    return notFound(request, response);
  }

  private startUpload(name: string, response: http.ServerResponse): void {
    const id = randomUUID();
    const file = path.join(this.dir, 'uploads', id);
    this.uploads.set(id, { file, hash: createHash('sha256'), size: 0, flushBehind: new FlushBehind(file) });
    answer(response, 202, { Location: `/v2/${name}/blobs/uploads/${id}`, Range: '0-0', 'Docker-Upload-UUID': id });
  }

  private async append(name: string, id: string, upload: Upload, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    await receive(upload, request);
    answer(response, 202, { Location: `/v2/${name}/blobs/uploads/${id}`, Range: `0-${Math.max(0, upload.size - 1)}`, 'Docker-Upload-UUID': id });
  }

  private async finish(name: string, id: string, upload: Upload, digest: string, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    await receive(upload, request);
    this.uploads.delete(id);
    await upload.flushBehind.settled();
    await sync(upload.file);
    if (!digestPattern.test(digest) || `sha256:${upload.hash.digest('hex')}` !== digest) {
      await rm(upload.file, { force: true });
      return answer(response, 400, {}, '{"errors":[{"code":"DIGEST_INVALID"}]}');
    }
    await rename(upload.file, this.blobFile(digest));
    await sync(path.join(this.dir, 'blobs'));
    answer(response, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
  }

  private async sendBlob(digest: string, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    if (!digestPattern.test(digest)) return notFound(request, response);
    const size = await stat(this.blobFile(digest)).then((stats) => stats.size, () => undefined);
    if (size === undefined) return notFound(request, response);
    const headers = { 'Content-Length': size, 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest };
    if (request.method === 'HEAD' || size === 0) return answer(response, 200, headers);
    const handle = await open(this.blobFile(digest), 'r');
    response.writeHead(200, headers);
    await new FileSender(handle, 0, size - 1).sendTo(response);
    response.end();
  }

  private async putManifest(name: string, reference: string, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > maxManifestBytes) return answer(response, 413, {});
      chunks.push(chunk);
    }
    const bytes = Buffer.concat(chunks);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const manifest = { mediaType: request.headers['content-type'] ?? 'application/vnd.oci.image.manifest.v1+json', bytes, digest };
    this.manifests.set(digest, manifest);
    if (!digestPattern.test(reference)) this.manifests.set(`${name}:${reference}`, manifest);
    answer(response, 201, { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest });
  }

  private sendManifest(name: string, reference: string, request: http.IncomingMessage, response: http.ServerResponse): void {
    const manifest = this.manifests.get(digestPattern.test(reference) ? reference : `${name}:${reference}`);
    if (!manifest) return notFound(request, response);
    const headers = { 'Content-Type': manifest.mediaType, 'Content-Length': manifest.bytes.length, 'Docker-Content-Digest': manifest.digest };
    response.writeHead(200, headers);
    response.end(request.method === 'HEAD' ? undefined : manifest.bytes);
  }

  private blobFile(digest: string): string {
    return path.join(this.dir, 'blobs', digest.slice('sha256:'.length));
  }
}

/** Appends a request's body to its upload's file, hashing it on the way. */
async function receive(upload: Upload, request: http.IncomingMessage): Promise<void> {
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      upload.hash.update(chunk);
      upload.size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(request, hashing, new AppendWriter(upload.file, { flushBehind: upload.flushBehind }));
}

async function sync(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function answer(response: http.ServerResponse, status: number, headers: http.OutgoingHttpHeaders, body = ''): void {
  response.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0', 'Content-Length': Buffer.byteLength(body), ...headers });
  response.end(body);
}

/** 404, after the request's body (if any) is drained so that the connection stays usable. */
function notFound(request: http.IncomingMessage, response: http.ServerResponse): void {
  request.resume();
  answer(response, 404, { 'Content-Type': 'application/json' }, request.method === 'HEAD' ? '' : '{"errors":[{"code":"NOT_FOUND"}]}');
}
