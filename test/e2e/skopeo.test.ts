// skopeo (containers/image) against the registry: content goes in and comes back out
// byte-identical, for OCI images, OCI indexes, Docker manifest lists and artifacts with a subject.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { missingTools } from '../support/exec.js';
import {
  MediaType,
  buildArtifact,
  buildImage,
  buildIndex,
  findLayoutRef,
  readLayoutBlob,
  sha256,
  writeImageLayout,
  writeIndexLayout,
} from '../support/oci-layout.js';
import type { BuiltImage, Descriptor, OciIndexJson } from '../support/oci-layout.js';
import { getManifest, pushImage, pushIndex, registryFetch } from '../support/registry-http.js';
import { testDir } from '../support/registry-process.js';
import type { RegistryHandle } from '../support/registry-process.js';
import { type Skopeo, startRegistryWithSkopeo } from '../support/skopeo.js';
import { requiredTools } from '../support/required-tools.js';

const skip = requiredTools(await missingTools(['skopeo']));

/** Asserts that every blob an image needs is in an OCI layout with the same bytes. */
async function assertImageInLayout(dir: string, image: BuiltImage): Promise<void> {
  assert.deepEqual(await readLayoutBlob(dir, image.manifest.descriptor.digest), image.manifest.bytes, 'manifest bytes');
  for (const blob of image.blobs) {
    assert.deepEqual(await readLayoutBlob(dir, blob.descriptor.digest), blob.bytes, `blob ${blob.descriptor.digest}`);
  }
}

describe('skopeo', { skip, timeout: 600_000 }, () => {
  let registry: RegistryHandle;
  let skopeo: Skopeo;
  let close: (() => Promise<void>) | undefined;

  before(async () => {
    ({ registry, skopeo, close } = await startRegistryWithSkopeo());
  });

  after(() => close?.());

  it('copy oci: -> registry -> oci: keeps a multi-layer OCI image byte-identical', async (t) => {
    const image = buildImage({
      layers: [
        { 'etc/os-release': 'ID=berth-e2e\n' },
        { 'usr/share/berth/data.bin': Buffer.alloc(64 * 1024, 7) },
        { 'opt/app/README': 'third layer\n', 'opt/app/bin/tool': '#!/bin/sh\necho hi\n' },
      ],
      labels: { 'org.opencontainers.image.source': 'https://example.com/acme/app', 'com.example.e2e': 'skopeo' },
      annotations: { 'org.opencontainers.image.description': 'multi-layer e2e image' },
    });
    const digest = image.manifest.descriptor.digest;
    const src = await testDir(t, 'oci-src');
    await writeImageLayout(src, image, 'v1');

    await skopeo.copy(`oci:${src}:v1`, skopeo.ref('e2e/skopeo/image', 'v1'), ['--preserve-digests']);

    const raw = await skopeo.inspectRaw(skopeo.ref('e2e/skopeo/image', 'v1'));
    assert.equal(sha256(raw), digest, 'skopeo inspect --raw returns the pushed manifest');
    const fetched = await getManifest(registry, 'e2e/skopeo/image', 'v1');
    assert.deepEqual(fetched.bytes, image.manifest.bytes);
    assert.equal(fetched.digest, digest);
    assert.equal(fetched.mediaType, MediaType.ociManifest);

    // Back out, by tag and by digest.
    const byTag = await testDir(t, 'oci-by-tag');
    await skopeo.copy(skopeo.ref('e2e/skopeo/image', 'v1'), `oci:${byTag}:v1`, ['--preserve-digests']);
    assert.equal((await findLayoutRef(byTag, 'v1')).digest, digest);
    await assertImageInLayout(byTag, image);

    const byDigest = await testDir(t, 'oci-by-digest');
    await skopeo.copy(skopeo.ref('e2e/skopeo/image', digest), `oci:${byDigest}:pinned`, ['--preserve-digests']);
    assert.equal((await findLayoutRef(byDigest, 'pinned')).digest, digest);
    await assertImageInLayout(byDigest, image);
  });

  it('copy --all oci: -> registry -> oci: keeps a multi-arch OCI index and its children byte-identical', async (t) => {
    const index = buildIndex({
      annotations: {
        'org.opencontainers.image.description': 'multi-arch e2e index',
        'org.opencontainers.image.licenses': 'Apache-2.0',
      },
      labels: { 'com.example.e2e': 'multi-arch' },
    });
    const digest = index.index.descriptor.digest;
    const src = await testDir(t, 'oci-index-src');
    await writeIndexLayout(src, index, 'v1');

    await skopeo.copy(`oci:${src}:v1`, skopeo.ref('e2e/skopeo/multi', 'v1'), ['--all', '--preserve-digests']);

    assert.equal(sha256(await skopeo.inspectRaw(skopeo.ref('e2e/skopeo/multi', 'v1'))), digest);
    const fetched = await getManifest(registry, 'e2e/skopeo/multi', 'v1');
    assert.deepEqual(fetched.bytes, index.index.bytes);
    assert.equal(fetched.mediaType, MediaType.ociIndex);
    for (const image of index.images) {
      const child = image.manifest.descriptor.digest;
      assert.equal(sha256(await skopeo.inspectRaw(skopeo.ref('e2e/skopeo/multi', child))), child);
    }

    const out = await testDir(t, 'oci-index-out');
    await skopeo.copy(skopeo.ref('e2e/skopeo/multi', 'v1'), `oci:${out}:v1`, ['--all', '--preserve-digests']);
    const ref = await findLayoutRef(out, 'v1');
    assert.equal(ref.digest, digest);
    assert.equal(ref.mediaType, MediaType.ociIndex);
    assert.deepEqual(await readLayoutBlob(out, digest), index.index.bytes, 'index bytes');
    for (const image of index.images) await assertImageInLayout(out, image);

    // And registry -> registry, which mounts or re-uploads every blob.
    await skopeo.copy(skopeo.ref('e2e/skopeo/multi', 'v1'), skopeo.ref('e2e/skopeo/multi-copy', 'v1'), [
      '--all',
      '--preserve-digests',
    ]);
    assert.deepEqual((await getManifest(registry, 'e2e/skopeo/multi-copy', 'v1')).bytes, index.index.bytes);
  });

  it('copy --all --format v2s2 pushes a Docker manifest list that skopeo converted from an OCI index', async (t) => {
    const index = buildIndex({ labels: { 'com.example.e2e': 'converted' } });
    const src = await testDir(t, 'oci-to-v2s2');
    await writeIndexLayout(src, index, 'v1');
    await skopeo.copy(`oci:${src}:v1`, skopeo.ref('e2e/skopeo/converted', 'v1'), ['--all', '--format', 'v2s2']);

    const raw = await skopeo.inspectRaw(skopeo.ref('e2e/skopeo/converted', 'v1'));
    const list = JSON.parse(raw.toString('utf8')) as OciIndexJson;
    assert.equal(list.mediaType, MediaType.dockerManifestList);
    assert.equal(list.manifests.length, 2);
    const fetched = await getManifest(registry, 'e2e/skopeo/converted', 'v1');
    assert.equal(fetched.mediaType, MediaType.dockerManifestList);
    assert.equal(fetched.digest, sha256(raw));
    for (const child of list.manifests) {
      assert.equal(child.mediaType, MediaType.dockerManifest);
      const childRaw = await skopeo.inspectRaw(skopeo.ref('e2e/skopeo/converted', child.digest));
      assert.equal(sha256(childRaw), child.digest);
      assert.equal(childRaw.length, child.size);
    }

    // And out again unchanged.
    const dir = await testDir(t, 'dir-converted');
    await skopeo.copy(skopeo.ref('e2e/skopeo/converted', 'v1'), `dir:${dir}`, ['--all', '--preserve-digests']);
    assert.deepEqual(await readFile(path.join(dir, 'manifest.json')), raw);
  });

  it('copy --all keeps a Docker v2s2 manifest list byte-identical (registry -> registry, dir:, and back)', async (t) => {
    // Exact bytes of our own: the list and its Docker v2s2 children are PUT over HTTP, as
    // `docker manifest push` would, then skopeo moves them around with --preserve-digests.
    const list = buildIndex({ flavor: 'docker', labels: { 'com.example.e2e': 'docker-list' } });
    const digest = list.index.descriptor.digest;
    await pushIndex(registry, 'e2e/skopeo/dockerlist', list, 'v1');

    assert.equal(sha256(await skopeo.inspectRaw(skopeo.ref('e2e/skopeo/dockerlist', 'v1'))), digest);
    const fetched = await getManifest(registry, 'e2e/skopeo/dockerlist', 'v1');
    assert.equal(fetched.mediaType, MediaType.dockerManifestList);
    assert.deepEqual(fetched.bytes, list.index.bytes);
    for (const image of list.images) {
      const child = await getManifest(registry, 'e2e/skopeo/dockerlist', image.manifest.descriptor.digest);
      assert.equal(child.mediaType, MediaType.dockerManifest);
      assert.deepEqual(child.bytes, image.manifest.bytes);
    }

    // registry -> registry
    await skopeo.copy(skopeo.ref('e2e/skopeo/dockerlist', 'v1'), skopeo.ref('e2e/skopeo/dockerlist-copy', 'v1'), [
      '--all',
      '--preserve-digests',
    ]);
    const copied = await getManifest(registry, 'e2e/skopeo/dockerlist-copy', 'v1');
    assert.equal(copied.mediaType, MediaType.dockerManifestList);
    assert.deepEqual(copied.bytes, list.index.bytes);

    // registry -> dir: (keeps the list as manifest.json, children as <digest>.manifest.json)
    const dir = await testDir(t, 'dir-list');
    await skopeo.copy(skopeo.ref('e2e/skopeo/dockerlist', 'v1'), `dir:${dir}`, ['--all', '--preserve-digests']);
    assert.deepEqual(await readFile(path.join(dir, 'manifest.json')), list.index.bytes);
    for (const image of list.images) {
      const hex = image.manifest.descriptor.digest.slice('sha256:'.length);
      assert.deepEqual(await readFile(path.join(dir, `${hex}.manifest.json`)), image.manifest.bytes);
      for (const blob of image.blobs) {
        assert.deepEqual(await readFile(path.join(dir, blob.descriptor.digest.slice('sha256:'.length))), blob.bytes);
      }
    }

    // dir: -> registry, a new repository
    await skopeo.copy(`dir:${dir}`, skopeo.ref('e2e/skopeo/dockerlist-fromdir', 'v1'), ['--all', '--preserve-digests']);
    const fromDir = await getManifest(registry, 'e2e/skopeo/dockerlist-fromdir', 'v1');
    assert.equal(fromDir.mediaType, MediaType.dockerManifestList);
    assert.equal(fromDir.digest, digest);
    assert.deepEqual(fromDir.bytes, list.index.bytes);
  });

  it('copy of a Docker v2s2 image (docker:// -> oci: with --format oci converts; dir: round trip keeps bytes)', async (t) => {
    const image = buildImage({ flavor: 'docker', layers: [{ 'etc/docker-e2e': 'v2s2\n' }, { 'srv/x': 'y\n' }] });
    await pushImage(registry, 'e2e/skopeo/docker-image', image, 'v1');
    assert.equal(sha256(await skopeo.inspectRaw(skopeo.ref('e2e/skopeo/docker-image', 'v1'))), image.manifest.descriptor.digest);

    const dir = await testDir(t, 'dir-image');
    await skopeo.copy(skopeo.ref('e2e/skopeo/docker-image', 'v1'), `dir:${dir}`, ['--preserve-digests']);
    assert.deepEqual(await readFile(path.join(dir, 'manifest.json')), image.manifest.bytes);
    await skopeo.copy(`dir:${dir}`, skopeo.ref('e2e/skopeo/docker-image-back', 'v1'), ['--preserve-digests']);
    const back = await getManifest(registry, 'e2e/skopeo/docker-image-back', 'v1');
    assert.equal(back.mediaType, MediaType.dockerManifest);
    assert.deepEqual(back.bytes, image.manifest.bytes);

    // A conversion makes a new OCI manifest: the registry must accept what skopeo generates.
    const oci = await testDir(t, 'oci-converted');
    await skopeo.copy(skopeo.ref('e2e/skopeo/docker-image', 'v1'), `oci:${oci}:v1`, ['--format', 'oci']);
    const converted = await findLayoutRef(oci, 'v1');
    assert.equal(converted.mediaType, MediaType.ociManifest);
    await skopeo.copy(`oci:${oci}:v1`, skopeo.ref('e2e/skopeo/docker-image-oci', 'v1'), ['--preserve-digests']);
    assert.equal((await getManifest(registry, 'e2e/skopeo/docker-image-oci', 'v1')).digest, converted.digest);
  });

  it('an artifact with a subject pushed by skopeo is listed by GET /v2/<name>/referrers/<digest>', async (t) => {
    const repo = 'e2e/skopeo/with-referrers';
    const subject = buildImage({ layers: [{ 'app/main': 'subject image\n' }] });
    const subjectDir = await testDir(t, 'oci-subject');
    await writeImageLayout(subjectDir, subject, 'v1');
    await skopeo.copy(`oci:${subjectDir}:v1`, skopeo.ref(repo, 'v1'), ['--preserve-digests']);

    const artifactType = 'application/vnd.berth.e2e.sbom.v1';
    const artifact = buildArtifact({
      artifactType,
      subject: subject.manifest.descriptor,
      annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'com.example.kind': 'sbom' },
    });
    const artifactDigest = artifact.manifest.descriptor.digest;
    const artifactDir = await testDir(t, 'oci-artifact');
    await writeImageLayout(artifactDir, artifact, 'sbom');
    // Referrers are usually untagged: push by digest.
    await skopeo.copy(`oci:${artifactDir}:sbom`, skopeo.ref(repo, artifactDigest), ['--preserve-digests']);
    const fetched = await getManifest(registry, repo, artifactDigest);
    assert.deepEqual(fetched.bytes, artifact.manifest.bytes);
    assert.equal(fetched.mediaType, MediaType.ociManifest);
    const out = await testDir(t, 'oci-artifact-out');
    await skopeo.copy(skopeo.ref(repo, artifactDigest), `oci:${out}:sbom`, ['--preserve-digests']);
    assert.equal((await findLayoutRef(out, 'sbom')).digest, artifactDigest);

    if (registry.kind === 'distribution') {
      t.diagnostic('Distribution 2.8 has no referrers API; referrers assertions skipped');
      return;
    }
    const res = await registryFetch(registry, `/v2/${repo}/referrers/${subject.manifest.descriptor.digest}`);
    assert.equal(res.status, 200, `GET referrers: ${res.status}`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/vnd\.oci\.image\.index\.v1\+json/);
    const referrers = (await res.json()) as OciIndexJson;
    assert.equal(referrers.schemaVersion, 2);
    const entry = referrers.manifests.find((d: Descriptor) => d.digest === artifactDigest);
    assert.ok(entry !== undefined, `referrers lists ${artifactDigest}: ${JSON.stringify(referrers)}`);
    assert.equal(entry.mediaType, MediaType.ociManifest);
    assert.equal(entry.size, artifact.manifest.bytes.length);
    assert.equal(entry.artifactType, artifactType);
    assert.equal(entry.annotations?.['com.example.kind'], 'sbom');

    // Filtering by artifactType is optional (OCI-Filters-Applied says when it was done).
    const filtered = await registryFetch(
      registry,
      `/v2/${repo}/referrers/${subject.manifest.descriptor.digest}?artifactType=${encodeURIComponent('application/x-other')}`,
    );
    assert.equal(filtered.status, 200);
    const filteredBody = (await filtered.json()) as OciIndexJson;
    if (filtered.headers.get('oci-filters-applied')?.includes('artifactType')) {
      assert.equal(filteredBody.manifests.length, 0);
    }
  });
});
