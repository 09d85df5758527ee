import type { Readable } from 'node:stream';
import type { HttpClient, HttpRequest, HttpResponse } from './http-client.js';
import { RawHttpClient } from './raw-http.js';
import { sha256 } from '../../test/support/digests.js';

export type RegistryKind = 'berth' | 'distribution';

/** Credentials for a registry that requires them (Berth once token auth lands). */
export interface Credentials {
  user: string | undefined;
  token: string;
}

export const manifestAccept = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** How long a token fetched for a scenario is reused; Berth's registry tokens last 5 minutes. */
const tokenReuseMs = 60_000;
/** Bodies up to this size are sent by the lean client, as one buffer with the request head. */
const leanBodyBytes = 1024 * 1024;

export const ociManifestType = 'application/vnd.oci.image.manifest.v1+json';

export { sha256 };

/**
 * The OCI Distribution operations the bench drives, each by the fastest path the registry offers.
 * Monolithic push: Berth takes `POST /blobs/uploads/?digest=` with the body (one request);
 * Distribution 2.8 does not, so it gets `POST` then `PUT <location>?digest=` with the body.
 */
export class RegistryClient {
  /** `Authorization` header per repository, once obtained, with when it was obtained. */
  private readonly authorization = new Map<string, { header: string; at: number }>();
  /** The token scope asked for each of them, when not the repository's own. */
  private readonly scopes = new Map<string, string>();
  /** Set when the registry answered a Bearer challenge, so the token endpoint can be measured. */
  tokenRealm: { realm: string; service: string | undefined } | undefined;
  /** For small requests (manifests, small blobs, upload starts); transfers go through `http`. */
  private readonly lean: RawHttpClient;

  constructor(
    readonly kind: RegistryKind,
    readonly http: HttpClient,
    private readonly credentials: Credentials | undefined,
  ) {
    this.lean = new RawHttpClient(http.origin);
  }

  close(): void {
    this.lean.close();
    this.http.close();
  }

  /** A request without a body or with a small buffer goes by the lean client, others by node:http. */
  private send(expected: number, options: HttpRequest): Promise<HttpResponse> {
    const { body } = options;
    if (body === undefined || (Buffer.isBuffer(body) && body.length <= leanBodyBytes)) return this.lean.expect(expected, { ...options, body });
    return this.http.expect(expected, options);
  }

  get authenticated(): boolean {
    return this.credentials !== undefined;
  }

  /** The monolithic path this registry gets, for the report. */
  get monolithicPath(): string {
    return this.kind === 'berth' ? 'POST ?digest= with body (1 request)' : 'POST, then PUT ?digest= with body (2 requests)';
  }

  /**
   * Obtains credentials for `repository` before a scenario, so no measured request meets a 401:
   * answers a Bearer challenge at its realm (Basic user:token), a Basic challenge directly, or
   * sends a bare token as Bearer when no user is given.
   */
  async authorize(repository: string, scope = `repository:${repository}:pull,push,delete`): Promise<void> {
    const held = this.authorization.get(repository);
    // Registry tokens live a few minutes: take a fresh one for a scenario if the held one is old.
    if (!this.credentials || (held && Date.now() - held.at < tokenReuseMs)) return;
    const { user, token } = this.credentials;
    if (user === undefined) {
      this.remember(repository, `Bearer ${token}`);
      return;
    }
    const basic = `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
    const probe = await this.http.request({ method: 'GET', url: '/v2/' });
    const challenge = String(probe.headers['www-authenticate'] ?? '');
    if (probe.status !== 401 || !/^bearer /i.test(challenge)) {
      this.remember(repository, basic);
      return;
    }
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!params.realm) throw new Error(`Bearer challenge without realm: ${challenge}`);
    this.tokenRealm = { realm: params.realm, service: params.service };
    this.remember(repository, `Bearer ${await this.fetchToken(repository, basic, scope)}`);
    this.scopes.set(repository, scope);
  }

  /** Basic credentials (user name and token), which Berth also takes on /v2 without a registry token. */
  basicAuth(): Record<string, string> {
    if (!this.credentials?.user) return {};
    return { Authorization: `Basic ${Buffer.from(`${this.credentials.user}:${this.credentials.token}`).toString('base64')}` };
  }

  /** Takes fresh tokens for every repository whose token is getting old; run before each scenario. */
  async refreshAuthorizations(): Promise<void> {
    for (const repository of [...this.authorization.keys()]) await this.authorize(repository, this.scopes.get(repository));
  }

  private remember(repository: string, header: string): void {
    this.authorization.set(repository, { header, at: Date.now() });
  }

  /** One token request at the realm (also the unit of the token-issue scenario). */
  async fetchToken(repository: string, basic?: string, scope = `repository:${repository}:pull,push,delete`): Promise<string> {
    if (!this.tokenRealm || !this.credentials) throw new Error('no token realm');
    const url = new URL(this.tokenRealm.realm);
    if (this.tokenRealm.service) url.searchParams.set('service', this.tokenRealm.service);
    url.searchParams.set('scope', scope);
    const credentials = basic ?? `Basic ${Buffer.from(`${this.credentials.user ?? ''}:${this.credentials.token}`).toString('base64')}`;
    const response = await this.http.expect(200, { method: 'GET', url: url.toString(), headers: { Authorization: credentials } });
    const body = JSON.parse(response.body.toString()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error('token endpoint answered without a token');
    return token;
  }

  /** The URL of a blob, for other load clients. */
  blobUrl(repository: string, digest: string): string {
    return `${this.http.origin}/v2/${repository}/blobs/${digest}`;
  }

  /** The `Authorization` header held for the repository, if any (for other load clients too). */
  auth(repository: string): Record<string, string> {
    const held = this.authorization.get(repository);
    return held ? { Authorization: held.header } : {};
  }

  /** Pushes a whole blob by this registry's fastest monolithic path. */
  async pushBlob(repository: string, digest: string, body: Buffer | Readable, length: number): Promise<void> {
    const headers = { ...this.auth(repository), 'Content-Type': 'application/octet-stream', 'Content-Length': length };
    if (this.kind === 'berth') {
      await this.send(201, { method: 'POST', url: `/v2/${repository}/blobs/uploads/?digest=${digest}`, headers, body });
      return;
    }
    const location = await this.startUpload(repository);
    await this.send(201, { method: 'PUT', url: withDigest(location, digest), headers, body });
  }

  /** Pushes a blob as `PATCH` chunks with `Content-Range`, then `PUT ?digest=` without a body. */
  async pushBlobChunked(repository: string, digest: string, data: Buffer, chunkBytes: number): Promise<void> {
    let location = await this.startUpload(repository);
    for (let start = 0; start < data.length; start += chunkBytes) {
      const chunk = data.subarray(start, Math.min(start + chunkBytes, data.length));
      const response = await this.http.expect(202, {
        method: 'PATCH',
        url: location,
        headers: {
          ...this.auth(repository),
          'Content-Type': 'application/octet-stream',
          'Content-Length': chunk.length,
          'Content-Range': `${start}-${start + chunk.length - 1}`,
        },
        body: chunk,
      });
      location = locationOf(response, location);
    }
    await this.http.expect(201, {
      method: 'PUT',
      url: withDigest(location, digest),
      headers: { ...this.auth(repository), 'Content-Length': 0 },
    });
  }

  /**
   * Pushes a blob as docker and containerd do: `HEAD` the blob (absent), `POST` an upload, one
   * `PATCH` with the whole body and no `Content-Range`, then `PUT ?digest=` without a body.
   */
  async pushBlobAsClients(repository: string, digest: string, body: Buffer | Readable, length = Buffer.isBuffer(body) ? body.length : undefined): Promise<void> {
    await this.send(404, { method: 'HEAD', url: `/v2/${repository}/blobs/${digest}`, headers: this.auth(repository) });
    const location = await this.startUpload(repository);
    const patched = await this.http.expect(202, {
      method: 'PATCH',
      url: location,
      headers: { ...this.auth(repository), 'Content-Type': 'application/octet-stream', ...(length === undefined ? {} : { 'Content-Length': length }) },
      body,
    });
    await this.http.expect(201, {
      method: 'PUT',
      url: withDigest(locationOf(patched, location), digest),
      headers: { ...this.auth(repository), 'Content-Length': 0 },
    });
  }

  private async startUpload(repository: string): Promise<string> {
    const response = await this.send(202, {
      method: 'POST',
      url: `/v2/${repository}/blobs/uploads/`,
      headers: { ...this.auth(repository), 'Content-Length': 0 },
    });
    return locationOf(response, undefined);
  }

  async putManifest(repository: string, reference: string, content: Buffer, mediaType = ociManifestType, auth = this.auth(repository)): Promise<void> {
    await this.send(201, {
      method: 'PUT',
      url: `/v2/${repository}/manifests/${reference}`,
      headers: { ...auth, 'Content-Type': mediaType, 'Content-Length': content.length },
      body: content,
    });
  }

  /** `DELETE` of a manifest by digest (202); a registry that soft-deletes still answers 404 for it afterwards. */
  async deleteManifest(repository: string, digest: string): Promise<void> {
    await this.send(202, { method: 'DELETE', url: `/v2/${repository}/manifests/${digest}`, headers: this.auth(repository) });
  }

  async getManifest(repository: string, reference: string, method: 'GET' | 'HEAD'): Promise<HttpResponse> {
    return this.http.expect(200, {
      method,
      url: `/v2/${repository}/manifests/${reference}`,
      headers: { ...this.auth(repository), Accept: manifestAccept },
    });
  }

  /** One tags page; `next` is the path of the following page from the `Link` header, if any. */
  async tagsPage(repository: string, url = `/v2/${repository}/tags/list`): Promise<{ tags: string[]; next: string | undefined }> {
    const response = await this.http.expect(200, { method: 'GET', url, headers: this.auth(repository) });
    const body = JSON.parse(response.body.toString()) as { tags: string[] | null };
    const link = response.headers.link;
    const next = link ? /<([^>]+)>/.exec(Array.isArray(link) ? (link[0] ?? '') : link)?.[1] : undefined;
    return { tags: body.tags ?? [], next };
  }
}

function locationOf(response: HttpResponse, previous: string | undefined): string {
  const location = response.headers.location;
  if (!location) {
    if (previous) return previous;
    throw new Error(`no Location in the ${response.status} answer`);
  }
  return location;
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location, 'http://placeholder');
  url.searchParams.set('digest', digest);
  return url.origin === 'http://placeholder' ? url.pathname + url.search : url.toString();
}

/** A small OCI image manifest referencing `config` and `layer`, made unique by `annotation`. */
export function imageManifest(config: { digest: string; size: number }, layer: { digest: string; size: number }, annotation: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifestType,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
      annotations: { 'org.example.bench': annotation },
    }),
  );
}
