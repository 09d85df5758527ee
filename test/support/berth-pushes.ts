import assert from 'node:assert/strict';
import type { Berth } from '../../src/server.js';
import { sha256 } from './digests.js';

/**
 * Pushes through a Berth in process (`inject`), with an Authorization header or none: the blobs
 * and manifests the auth and package tests push. Each asserts its 201.
 */

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

/** An OCI image manifest over one config and one layer pushed before. */
export function imageManifest(config: { digest: string; size: number }, layer: { digest: string; size: number }, annotations?: Record<string, string>): object {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
    ...(annotations ? { annotations } : {}),
  };
}
