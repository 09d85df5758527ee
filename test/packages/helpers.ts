import type { Berth } from '../../src/server.js';
import { type Pushed, imageManifest, pushBlob, putManifest } from '../support/berth-pushes.js';
import { sha256 } from '../support/digests.js';

export { type Pushed, pushBlob, putManifest };

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
  const manifest = imageManifest(c, l, options.annotations);
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

/** A multi-arch image: an amd64 and an arm64 image (of `armVariant`, when given) under an index pushed with `index`. */
export async function pushMultiArch(
  berth: Berth,
  repo: string,
  authorization: string | undefined,
  options: { armVariant?: string; index?: Parameters<typeof pushIndex>[4] } = {},
): Promise<{ amd: Pushed; arm: Pushed; index: Pushed }> {
  const amd = await pushLabelledImage(berth, repo, authorization, { arch: 'amd64' });
  const arm = await pushLabelledImage(berth, repo, authorization, { arch: 'arm64' });
  const arm64 = { os: 'linux', architecture: 'arm64', ...(options.armVariant === undefined ? {} : { variant: options.armVariant }) };
  const index = await pushIndex(
    berth,
    repo,
    authorization,
    [
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: arm64 },
    ],
    options.index,
  );
  return { amd, arm, index };
}
