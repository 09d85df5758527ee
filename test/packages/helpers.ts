import assert from 'node:assert/strict';
import type { Berth } from '../../src/server.js';
import { sha256 } from '../auth/helpers.js';

export interface Pushed {
  digest: string;
  size: number;
  mediaType: string;
  /** Sum of the manifest, config and layer sizes. */
  total: number;
}

function headers(authorization: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(authorization ? { authorization } : {}), ...extra };
}

export async function pushBlob(berth: Berth, repo: string, authorization: string | undefined, body: string | Buffer): Promise<{ digest: string; size: number }> {
  const res = await berth.app.inject({
    method: 'POST',
    url: `/v2/${repo}/blobs/uploads/?digest=${sha256(body)}`,
    headers: headers(authorization, { 'content-type': 'application/octet-stream' }),
    payload: body,
  });
  assert.equal(res.statusCode, 201, `blob push to ${repo}: ${res.body}`);
  return { digest: sha256(body), size: Buffer.byteLength(body) };
}

export async function putManifest(berth: Berth, repo: string, authorization: string | undefined, reference: string, manifest: object): Promise<Pushed> {
  const body = JSON.stringify(manifest);
  const mediaType = (manifest as { mediaType: string }).mediaType;
  const res = await berth.app.inject({
    method: 'PUT',
    url: `/v2/${repo}/manifests/${reference}`,
    headers: headers(authorization, { 'content-type': mediaType }),
    payload: body,
  });
  assert.equal(res.statusCode, 201, `manifest push to ${repo}: ${res.body}`);
  return { digest: sha256(body), size: Buffer.byteLength(body), mediaType, total: Buffer.byteLength(body) };
}

/** Pushes an image whose config carries `labels` and whose manifest carries `annotations`. */
export async function pushLabelledImage(
  berth: Berth,
  repo: string,
  authorization: string | undefined,
  options: { tag?: string; labels?: Record<string, string>; annotations?: Record<string, string>; arch?: string; seed?: string } = {},
): Promise<Pushed> {
  const arch = options.arch ?? 'amd64';
  const config = JSON.stringify({ architecture: arch, os: 'linux', config: { Labels: options.labels ?? {} }, seed: options.seed ?? '' });
  const layer = `layer ${repo} ${arch} ${options.seed ?? ''}`;
  const c = await pushBlob(berth, repo, authorization, config);
  const l = await pushBlob(berth, repo, authorization, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: c.digest, size: c.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size }],
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const body = JSON.stringify(manifest);
  const pushed = await putManifest(berth, repo, authorization, options.tag ?? sha256(body), manifest);
  return { ...pushed, total: pushed.size + c.size + l.size };
}

/** Pushes a multi-arch index over the given images (plus an attestation when asked). */
export async function pushIndex(
  berth: Berth,
  repo: string,
  authorization: string | undefined,
  children: Array<{ image: Pushed; platform: { os: string; architecture: string; variant?: string } }>,
  options: { tag?: string; annotations?: Record<string, string>; attestationFor?: Pushed } = {},
): Promise<Pushed> {
  const manifests: object[] = children.map(({ image, platform }) => ({ mediaType: image.mediaType, digest: image.digest, size: image.size, platform }));
  let total = 0;
  if (options.attestationFor) {
    const attestation = await pushLabelledImage(berth, repo, authorization, { seed: 'attestation', arch: 'unknown' });
    total += attestation.total;
    manifests.push({
      mediaType: attestation.mediaType,
      digest: attestation.digest,
      size: attestation.size,
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': options.attestationFor.digest },
    });
  }
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const pushed = await putManifest(berth, repo, authorization, options.tag ?? sha256(JSON.stringify(index)), index);
  return { ...pushed, total: pushed.size + total + children.reduce((sum, child) => sum + child.image.total, 0) };
}
