// skopeo pushes images whose labels and index annotations describe the package; the package API
// then shows the description, license, source link, versions and platforms they set.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { missingTools } from '../support/exec.js';
import { buildImage, buildIndex, writeImageLayout, writeIndexLayout } from '../support/oci-layout.js';
import { repoRoot, targetKind, testDir } from '../support/registry-process.js';
import type { RegistryHandle } from '../support/registry-process.js';
import { type Skopeo, startRegistryWithSkopeo } from '../support/skopeo.js';
import { requiredTools } from '../support/required-tools.js';

const skip = requiredTools(await missingTools(['skopeo'])) || (targetKind() !== 'berth' ? 'packages are Berth’s' : false);

/** `berth ARGS --data-dir DIR` while the server runs (SQLite WAL). */
function cli(args: string[], dataDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot(), 'bin', 'berth.js'), ...args, '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`berth ${args.join(' ')}: ${stderr}`))));
  });
}

describe('skopeo pushes and package metadata', { skip, timeout: 600_000 }, () => {
  let registry: RegistryHandle;
  let skopeo: Skopeo;
  let close: (() => Promise<void>) | undefined;
  const api = async (pathname: string) => {
    const res = await fetch(`${registry.url}/api${pathname}`, { headers: { authorization: `Bearer ${registry.credentials?.password ?? ''}` } });
    assert.equal(res.status, 200, `${pathname}: ${res.status}`);
    return res.json() as Promise<any>;
  };

  before(async () => {
    ({ registry, skopeo, close } = await startRegistryWithSkopeo());
    await cli(['repo', 'create', 'e2e/tools'], registry.dataDir);
  });

  after(() => close?.());

  it('a multi-arch index: description and source from the index annotations, license from the images, linked, platforms listed', async (t) => {
    const description = 'Werkzeuge für Häfen ⚓ — 港口工具 🚢';
    const index = buildIndex({
      annotations: {
        'org.opencontainers.image.description': description,
        'org.opencontainers.image.source': 'https://git.example.com/e2e/tools.git/',
      },
      labels: { 'org.opencontainers.image.licenses': 'Apache-2.0 OR MIT', 'org.opencontainers.image.description': 'from the labels' },
    });
    const src = await testDir(t, 'pkg-index');
    await writeIndexLayout(src, index, 'v1');
    await skopeo.copy(`oci:${src}:v1`, skopeo.ref('e2e/tools', 'v1'), ['--all', '--preserve-digests']);

    const pkg = await api('/users/e2e/packages/container/tools');
    assert.equal(pkg.name, 'tools');
    assert.equal(pkg.visibility, 'private');
    assert.equal(pkg.version_count, 3);
    assert.equal(pkg.image_metadata.description, description);
    assert.equal(pkg.image_metadata.licenses, 'Apache-2.0 OR MIT');
    assert.equal(pkg.repository.full_name, 'e2e/tools');
    assert.equal(pkg.inherit_access, true);
    const versions = await api('/users/e2e/packages/container/tools/versions');
    const top = versions.find((version: any) => version.name === index.index.descriptor.digest);
    assert.deepEqual(top.metadata, { package_type: 'container', container: { tags: ['v1'] } });
    assert.deepEqual(top.platforms, ['linux/amd64', 'linux/arm64/v8']);
  });

  it('a single image: labels give the description (cut at 512 characters) and license; the source of another owner does not link', async (t) => {
    const long = 'Ü'.repeat(300) + '🚢'.repeat(300);
    const image = buildImage({
      labels: {
        'org.opencontainers.image.description': long,
        'org.opencontainers.image.licenses': 'GPL-3.0-only',
        'org.opencontainers.image.source': 'https://git.example.com/someone-else/tools',
      },
    });
    const src = await testDir(t, 'pkg-image');
    await writeImageLayout(src, image, 'v1');
    await skopeo.copy(`oci:${src}:v1`, skopeo.ref('e2e/single', 'v1'), ['--preserve-digests']);
    const pkg = await api('/users/e2e/packages/container/single');
    assert.equal(pkg.image_metadata.description, 'Ü'.repeat(300) + '🚢'.repeat(212));
    assert.equal(pkg.image_metadata.licenses, 'GPL-3.0-only');
    assert.equal('repository' in pkg, false);
  });

  it('skopeo copy of another image to an immutable tag fails with the rule; the same image again succeeds', async (t) => {
    await cli(['package', 'immutable-tags', 'e2e', '--add', 'frozen-.*'], registry.dataDir);
    t.after(() => cli(['package', 'immutable-tags', 'e2e', '--clear'], registry.dataDir));
    const first = await testDir(t, 'frozen-first');
    await writeImageLayout(first, buildImage({ labels: { 'org.opencontainers.image.description': 'first' } }), 'v1');
    const second = await testDir(t, 'frozen-second');
    await writeImageLayout(second, buildImage({ labels: { 'org.opencontainers.image.description': 'second' } }), 'v1');
    const target = skopeo.ref('e2e/frozen', 'frozen-1');
    await skopeo.copy(`oci:${first}:v1`, target, ['--preserve-digests']);
    await assert.rejects(skopeo.copy(`oci:${second}:v1`, target, ['--preserve-digests']), (error: Error) => {
      assert.match(error.message, /denied/i);
      // skopeo logs the registry's message inside a quoted string, its quotes escaped.
      assert.match(error.message, /denied: tag \\?"frozen-1\\?" is immutable \(pattern \\?"frozen-\.\*\\?" set by e2e for its packages\): cannot move it/);
      return true;
    });
    await skopeo.copy(`oci:${first}:v1`, target, ['--preserve-digests']);
    const pkg = await api('/users/e2e/packages/container/frozen');
    assert.equal(pkg.image_metadata.description, 'first');
  });
});
