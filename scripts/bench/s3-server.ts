/**
 * The scale-out profile's S3 server: s3rver (npm), run in its own process with its objects in
 * `<dir>`, and the buckets named on the command line. Prints `{"port":N}` on stdout once listening.
 *
 * s3rver lacks three calls of the multipart API that Distribution's S3 driver makes:
 * ListMultipartUploads and ListParts (Distribution 2.8 reopens an upload on every PATCH and PUT
 * after the POST, and finds its S3 upload and the parts written so far only by listing them), and
 * AbortMultipartUpload. They are answered here, in the same process and before s3rver's router,
 * from a record of the uploads s3rver created and the parts it stored; every other request goes to
 * s3rver unchanged. A proxy process in front of s3rver would have put a loopback hop and its CPU
 * time on every S3 request of one registry only, which the ratios would have counted against it.
 *
 * Usage: node s3-server.js <dir> <bucket>[,<bucket>...]
 */
import { rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** What of s3rver's Koa application and context this extension uses. */
interface S3rverStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
}
interface Context {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  store: S3rverStore;
  get(header: string): string;
  response: { get(header: string): string };
}
type Middleware = (ctx: Context, next: () => Promise<void>) => Promise<void>;
interface S3rverApp {
  middleware: Middleware[];
  run(): Promise<AddressInfo>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverApp;

interface Part {
  number: number;
  etag: string;
  size: number;
  lastModified: Date;
}
interface Upload {
  bucket: string;
  key: string;
  initiated: Date;
  parts: Map<number, Part>;
}

const [dir, bucketList] = process.argv.slice(2);
if (!dir || !bucketList) throw new Error('usage: s3-server <dir> <bucket>[,<bucket>...]');
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;

/** Uploads in progress by upload id, as s3rver created them. */
const uploads = new Map<string, Upload>();
const namespace = { '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' } };

/** Bucket and key of a path-style request (`/bucket/key...`), decoded. */
function target(ctx: Context): { bucket: string; key: string } {
  const [bucket = '', ...rest] = ctx.path.slice(1).split('/');
  return { bucket: decodeURIComponent(bucket), key: rest.map(decodeURIComponent).join('/') };
}

function has(ctx: Context, name: string): boolean {
  return ctx.query[name] !== undefined;
}

function queryValue(ctx: Context, name: string): string {
  const value = ctx.query[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

function noSuchUpload(ctx: Context, uploadId: string): void {
  ctx.status = 404;
  ctx.body = { Error: { Code: 'NoSuchUpload', Message: 'The specified upload does not exist.', UploadId: uploadId } };
}

/** The answer is set as an object: s3rver's own middleware, outside this one, writes it as XML. */
const multipartListing: Middleware = async (ctx, next) => {
  const { bucket, key } = target(ctx);
  const uploadId = queryValue(ctx, 'uploadId');
  if (ctx.method === 'GET' && key === '' && has(ctx, 'uploads')) {
    const prefix = queryValue(ctx, 'prefix');
    const listed = [...uploads.entries()].filter(([, upload]) => upload.bucket === bucket && upload.key.startsWith(prefix));
    ctx.body = {
      ListMultipartUploadsResult: {
        ...namespace,
        Bucket: bucket,
        Prefix: prefix,
        IsTruncated: false,
        Upload: listed.map(([id, upload]) => ({ Key: upload.key, UploadId: id, Initiated: upload.initiated.toISOString(), StorageClass: 'STANDARD' })),
      },
    };
    return;
  }
  if (key !== '' && uploadId !== '' && (ctx.method === 'GET' || ctx.method === 'DELETE')) {
    const upload = uploads.get(uploadId);
    if (!upload || upload.bucket !== bucket || upload.key !== key) return noSuchUpload(ctx, uploadId);
    if (ctx.method === 'DELETE') {
      uploads.delete(uploadId);
      await rm(path.join(ctx.store.getResourcePath(bucket, undefined, 'uploads'), uploadId), { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    const parts = [...upload.parts.values()].sort((a, b) => a.number - b.number);
    ctx.body = {
      ListPartsResult: {
        ...namespace,
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        StorageClass: 'STANDARD',
        PartNumberMarker: 0,
        NextPartNumberMarker: parts.at(-1)?.number ?? 0,
        MaxParts: 10000,
        IsTruncated: false,
        Part: parts.map((part) => ({ PartNumber: part.number, ETag: part.etag, Size: part.size, LastModified: part.lastModified.toISOString() })),
      },
    };
    return;
  }
  await next();
  if (ctx.status !== 200 || key === '') return;
  if (ctx.method === 'POST' && has(ctx, 'uploads')) {
    const created = ctx.body as { InitiateMultipartUploadResult?: { UploadId?: string } } | undefined;
    const id = created?.InitiateMultipartUploadResult?.UploadId;
    if (id) uploads.set(id, { bucket, key, initiated: new Date(), parts: new Map() });
  } else if (ctx.method === 'PUT' && uploadId !== '' && !ctx.get('x-amz-copy-source')) {
    const upload = uploads.get(uploadId);
    const number = Number(queryValue(ctx, 'partNumber'));
    if (!upload || !Number.isInteger(number)) return;
    // The size as stored, not as announced: a part may come with chunked transfer encoding.
    const size = (await stat(path.join(ctx.store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(number)))).size;
    upload.parts.set(number, { number, etag: ctx.response.get('etag'), size, lastModified: new Date() });
  } else if (ctx.method === 'POST' && uploadId !== '') {
    uploads.delete(uploadId);
  }
};

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dir,
  vhostBuckets: false,
  configureBuckets: bucketList.split(',').map((name) => ({ name })),
});
// Just before s3rver's router, the last of its middleware: inside its XML encoding and its
// logging, outside its routes (which answer the calls above NotImplemented).
server.middleware.splice(server.middleware.length - 1, 0, multipartListing);
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
// Not a graceful close: keep-alive connections of the registries would hold it open.
process.on('SIGTERM', () => process.exit(0));
