// The Docker engine, as most ghcr.io users push: a private dockerd builds an image with the guide's
// labels, `docker login` with a personal access token, push, then pull by tag and by digest after
// the local copy is removed, and run it with no network.
import assert from 'node:assert/strict';
import { copyFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDockerd } from '../support/dockerd-process.js';
import type { DockerdHandle } from '../support/dockerd-process.js';
import { exec, execOk, missingTools, which } from '../support/exec.js';
import type { ExecResult } from '../support/exec.js';
import { requiredTools } from '../support/required-tools.js';
import { startBerth, tempDir } from '../support/registry-process.js';
import type { RegistryHandle } from '../support/registry-process.js';

const skip = requiredTools(await missingTools(['dockerd', 'docker', 'busybox']), { rootOnly: true });

describe('Docker engine (dockerd + docker CLI)', { skip, timeout: 900_000 }, () => {
  let registry: RegistryHandle;
  let dockerd: DockerdHandle;
  let context: string;

  before(async () => {
    registry = await startBerth();
    dockerd = await startDockerd(registry.host);
    context = await tempDir('docker-context');
    // A static busybox (Debian's busybox-static) runs in an image FROM scratch, so nothing has to
    // be pulled from outside.
    await copyFile((await which('busybox'))!, path.join(context, 'busybox'));
    await writeFile(
      path.join(context, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'LABEL org.opencontainers.image.source=https://github.com/e2e/hello',
        'LABEL org.opencontainers.image.description="Says hello from a Berth registry"',
        'LABEL org.opencontainers.image.licenses=MIT',
        'ENTRYPOINT ["/bin/busybox"]',
        'CMD ["echo", "hello from berth"]',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await dockerd?.close();
    await registry?.close();
    if (context) await rm(context, { recursive: true, force: true });
  });

  // The legacy builder: the engine's BuildKit would need the buildx plugin beside the CLI.
  const docker = (args: readonly string[], input?: string): Promise<ExecResult> =>
    execOk('docker', args, { env: { ...dockerd.env, DOCKER_BUILDKIT: '0' }, timeoutMs: 300_000, ...(input !== undefined && { input }) });
  const api = async (route: string): Promise<Record<string, unknown>> => {
    const creds = registry.credentials!;
    const res = await fetch(`${registry.url}/api${route}`, { headers: { Authorization: `Bearer ${creds.password}` } });
    assert.equal(res.status, 200, `${route}: ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  };

  it('build, login with a PAT, push, pull by tag and digest, run with --network none', async () => {
    const creds = registry.credentials!;
    const image = `${registry.host}/e2e/hello:1.0`;
    await docker(['build', '-t', image, context]);

    const denied = await exec('docker', ['push', image], { env: dockerd.env, timeoutMs: 120_000 });
    assert.notEqual(denied.code, 0, 'a push before login must be refused');
    assert.match(denied.stderr, /denied: requested access to the resource is denied/);

    const login = await docker(['login', registry.host, '-u', creds.username, '--password-stdin'], `${creds.password}\n`);
    assert.match(login.stdout, /Login Succeeded/);

    const push = await docker(['push', image]);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    assert.ok(digest, `docker push printed no digest:\n${push.stdout}`);
    const manifest = await fetch(`${registry.url}/v2/e2e/hello/manifests/1.0`, {
      method: 'HEAD',
      headers: { Authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`, Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    assert.equal(manifest.status, 200);
    assert.equal(manifest.headers.get('docker-content-digest'), digest);

    await docker(['rmi', image]);
    await docker(['pull', image]);
    const byTag = await docker(['run', '--rm', '--network', 'none', image]);
    assert.equal(byTag.stdout.trim(), 'hello from berth');

    const byDigestRef = `${registry.host}/e2e/hello@${digest}`;
    await docker(['rmi', image]);
    const pulled = await docker(['pull', byDigestRef]);
    assert.match(pulled.stdout, new RegExp(`Digest: ${digest}`));
    const byDigest = await docker(['run', '--rm', '--network', 'none', byDigestRef, 'echo', 'by digest']);
    assert.equal(byDigest.stdout.trim(), 'by digest');

    const pkg = await api('/users/e2e/packages/container/hello');
    assert.equal(pkg['visibility'], 'private');
    const versions = (await api('/users/e2e/packages/container/hello/versions')) as unknown as Array<Record<string, unknown>>;
    assert.deepEqual(versions.map((version) => version['name']), [digest]);
    const metadata = versions[0]?.['metadata'] as { container?: { tags?: string[] } } | undefined;
    assert.deepEqual(metadata?.container?.tags, ['1.0']);
    const labels = pkg['image_metadata'] as Record<string, unknown>;
    assert.equal(labels['description'], 'Says hello from a Berth registry');
    assert.equal(labels['licenses'], 'MIT');
    assert.equal(labels['source'], 'https://github.com/e2e/hello');
  });
});
