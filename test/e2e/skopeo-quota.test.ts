// skopeo pushes into a namespace with a storage quota: an image that fits is pushed, one that would
// go past the quota is refused with 403 DENIED "storage quota exceeded", and none of its layer stays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { berthCli } from '../auth/helpers.js';
import { ExecError, missingTools } from '../support/exec.js';
import { buildImage, deterministicBytes, writeImageLayout } from '../support/oci-layout.js';
import { e2eUser, targetKind, testDir } from '../support/registry-process.js';
import type { RegistryHandle } from '../support/registry-process.js';
import { type Skopeo, startRegistryWithSkopeo } from '../support/skopeo.js';
import { requiredTools } from '../support/required-tools.js';

const skip = requiredTools(await missingTools(['skopeo'])) || (targetKind() !== 'berth' ? 'storage quotas are Berth’s' : false);

describe('skopeo and storage quotas', { skip, timeout: 600_000 }, () => {
  let registry: RegistryHandle;
  let skopeo: Skopeo;
  let close: (() => Promise<void>) | undefined;

  before(async () => {
    ({ registry, skopeo, close } = await startRegistryWithSkopeo());
    await berthCli(registry.dataDir, ['quota', 'set', e2eUser, '200KiB']);
  });

  after(() => close?.());

  it('skopeo copy under the quota succeeds; past it, skopeo fails with "storage quota exceeded" and the layer is not stored', async (t) => {
    const small = buildImage({ layers: [{ 'etc/small': 'fits\n' }] });
    const smallDir = await testDir(t, 'quota-small');
    await writeImageLayout(smallDir, small, 'v1');
    await skopeo.copy(`oci:${smallDir}:v1`, skopeo.ref(`${e2eUser}/quota`, 'v1'), ['--preserve-digests']);

    // Random bytes do not compress: the gzip'd layer stays larger than the quota.
    const large = buildImage({ layers: [{ 'srv/blob': deterministicBytes('quota', 400 * 1024) }] });
    const largeDir = await testDir(t, 'quota-large');
    await writeImageLayout(largeDir, large, 'v2');
    const refused = await skopeo.copy(`oci:${largeDir}:v2`, skopeo.ref(`${e2eUser}/quota`, 'v2'), ['--preserve-digests']).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(refused instanceof ExecError, 'skopeo copy past the quota must fail');
    assert.match(refused.result.stderr, /storage quota exceeded/);

    const usage = await berthCli(registry.dataDir, ['usage', e2eUser, '--bytes']);
    assert.match(usage.stdout, /pending uploads 0\t/);
    const layer = large.layers[0]!;
    const head = await fetch(`${registry.url}/v2/${e2eUser}/quota/blobs/${layer.descriptor.digest}`, {
      method: 'HEAD',
      headers: { authorization: `Basic ${Buffer.from(`${registry.credentials!.username}:${registry.credentials!.password}`).toString('base64')}` },
    });
    assert.notEqual(head.status, 200, 'the refused layer is not in the repository');
  });
});
