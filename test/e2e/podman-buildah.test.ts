// podman and buildah against the registry: push, pull, and a build whose base image comes from
// the registry. Storage is vfs in temp dirs; no container is ever run (no runtime is needed).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createContainersEnv } from '../support/containers-env.js';
import type { ContainersEnv } from '../support/containers-env.js';
import { execOk, missingTools } from '../support/exec.js';
import type { ExecResult } from '../support/exec.js';
import { MediaType, buildImage, readTar, writeImageLayout } from '../support/oci-layout.js';
import type { Descriptor } from '../support/oci-layout.js';
import { getBlob, getManifest, pushImage, registryFetch } from '../support/registry-http.js';
import { startRegistry, testDir } from '../support/registry-process.js';
import type { RegistryHandle } from '../support/registry-process.js';
import { requiredTools } from '../support/required-tools.js';

const skip = requiredTools(await missingTools(['podman', 'buildah']));

interface ManifestJson {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

describe('podman and buildah', { skip, timeout: 600_000 }, () => {
  let registry: RegistryHandle;
  let containers: ContainersEnv;

  before(async () => {
    registry = await startRegistry();
    containers = await createContainersEnv([registry.host]);
  });

  after(async () => {
    await registry?.close();
    await containers?.cleanup();
  });

  /** Flags every pull/push needs: our policy, plain HTTP, and credentials when the registry has them. */
  const remoteArgs = (): string[] => {
    const creds = registry.credentials;
    return [
      '--signature-policy',
      containers.policyPath,
      '--tls-verify=false',
      ...(creds === undefined ? [] : ['--creds', `${creds.username}:${creds.password}`]),
    ];
  };
  const podman = (args: readonly string[]): Promise<ExecResult> =>
    execOk('podman', [...containers.storageArgs, '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', ...args], {
      env: containers.env,
      timeoutMs: 120_000,
    });
  const buildah = (args: readonly string[]): Promise<ExecResult> =>
    execOk('buildah', [...containers.storageArgs, ...args], { env: containers.env, timeoutMs: 120_000 });
  const imageId = async (ref: string): Promise<string> =>
    (await podman(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim();

  it('podman push then podman pull of an image loaded from an oci: layout keeps its image ID', async (t) => {
    const image = buildImage({
      layers: [{ 'etc/podman-e2e': 'base\n' }, { 'usr/share/podman-e2e/data': Buffer.alloc(32 * 1024, 3) }],
      labels: { 'com.example.e2e': 'podman' },
    });
    const configHex = image.config.descriptor.digest.slice('sha256:'.length);
    const layout = await testDir(t, 'podman-layout');
    await writeImageLayout(layout, image, 'v1');
    const pulled = await podman(['pull', '--signature-policy', containers.policyPath, `oci:${layout}:v1`]);
    assert.equal(pulled.stdout.trim().split('\n').pop(), configHex, 'image ID is the config digest');

    const ref = `${registry.host}/e2e/podman/app:v1`;
    await podman(['tag', configHex, ref]);
    await podman(['push', ...remoteArgs(), ref]);
    const pushed = await getManifest(registry, 'e2e/podman/app', 'v1');
    assert.equal(pushed.mediaType, MediaType.ociManifest);
    const manifest = JSON.parse(pushed.bytes.toString('utf8')) as ManifestJson;
    assert.equal(manifest.config.digest, image.config.descriptor.digest);
    assert.equal(manifest.layers.length, 2);
    const tags = await registryFetch(registry, '/v2/e2e/podman/app/tags/list');
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['v1']);

    // A v2s2 push of the same image to another repository (podman converts the manifest).
    const dockerRef = `${registry.host}/e2e/podman/app-v2s2:v1`;
    await podman(['push', ...remoteArgs(), '--format', 'v2s2', ref, `docker://${dockerRef}`]);
    assert.equal((await getManifest(registry, 'e2e/podman/app-v2s2', 'v1')).mediaType, MediaType.dockerManifest);

    // Forget everything local, then pull both back.
    await podman(['rmi', '--all', '--force']);
    await podman(['pull', ...remoteArgs(), ref]);
    assert.equal(await imageId(ref), configHex);
    const digests = (await podman(['image', 'inspect', '--format', '{{.Digest}}', ref])).stdout.trim();
    assert.equal(digests, pushed.digest, 'podman records the manifest digest the registry served');
    await podman(['pull', ...remoteArgs(), dockerRef]);
    assert.equal(await imageId(dockerRef), configHex);
  });

  it('buildah bud FROM the registry with a COPY step, buildah push, and pull back', async (t) => {
    const base = buildImage({
      layers: [{ 'etc/base-release': 'base image\n' }],
      labels: { 'com.example.base': 'yes' },
    });
    await pushImage(registry, 'e2e/buildah/base', base, 'latest');

    const context = await testDir(t, 'buildah-context');
    await writeFile(path.join(context, 'hello.txt'), 'hello from buildah\n');
    await writeFile(
      path.join(context, 'Containerfile'),
      [`FROM ${registry.host}/e2e/buildah/base`, 'COPY hello.txt /srv/hello.txt', 'LABEL com.example.e2e=buildah', ''].join('\n'),
    );
    const ref = `${registry.host}/e2e/buildah/app:v1`;
    await buildah([
      'bud',
      ...remoteArgs(),
      '--isolation',
      'chroot',
      '--format',
      'oci',
      '--layers=false',
      '-f',
      path.join(context, 'Containerfile'),
      '-t',
      ref,
      context,
    ]);
    await buildah(['push', ...remoteArgs(), ref]);

    const pushed = await getManifest(registry, 'e2e/buildah/app', 'v1');
    assert.equal(pushed.mediaType, MediaType.ociManifest);
    const manifest = JSON.parse(pushed.bytes.toString('utf8')) as ManifestJson;
    assert.equal(manifest.layers.length, 2, 'base layer + COPY layer');
    const config = JSON.parse((await getBlob(registry, 'e2e/buildah/app', manifest.config.digest)).toString('utf8')) as {
      config: { Labels: Record<string, string> };
    };
    assert.equal(config.config.Labels['com.example.e2e'], 'buildah');
    assert.equal(config.config.Labels['com.example.base'], 'yes', 'labels inherited from the base pulled from the registry');
    const top = manifest.layers.at(-1);
    assert.ok(top !== undefined);
    const files = readTar(gunzipSync(await getBlob(registry, 'e2e/buildah/app', top.digest)));
    assert.equal(files.get('srv/hello.txt')?.toString('utf8'), 'hello from buildah\n');

    // Pull it back into empty local storage with buildah, and with podman.
    await buildah(['rmi', '--all', '--force']);
    await buildah(['pull', ...remoteArgs(), ref]);
    const labels = (await buildah(['inspect', '--type', 'image', '--format', '{{index .OCIv1.Config.Labels "com.example.e2e"}}', ref])).stdout.trim();
    assert.equal(labels, 'buildah');
    await podman(['rmi', '--all', '--force']);
    await podman(['pull', ...remoteArgs(), ref]);
    assert.equal(await imageId(ref), manifest.config.digest.slice('sha256:'.length));
  });
});
