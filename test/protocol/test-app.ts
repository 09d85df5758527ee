import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Berth } from '../../src/server.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { FsBlobStore } from '../../src/storage/fs/fs-blob-store.js';
import { sha256, sha512 } from '../support/digests.js';
import { mediaTypes as registryMediaTypes } from '../../src/oci/media-types.js';
import { tempBerth } from '../support/temp-berth.js';

export type Response = LightMyRequestResponse;

/** The manifest media types Berth knows, and the config and layer types test images use. */
export const mediaTypes = {
  ...registryMediaTypes,
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** The OCI error codes the spec allows (and the conformance suite accepts). */
export const ociErrorCodes = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'MANIFEST_UNVERIFIED',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'TAG_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
];

export interface TestAppOptions {
  /** Reuse a data directory (a restart); its owner removes it. */
  dataDir?: string;
  /** Extra settings, as command-line flags would give them. */
  config?: Partial<Record<'uploadExpiry' | 'maxBlobBytes' | 'shutdownTimeout' | 'bodyTimeout', string>>;
  /** A blob store of the test's own, over the data directory. */
  blobStore?: (dataDir: string) => Promise<BlobStore>;
  /**
   * For a test of what the filesystem store leaves in the data directory (its files, the bytes
   * an interrupted append kept): the blobs stay there whatever store the suites' profile names.
   */
  filesystem?: boolean;
}

export interface TestApp {
  berth: Berth;
  app: FastifyInstance;
  services: Berth['services'];
  dataDir: string;
  inject(options: InjectOptions | string): Promise<Response>;
  /** Listens on 127.0.0.1, port 0, and answers the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** A Berth on a temporary data directory, closed (and the directory removed) after the test. */
export async function testApp(t: TestContext, options: TestAppOptions = {}): Promise<TestApp> {
  // The protocol suite checks the registry API itself; test/auth covers who may use it.
  const { berth, dataDir } = await tempBerth(
    t,
    { logLevel: 'silent', shutdownTimeout: '1s', ...options.config },
    { logger: false, auth: false, dataDir: options.dataDir, blobStoreAt: options.blobStore ?? (options.filesystem ? filesystemStore : undefined) },
  );
  return {
    berth,
    app: berth.app,
    services: berth.services,
    dataDir,
    inject: (request) => berth.app.inject(request),
    async listen() {
      await berth.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = berth.app.server.address() as AddressInfo;
      return `http://127.0.0.1:${port}`;
    },
    close: () => berth.close(),
  };
}

export { sha256, sha512 };

/** `errors[0].code` of an OCI error envelope, after checking the envelope's shape. */
export function errorCode(res: Response): string {
  assert.equal(res.headers['content-type'], 'application/json');
  const body = res.json() as { errors?: Array<{ code?: unknown; message?: unknown }> };
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, `an error envelope, got ${res.body}`);
  const code = body.errors[0]?.code;
  assert.equal(typeof code, 'string');
  return code as string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  [field: string]: unknown;
}

/** Built content: the exact bytes, their digest, and a descriptor pointing at them. */
export interface Built {
  bytes: Buffer;
  digest: string;
  size: number;
  mediaType: string;
  descriptor(extra?: Record<string, unknown>): Descriptor;
}

export function built(bytes: Buffer | string, mediaType: string): Built {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  const digest = sha256(buffer);
  return {
    bytes: buffer,
    digest,
    size: buffer.length,
    mediaType,
    descriptor: (extra = {}) => ({ mediaType, digest, size: buffer.length, ...extra }),
  };
}

/** A JSON document serialised with tabs, so that re-serialising it would change its bytes. */
export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, null, '\t'));
}

export interface ManifestOptions {
  config: Descriptor;
  layers?: Descriptor[];
  /** null leaves the field out. */
  mediaType?: string | null;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
  extra?: Record<string, unknown>;
}

export function imageManifest(options: ManifestOptions): Built {
  const mediaType = options.mediaType === undefined ? mediaTypes.ociManifest : options.mediaType;
  const body = {
    schemaVersion: 2,
    ...(mediaType === null ? {} : { mediaType }),
    ...(options.artifactType ? { artifactType: options.artifactType } : {}),
    config: options.config,
    layers: options.layers ?? [],
    ...(options.subject ? { subject: options.subject } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
    ...options.extra,
  };
  return built(jsonBytes(body), mediaType ?? mediaTypes.ociManifest);
}

export interface IndexOptions {
  manifests: Descriptor[];
  mediaType?: string;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export function indexManifest(options: IndexOptions): Built {
  const mediaType = options.mediaType ?? mediaTypes.ociIndex;
  const body = {
    schemaVersion: 2,
    mediaType,
    ...(options.artifactType ? { artifactType: options.artifactType } : {}),
    manifests: options.manifests,
    ...(options.subject ? { subject: options.subject } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  return built(jsonBytes(body), mediaType);
}

/** The empty JSON config `{}` that artifacts use (image-spec "Guidance for an empty descriptor"). */
export const emptyConfig = built('{}', mediaTypes.ociEmpty);

export const platformAmd64 = { architecture: 'amd64', os: 'linux' };
export const platformArm64 = { architecture: 'arm64', os: 'linux', variant: 'v8' };

/** Pushes a whole blob with `POST ?digest=` and checks the 201. */
export async function pushBlob(app: TestApp, name: string, data: Buffer | string, mediaType = 'application/octet-stream'): Promise<Built> {
  const blob = built(data, mediaType);
  const res = await app.inject({
    method: 'POST',
    url: `/v2/${name}/blobs/uploads/?digest=${blob.digest}`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: blob.bytes,
  });
  assert.equal(res.statusCode, 201, res.body);
  return blob;
}

/** Opens an upload session (`POST`, 202) and answers its Location. */
export async function startUpload(app: TestApp, name: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: `/v2/${name}/blobs/uploads/`, headers: { 'content-length': '0' } });
  assert.equal(res.statusCode, 202, res.body);
  const location = res.headers.location;
  assert.equal(typeof location, 'string');
  return location as string;
}

/** Appends `digest=` to a Location that may already carry a query. */
export function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`;
}

export async function putManifest(app: TestApp, name: string, reference: string, manifest: Built, contentType: string | null = manifest.mediaType): Promise<Response> {
  return app.inject({
    method: 'PUT',
    url: `/v2/${name}/manifests/${reference}`,
    headers: contentType === null ? {} : { 'content-type': contentType },
    payload: manifest.bytes,
  });
}

/** Pushes a manifest and checks the 201. */
export async function pushManifest(app: TestApp, name: string, reference: string, manifest: Built, contentType?: string): Promise<Response> {
  const res = await putManifest(app, name, reference, manifest, contentType ?? manifest.mediaType);
  assert.equal(res.statusCode, 201, res.body);
  return res;
}

/** Pushes a small image (config + one layer + manifest), tagged when `tag` is given. */
export async function pushImage(
  app: TestApp,
  name: string,
  options: { tag?: string; seed?: string; subject?: Descriptor; annotations?: Record<string, string>; platform?: string } = {},
): Promise<Built> {
  const seed = options.seed ?? 'image';
  const config = await pushBlob(app, name, JSON.stringify({ architecture: 'amd64', os: 'linux', seed }), mediaTypes.ociConfig);
  const layer = await pushBlob(app, name, `layer of ${seed}`, mediaTypes.ociLayer);
  const manifest = imageManifest({
    config: config.descriptor(),
    layers: [layer.descriptor()],
    ...(options.subject ? { subject: options.subject } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  });
  await pushManifest(app, name, options.tag ?? manifest.digest, manifest);
  return manifest;
}

/** Deterministic pseudo-random bytes (so a failing size or digest is reproducible). */
export function patternBytes(size: number, seed = 1): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    buffer[i] = state & 0xff;
  }
  return buffer;
}

async function filesystemStore(dataDir: string): Promise<BlobStore> {
  const store = new FsBlobStore(dataDir);
  await store.init();
  return store;
}
