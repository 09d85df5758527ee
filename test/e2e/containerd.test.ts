// containerd's resolver and pusher (`ctr images pull/push --plain-http`) against the registry.
// containerd resolves with HEAD, HEADs by digest before each PUT, and uploads with POST then a
// single PUT carrying the whole blob.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startContainerd } from '../support/containerd-process.js';
import type { ContainerdHandle } from '../support/containerd-process.js';
import { execOk, missingTools } from '../support/exec.js';
import type { ExecResult } from '../support/exec.js';
import { MediaType, buildImage, buildIndex } from '../support/oci-layout.js';
import type { BuiltImage } from '../support/oci-layout.js';
import { getBlob, getManifest, pushImage, pushIndex, registryFetch } from '../support/registry-http.js';
import { startRegistry } from '../support/registry-process.js';
import type { RegistryHandle } from '../support/registry-process.js';
import { requiredTools } from '../support/required-tools.js';

const skip = requiredTools(await missingTools(['containerd', 'ctr']), { rootOnly: true });

describe('containerd (ctr)', { skip, timeout: 600_000 }, () => {
  let registry: RegistryHandle;
  let containerd: ContainerdHandle;

  before(async () => {
    registry = await startRegistry();
    containerd = await startContainerd();
  });

  after(async () => {
    await containerd?.close();
    await registry?.close();
  });

  const ctr = (args: readonly string[]): Promise<ExecResult> =>
    execOk('ctr', ['--address', containerd.socket, '--namespace', 'berth-e2e', ...args], { timeoutMs: 120_000 });
  const remoteArgs = (): string[] => {
    const creds = registry.credentials;
    return ['--plain-http', ...(creds === undefined ? [] : ['--user', `${creds.username}:${creds.password}`])];
  };
  /** Digest of a local image, from `ctr images ls`. */
  const localDigest = async (ref: string): Promise<string | undefined> => {
    const { stdout } = await ctr(['images', 'ls']);
    for (const line of stdout.split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols[0] === ref) return cols.find((c) => c.startsWith('sha256:'));
    }
    return undefined;
  };

  /** Every blob of the image is in the repository with the same bytes. */
  const assertImageInRepo = async (repo: string, image: BuiltImage): Promise<void> => {
    assert.deepEqual((await getManifest(registry, repo, image.manifest.descriptor.digest)).bytes, image.manifest.bytes);
    for (const blob of image.blobs) {
      assert.deepEqual(await getBlob(registry, repo, blob.descriptor.digest), blob.bytes);
    }
  };

  it('ctr images pull then push to another repository keeps an OCI image byte-identical', async () => {
    const image = buildImage({
      layers: [{ 'etc/ctr-e2e': 'one\n' }, { 'srv/data': Buffer.alloc(100_000, 9) }],
      labels: { 'com.example.e2e': 'containerd' },
    });
    await pushImage(registry, 'e2e/ctr/app', image, 'v1');

    const ref = `${registry.host}/e2e/ctr/app:v1`;
    await ctr(['images', 'pull', ...remoteArgs(), '--snapshotter', 'native', ref]);
    assert.equal(await localDigest(ref), image.manifest.descriptor.digest);
    const stored = await ctr(['content', 'get', image.manifest.descriptor.digest]);
    assert.equal(stored.stdout, image.manifest.bytes.toString('utf8'));

    const target = `${registry.host}/e2e/ctr/app-copy:v2`;
    await ctr(['images', 'push', ...remoteArgs(), target, ref]);
    const pushed = await getManifest(registry, 'e2e/ctr/app-copy', 'v2');
    assert.equal(pushed.mediaType, MediaType.ociManifest);
    assert.equal(pushed.digest, image.manifest.descriptor.digest);
    assert.deepEqual(pushed.bytes, image.manifest.bytes);
    await assertImageInRepo('e2e/ctr/app-copy', image);

    // Pushing again finds everything present (HEAD before PUT) and still succeeds.
    await ctr(['images', 'push', ...remoteArgs(), target, ref]);
  });

  for (const flavor of ['oci', 'docker'] as const) {
    const kind = flavor === 'oci' ? 'OCI index' : 'Docker manifest list';
    it(`ctr images pull --all-platforms then push keeps a multi-arch ${kind} byte-identical`, async () => {
      const index = buildIndex({
        flavor,
        ...(flavor === 'oci' ? { annotations: { 'org.opencontainers.image.description': 'ctr multi-arch' } } : {}),
      });
      const repo = `e2e/ctr/multi-${flavor}`;
      await pushIndex(registry, repo, index, 'v1');

      const ref = `${registry.host}/${repo}:v1`;
      await ctr(['images', 'pull', ...remoteArgs(), '--all-platforms', '--snapshotter', 'native', ref]);
      assert.equal(await localDigest(ref), index.index.descriptor.digest);

      const targetRepo = `${repo}-copy`;
      await ctr(['images', 'push', ...remoteArgs(), `${registry.host}/${targetRepo}:v1`, ref]);
      const pushed = await getManifest(registry, targetRepo, 'v1');
      assert.equal(pushed.mediaType, flavor === 'oci' ? MediaType.ociIndex : MediaType.dockerManifestList);
      assert.deepEqual(pushed.bytes, index.index.bytes);
      for (const image of index.images) await assertImageInRepo(targetRepo, image);

      const tags = await registryFetch(registry, `/v2/${targetRepo}/tags/list`);
      assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['v1']);
    });
  }
});
