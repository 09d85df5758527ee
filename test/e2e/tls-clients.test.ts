// skopeo and podman against a registry serving HTTPS, verifying its certificate against a CA made
// for the run (their --cert-dir holds ca.crt); nothing is marked insecure.
import assert from 'node:assert/strict';
import { copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createContainersEnv } from '../support/containers-env.js';
import type { ContainersEnv } from '../support/containers-env.js';
import { exec, execOk, missingTools } from '../support/exec.js';
import { requiredTools } from '../support/required-tools.js';
import type { ExecResult } from '../support/exec.js';
import { buildImage, deterministicBytes, readLayoutBlob, writeImageLayout } from '../support/oci-layout.js';
import type { BuiltImage } from '../support/oci-layout.js';
import { startBerth, tempDir, testDir } from '../support/registry-process.js';
import type { RegistryHandle } from '../support/registry-process.js';
import { makeCa, makeServerCert } from '../support/tls-certs.js';

const skip = requiredTools(await missingTools(['openssl', 'skopeo', 'podman']));

/** An image with a layer too large to be kept in the database, so it is served from a file. */
function tlsImage(seed: string): BuiltImage {
  return buildImage({ layers: [{ 'etc/tls-e2e': `${seed}\n` }, { 'usr/share/tls-e2e/data.bin': deterministicBytes(seed, 512 * 1024) }], labels: { 'com.example.e2e': seed } });
}

describe('clients over HTTPS', { skip, timeout: 600_000 }, () => {
  let certs: string;
  /** Holds only ca.crt: the --cert-dir of skopeo and podman. */
  let certDir: string;
  let registry: RegistryHandle;
  let http2Registry: RegistryHandle;
  let containers: ContainersEnv;

  before(async () => {
    certs = await tempDir('tls-certs');
    const ca = await makeCa(certs);
    const server = await makeServerCert(certs, ca, 'server');
    certDir = path.join(certs, 'client');
    await execOk('mkdir', ['-p', certDir]);
    await copyFile(ca.cert, path.join(certDir, 'ca.crt'));
    registry = await startBerth({ tls: { ...server, ca: ca.cert } });
    http2Registry = await startBerth({ tls: { ...server, ca: ca.cert }, env: { BERTH_HTTP2: 'on' } });
    containers = await createContainersEnv([]);
  });

  after(async () => {
    await registry?.close();
    await http2Registry?.close();
    await containers?.cleanup();
    if (certs) await rm(certs, { recursive: true, force: true });
  });

  const skopeo = (args: readonly string[]): Promise<ExecResult> =>
    execOk('skopeo', ['--policy', containers.policyPath, ...args], { env: containers.env, timeoutMs: 120_000 });
  const creds = (target: RegistryHandle): string => `${target.credentials?.username}:${target.credentials?.password}`;

  // containers/image does not ask for HTTP/2 with a TLS configuration of its own, so against the
  // server that offers it the client's HTTP/1.1 must still be served (ALPN falls back).
  for (const [label, target] of [
    ['HTTP/1.1 only', () => registry],
    ['HTTP/2 offered', () => http2Registry],
  ] as const) {
    it(`skopeo copy oci: -> registry -> oci: over HTTPS (${label}) verifies the certificate and keeps the image byte-identical`, async (t) => {
      const server = target();
      const image = tlsImage(`skopeo-${label}`);
      const src = await testDir(t, 'tls-src');
      await writeImageLayout(src, image, 'v1');
      const ref = `docker://${server.host}/e2e/tls/skopeo:v1`;
      await skopeo(['copy', '--retry-times', '0', '--preserve-digests', '--dest-cert-dir', certDir, '--dest-creds', creds(server), `oci:${src}:v1`, ref]);
      const out = await testDir(t, 'tls-out');
      await skopeo(['copy', '--retry-times', '0', '--src-cert-dir', certDir, '--src-creds', creds(server), ref, `oci:${out}:v1`]);
      for (const blob of [image.manifest, ...image.blobs]) {
        assert.deepEqual(await readLayoutBlob(out, blob.descriptor.digest), blob.bytes, `blob ${blob.descriptor.digest}`);
      }
      // Without the CA the same client refuses the registry: the certificate was really checked.
      const refused = await exec('skopeo', ['--policy', containers.policyPath, 'inspect', '--raw', '--retry-times', '0', '--creds', creds(server), ref], { env: containers.env });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /x509|certificate/i);
    });
  }

  it('podman push and pull over HTTPS with --cert-dir keep the image ID', async (t) => {
    const podman = (args: readonly string[]): Promise<ExecResult> =>
      execOk('podman', [...containers.storageArgs, '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', ...args], { env: containers.env, timeoutMs: 120_000 });
    const remote = ['--signature-policy', containers.policyPath, '--tls-verify=true', '--cert-dir', certDir, '--creds', creds(registry)];
    const image = tlsImage('podman');
    const configHex = image.config.descriptor.digest.slice('sha256:'.length);
    const layout = await testDir(t, 'tls-podman');
    await writeImageLayout(layout, image, 'v1');
    await podman(['pull', '--signature-policy', containers.policyPath, `oci:${layout}:v1`]);
    const ref = `${registry.host}/e2e/tls/podman:v1`;
    await podman(['tag', configHex, ref]);
    await podman(['push', ...remote, ref]);
    await podman(['rmi', '--all', '--force']);
    await podman(['pull', ...remote, ref]);
    assert.equal((await podman(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim(), configHex);
  });
});
