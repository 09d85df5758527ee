// The Dockerfile at the repository's root, built with `buildah bud` and run with podman as a user
// would: as uid 10001 with a data volume, answering /healthz, and taking a push and a pull with
// skopeo. No image registry is reachable, so the build's base image is made from this machine's
// Node.js and npm (test/support/node-base-image.ts), and npm ci reads a copy of this machine's npm
// cache (test/support/offline-npm-cache.ts); the Dockerfile is built as it is.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chown, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createContainersEnv } from '../support/containers-env.js';
import type { ContainersEnv } from '../support/containers-env.js';
import { eventually } from '../support/eventually.js';
import { exec, execOk, missingTools } from '../support/exec.js';
import type { ExecResult } from '../support/exec.js';
import { buildNodeBaseImage } from '../support/node-base-image.js';
import { fillOfflineNpmCache } from '../support/offline-npm-cache.js';
import { buildImage, deterministicBytes, findLayoutRef, readLayoutBlob, writeImageLayout } from '../support/oci-layout.js';
import { freePort, repoRoot, tempDir } from '../support/registry-process.js';
import { requiredTools } from '../support/required-tools.js';

const skip = requiredTools(await missingTools(['buildah', 'podman', 'runc', 'skopeo', 'busybox', 'ldd']), { rootOnly: true });

/** The user the Dockerfile runs Berth as. */
const berthUid = 10001;
const baseRef = 'localhost/berth-test-base:20';
const imageRef = 'localhost/berth:e2e';

interface ImageInspect {
  Config: {
    User?: string;
    ExposedPorts?: Record<string, unknown>;
    Volumes?: Record<string, unknown>;
    Entrypoint?: string[];
    Cmd?: string[];
    Env?: string[];
  };
  Healthcheck?: { Test?: string[] };
}

describe('the container image (Dockerfile)', { skip, timeout: 1_200_000 }, () => {
  const root = repoRoot();
  const admin = { username: 'admin', password: randomBytes(18).toString('base64url') };
  const containerName = `berth-e2e-${randomBytes(4).toString('hex')}`;
  let containers: ContainersEnv;
  let work: string;
  let dataDir: string;
  let port: number;
  let host: string;
  let pat: string;

  const buildah = (args: readonly string[], timeoutMs = 120_000): Promise<ExecResult> =>
    execOk('buildah', [...containers.storageArgs, ...args], { env: containers.env, timeoutMs });
  // runc, not crun: Debian 12's crun refuses a host whose cgroups are mounted in hybrid mode.
  const podmanArgs = (args: readonly string[]): string[] => [
    ...containers.storageArgs,
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'none',
    '--runtime',
    'runc',
    ...args,
  ];
  const podman = (args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ExecResult> =>
    execOk('podman', podmanArgs(args), { env: { ...containers.env, ...env }, timeoutMs: 120_000 });
  const logs = async (): Promise<string> => {
    const result = await exec('podman', podmanArgs(['logs', containerName]), { env: containers.env, timeoutMs: 30_000 });
    return `${result.stdout}${result.stderr}`;
  };
  const healthz = async (): Promise<number> => {
    try {
      return (await fetch(`http://${host}/healthz`, { signal: AbortSignal.timeout(5_000) })).status;
    } catch {
      return 0;
    }
  };

  before(async () => {
    containers = await createContainersEnv([]);
    work = await tempDir('container-image');
    const nativeModule = path.join(root, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
    const npmCache = path.join(work, 'npm-cache');
    await mkdir(npmCache);
    await fillOfflineNpmCache(npmCache, root);
    await buildNodeBaseImage(buildah, baseRef, {
      workDir: work,
      nativeModules: [nativeModule],
      // audit and the update check would ask the registry even when the cache holds everything.
      npmConfig: { cache: '/npm-cache', 'prefer-offline': 'true', audit: 'false', fund: 'false', 'update-notifier': 'false' },
    });
    await buildah(
      [
        'bud',
        '--signature-policy',
        containers.policyPath,
        '--pull=never',
        '--isolation',
        'chroot',
        '--layers=false',
        // The Docker format keeps HEALTHCHECK; OCI image configs have no field for it.
        '--format',
        'docker',
        '--build-arg',
        `BASE=${baseRef}`,
        '--volume',
        `${npmCache}:/npm-cache`,
        '-f',
        path.join(root, 'Dockerfile'),
        '-t',
        imageRef,
        root,
      ],
      900_000,
    );

    // A bind-mounted data directory must belong to the image's user, as docs/deployment.md says.
    dataDir = path.join(work, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    await chown(dataDir, berthUid, berthUid);
    port = await freePort();
    host = `127.0.0.1:${port}`;
    await podman(
      [
        'run',
        '--detach',
        '--name',
        containerName,
        '--pull=never',
        // Podman's own timers run health checks through systemd, absent here; the test runs the check itself.
        '--no-healthcheck',
        // Podman asks for 1048576 open files and processes, above this machine's hard limits,
        // which root may not raise without CAP_SYS_RESOURCE; these are ample for one server.
        '--ulimit',
        'nofile=4096:4096',
        '--ulimit',
        'nproc=4096:4096',
        // The host's network: no network backend to set up, and the port is on loopback.
        '--network',
        'host',
        '--volume',
        `${dataDir}:/data`,
        '--env',
        `BERTH_PORT=${port}`,
        '--env',
        `BERTH_PUBLIC_URL=http://${host}`,
        '--env',
        `BERTH_ADMIN_USERNAME=${admin.username}`,
        // Without a value podman takes it from its environment, which keeps it off command lines.
        '--env',
        'BERTH_ADMIN_PASSWORD',
        imageRef,
      ],
      { BERTH_ADMIN_PASSWORD: admin.password },
    );
    assert.equal(await eventually(healthz, (status) => status === 200, 60_000), 200, `GET /healthz never answered 200:\n${await logs()}`);

    const created = await fetch(`http://${host}/api/user/tokens`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ scopes: ['read:packages', 'write:packages'], note: 'container image e2e' }),
    });
    assert.equal(created.status, 201);
    pat = ((await created.json()) as { token: string }).token;
    // skopeo reads the credentials from the auth file, so they appear in no command line.
    const auth = Buffer.from(`${admin.username}:${pat}`).toString('base64');
    await writeFile(containers.env['REGISTRY_AUTH_FILE']!, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600 });
  });

  after(async () => {
    if (containers !== undefined) {
      await exec('podman', podmanArgs(['rm', '--force', '--time', '0', containerName]), { env: containers.env, timeoutMs: 60_000 });
      await exec('podman', podmanArgs(['rmi', '--all', '--force']), { env: containers.env, timeoutMs: 60_000 });
      await exec('buildah', [...containers.storageArgs, 'rm', '--all'], { env: containers.env, timeoutMs: 60_000 });
      await containers.cleanup();
    }
    if (work !== undefined) await rm(work, { recursive: true, force: true, maxRetries: 3 });
  });

  it('the image runs node bin/berth.js serve as uid 10001, with /data a volume, port 5000 exposed and a HEALTHCHECK', async () => {
    const [image] = JSON.parse((await podman(['image', 'inspect', imageRef])).stdout) as ImageInspect[];
    assert.ok(image !== undefined);
    assert.equal(image.Config.User, `${berthUid}:${berthUid}`);
    assert.deepEqual(Object.keys(image.Config.Volumes ?? {}), ['/data']);
    assert.deepEqual(Object.keys(image.Config.ExposedPorts ?? {}), ['5000/tcp']);
    assert.equal(image.Config.Entrypoint?.[0], 'node');
    assert.equal(image.Config.Entrypoint?.at(-1), 'bin/berth.js');
    assert.deepEqual(image.Config.Cmd, ['serve']);
    for (const setting of ['BERTH_DATA_DIR=/data', 'BERTH_HOST=0.0.0.0', 'BERTH_PORT=5000']) {
      assert.ok(image.Config.Env?.includes(setting), `${setting} in ${JSON.stringify(image.Config.Env)}`);
    }
    assert.equal(image.Healthcheck?.Test?.[0], 'CMD');
  });

  it('the server runs as uid 10001, cannot change its code, and has no devDependencies', async () => {
    const pid = Number((await podman(['inspect', '--format', '{{.State.Pid}}', containerName])).stdout.trim());
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    // Real, effective, saved and filesystem ids.
    assert.match(status, new RegExp(`^Uid:\\s+${berthUid}\\s+${berthUid}\\s+${berthUid}\\s+${berthUid}$`, 'm'));
    assert.match(status, new RegExp(`^Gid:\\s+${berthUid}\\s+${berthUid}\\s+${berthUid}\\s+${berthUid}$`, 'm'));

    const probe = [
      "const fs = require('node:fs');",
      'const writable = (p) => { try { fs.accessSync(p, fs.constants.W_OK); return true; } catch { return false; } };',
      "console.log(JSON.stringify({ uid: process.getuid(), code: writable('/app') || writable('/app/dist'), data: writable('/data'), typescript: fs.existsSync('/app/node_modules/typescript') }));",
    ].join('\n');
    const seen = JSON.parse((await podman(['exec', containerName, 'node', '-e', probe])).stdout) as Record<string, unknown>;
    assert.deepEqual(seen, { uid: berthUid, code: false, data: true, typescript: false });
  });

  it("the image holds the code cache of a start, where its ENTRYPOINT's server looks for it", async () => {
    const [image] = JSON.parse((await podman(['image', 'inspect', imageRef])).stdout) as ImageInspect[];
    const entrypoint = image?.Config.Entrypoint ?? [];
    const nodeOptions = entrypoint.slice(1, -1);
    assert.ok(nodeOptions.includes('--expose-gc'), `the node options of ${JSON.stringify(entrypoint)}`);
    const probe = [
      "const fs = require('node:fs');",
      "const bundle = '/app/dist/bundle/main.cjs';",
      `import('/app/dist/src/cli/bundle-loader.js').then(({ codeCacheFile }) => {`,
      `  const expected = codeCacheFile(bundle, fs.readFileSync(bundle), ${JSON.stringify(nodeOptions)});`,
      "  const caches = fs.readdirSync('/app/dist/bundle').filter((name) => name.endsWith('.v8-cache')).map((name) => '/app/dist/bundle/' + name);",
      '  const stat = fs.statSync(expected, { throwIfNoEntry: false });',
      '  console.log(JSON.stringify({ caches, expected, owner: stat?.uid, mode: stat && (stat.mode & 0o777).toString(8) }));',
      '});',
    ].join('\n');
    const seen = JSON.parse((await podman(['exec', containerName, 'node', '-e', probe])).stdout) as { caches: string[]; expected: string };
    assert.deepEqual(seen, { caches: [seen.expected], expected: seen.expected, owner: 0, mode: '644' });
  });

  it("the image's HEALTHCHECK command succeeds inside the container", async () => {
    const [image] = JSON.parse((await podman(['image', 'inspect', imageRef])).stdout) as ImageInspect[];
    const [kind, ...command] = image?.Healthcheck?.Test ?? [];
    assert.equal(kind, 'CMD');
    const result = await exec('podman', podmanArgs(['exec', containerName, ...command]), { env: containers.env, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
  });

  it('skopeo copy pushes an image through the container and pulls it back with the same digests', async () => {
    const image = buildImage({ layers: [{ 'srv/data.bin': deterministicBytes('container-image', 200 * 1024) }] });
    const source = path.join(work, 'source-layout');
    const pulled = path.join(work, 'pulled-layout');
    await writeImageLayout(source, image, 'v1');
    const skopeo = (args: readonly string[]): Promise<ExecResult> =>
      execOk('skopeo', ['--policy', containers.policyPath, ...args], { env: containers.env, timeoutMs: 120_000 });
    const remote = `docker://${host}/${admin.username}/app:v1`;
    await skopeo(['copy', '--retry-times', '0', '--preserve-digests', '--dest-tls-verify=false', `oci:${source}:v1`, remote]);
    await skopeo(['copy', '--retry-times', '0', '--src-tls-verify=false', remote, `oci:${pulled}:v1`]);

    const ref = await findLayoutRef(pulled, 'v1');
    assert.equal(ref.digest, image.manifest.descriptor.digest);
    const [layer] = image.layers;
    assert.ok(layer !== undefined);
    assert.deepEqual(await readLayoutBlob(pulled, layer.descriptor.digest), layer.bytes);
  });

  it('everything in the data volume belongs to uid 10001: directories 0700, files 0600', async () => {
    const entries = await walk(dataDir);
    const names = entries.map((entry) => path.relative(dataDir, entry.path));
    assert.ok(names.includes('berth.db'), `berth.db in ${names.join(', ')}`);
    assert.ok(
      entries.some((entry) => !entry.directory && path.relative(dataDir, entry.path).startsWith(`blobs${path.sep}`)),
      `the pushed layer, over the inline limit, is a file under blobs/: ${names.join(', ')}`,
    );
    for (const entry of entries) {
      const name = path.relative(dataDir, entry.path) || '.';
      assert.equal(entry.uid, berthUid, `owner of ${name}`);
      assert.equal(entry.gid, berthUid, `group of ${name}`);
      assert.equal((entry.mode & 0o777).toString(8), entry.directory ? '700' : '600', `mode of ${name}`);
    }
  });

  it('podman stop sends SIGTERM and Berth exits 0', async () => {
    await podman(['stop', '--time', '30', containerName]);
    const code = (await podman(['inspect', '--format', '{{.State.ExitCode}}', containerName])).stdout.trim();
    assert.equal(code, '0', await logs());
  });
});

interface Entry {
  path: string;
  directory: boolean;
  uid: number;
  gid: number;
  mode: number;
}

/** `dir` and everything under it, without following links. */
async function walk(dir: string): Promise<Entry[]> {
  const found: Entry[] = [];
  const pending = [dir];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    const info = await lstat(current);
    found.push({ path: current, directory: info.isDirectory(), uid: info.uid, gid: info.gid, mode: info.mode });
    if (info.isDirectory()) pending.push(...(await readdir(current)).map((name) => path.join(current, name)));
  }
  return found;
}
