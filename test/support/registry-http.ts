import assert from 'node:assert/strict';
import type { RegistryHandle } from './registry-process.js';
import { MediaType, sha256 } from './oci-layout.js';
import type { BuiltArtifact, BuiltImage, BuiltIndex, Content } from './oci-layout.js';

/** Accept header listing every manifest type, as clients send it. */
export const ACCEPT_MANIFESTS = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
].join(', ');

/** A copy of the bytes that fetch accepts as a body (a Buffer may sit on a shared ArrayBuffer). */
export function bodyOf(bytes: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

const tokenCache = new Map<string, string>();

function parseChallenge(header: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const match of header.matchAll(/(\w+)="([^"]*)"/g)) {
    const [, key, value] = match;
    if (key !== undefined && value !== undefined) params[key] = value;
  }
  return params;
}

/**
 * fetch against the registry. When the registry answers 401 with a Bearer challenge, gets a token
 * from the realm (with the handle's credentials, if any) and retries once, so the same tests work
 * before and after Berth requires auth.
 */
export async function registryFetch(registry: RegistryHandle, pathAndQuery: string, init: RequestInit = {}): Promise<Response> {
  const url = pathAndQuery.startsWith('http') ? pathAndQuery : `${registry.url}${pathAndQuery}`;
  const withAuth = (token: string | undefined): RequestInit => {
    const headers = new Headers(init.headers);
    if (token !== undefined) headers.set('Authorization', `Bearer ${token}`);
    return { ...init, headers, signal: init.signal ?? AbortSignal.timeout(60_000) };
  };
  const cacheKey = `${registry.url} ${pathAndQuery.split('?')[0]} ${init.method ?? 'GET'}`;
  const res = await fetch(url, withAuth(tokenCache.get(cacheKey)));
  const challenge = res.headers.get('www-authenticate');
  if (res.status !== 401 || challenge === null || !/^bearer /i.test(challenge)) return res;
  if (init.body instanceof ReadableStream) return res; // cannot replay a stream
  await res.arrayBuffer();
  const params = parseChallenge(challenge);
  const realm = params['realm'];
  assert.ok(realm !== undefined, `challenge without realm: ${challenge}`);
  const tokenUrl = new URL(realm);
  if (params['service'] !== undefined) tokenUrl.searchParams.set('service', params['service']);
  if (params['scope'] !== undefined) tokenUrl.searchParams.set('scope', params['scope']);
  const headers = new Headers();
  if (registry.credentials !== undefined) {
    const { username, password } = registry.credentials;
    headers.set('Authorization', `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`);
    tokenUrl.searchParams.set('account', username);
  }
  const tokenRes = await fetch(tokenUrl, { headers, signal: AbortSignal.timeout(30_000) });
  assert.equal(tokenRes.status, 200, `token endpoint ${tokenUrl.href} answered ${tokenRes.status}`);
  const body = (await tokenRes.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  assert.ok(token !== undefined, 'token response without token');
  tokenCache.set(cacheKey, token);
  return fetch(url, withAuth(token));
}

/** Resolves a Location header against the registry URL. */
export function absoluteLocation(registry: RegistryHandle, res: Response): string {
  const location = res.headers.get('location');
  assert.ok(location !== null, `${res.status} without Location`);
  return new URL(location, registry.url).href;
}

/** Appends `key=value` to a URL that may already carry a query (upload Locations often do). */
export function withQuery(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.append(key, value);
  return u.href;
}

async function expectStatus(res: Response, expected: number | number[], what: string): Promise<void> {
  const list = Array.isArray(expected) ? expected : [expected];
  if (!list.includes(res.status)) {
    const body = await res.text().catch(() => '');
    assert.fail(`${what}: expected ${list.join(' or ')}, got ${res.status} ${body.slice(0, 500)}`);
  }
}

/** Uploads a blob monolithically: POST then PUT ?digest= with the body (skipped if it exists). */
export async function pushBlob(registry: RegistryHandle, repo: string, blob: Content): Promise<void> {
  const { digest } = blob.descriptor;
  const head = await registryFetch(registry, `/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  if (head.status === 200) return;
  const start = await registryFetch(registry, `/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await expectStatus(start, 202, `POST /v2/${repo}/blobs/uploads/`);
  const put = await registryFetch(registry, withQuery(absoluteLocation(registry, start), 'digest', digest), {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: bodyOf(blob.bytes),
  });
  await expectStatus(put, 201, `PUT blob ${digest}`);
  await put.arrayBuffer();
}

/** PUTs manifest bytes under a tag or digest and checks the Docker-Content-Digest answer. */
export async function pushManifest(registry: RegistryHandle, repo: string, reference: string, manifest: Content): Promise<void> {
  const res = await registryFetch(registry, `/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'Content-Type': manifest.descriptor.mediaType },
    body: bodyOf(manifest.bytes),
  });
  await expectStatus(res, 201, `PUT /v2/${repo}/manifests/${reference}`);
  await res.arrayBuffer();
  assert.equal(res.headers.get('docker-content-digest'), manifest.descriptor.digest, 'Docker-Content-Digest of PUT manifest');
}

/** Pushes an image's (or artifact's) blobs then its manifest under `reference` (default: its digest). */
export async function pushImage(
  registry: RegistryHandle,
  repo: string,
  image: BuiltImage | BuiltArtifact,
  reference: string = image.manifest.descriptor.digest,
): Promise<void> {
  for (const blob of image.blobs) await pushBlob(registry, repo, blob);
  await pushManifest(registry, repo, reference, image.manifest);
}

/** Pushes each child image by digest, then the index (or manifest list) under `reference`. */
export async function pushIndex(
  registry: RegistryHandle,
  repo: string,
  index: BuiltIndex,
  reference: string = index.index.descriptor.digest,
): Promise<void> {
  for (const image of index.images) await pushImage(registry, repo, image);
  await pushManifest(registry, repo, reference, index.index);
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string | null;
  digest: string | null;
}

/** GETs a manifest with an Accept header for every type; asserts 200. */
export async function getManifest(registry: RegistryHandle, repo: string, reference: string): Promise<FetchedManifest> {
  const res = await registryFetch(registry, `/v2/${repo}/manifests/${reference}`, { headers: { Accept: ACCEPT_MANIFESTS } });
  await expectStatus(res, 200, `GET /v2/${repo}/manifests/${reference}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { bytes, mediaType: res.headers.get('content-type'), digest: res.headers.get('docker-content-digest') };
}

/** GETs a blob; asserts 200 and that the bytes hash to the digest. */
export async function getBlob(registry: RegistryHandle, repo: string, digest: string): Promise<Buffer> {
  const res = await registryFetch(registry, `/v2/${repo}/blobs/${digest}`);
  await expectStatus(res, 200, `GET /v2/${repo}/blobs/${digest}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(sha256(bytes), digest, 'blob bytes hash to their digest');
  return bytes;
}
