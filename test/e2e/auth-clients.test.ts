import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { access, constants, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startContainerd } from '../support/containerd-process.js';
import { eventually } from '../support/eventually.js';
import { missingTools } from '../support/exec.js';
import { requiredTools } from '../support/required-tools.js';
import { digestOf } from '../../src/oci/digest.js';

/**
 * Real clients against `berth serve` with auth on: skopeo, podman and docker log in with a user
 * name and a personal access token made with the CLI while the server runs, then push and pull;
 * wrong, revoked and read-only tokens are refused. Tools that are not installed are skipped.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const adminPassword = 'e2e-admin-password-9f3k';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
  });
}

async function which(name: string): Promise<string | undefined> {
  for (const dir of (process.env['PATH'] ?? '').split(':').concat(['/usr/local/bin', '/usr/bin'])) {
    try {
      await access(path.join(dir, name), constants.X_OK);
      return path.join(dir, name);
    } catch {
      // keep looking
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

/** The hex part of a sha256 digest. */
function sha256(data: string): string {
  return digestOf(data).slice('sha256:'.length);
}

/** A one-layer OCI image layout with tag `latest`, for skopeo to copy from. */
async function writeLayout(dir: string): Promise<void> {
  const blobs = path.join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (content: string) => {
    await writeFile(path.join(blobs, sha256(content)), content);
    return { digest: `sha256:${sha256(content)}`, size: Buffer.byteLength(content) };
  };
  const layer = await put(`auth e2e layer ${Date.now()}`);
  const config = await put(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  });
  const m = await put(manifest);
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
    }),
  );
}

describe('real clients with accounts and tokens', () => {
  let dir: string;
  let server: ChildProcess | undefined;
  let serverLog = '';
  let host: string;
  let env: NodeJS.ProcessEnv;
  let policy: string;
  let layout: string;
  let token = '';
  /** `admin/hello:seed`, pushed before the tests for those that pull (undefined without skopeo). */
  let seed: string | undefined;

  const berth = (args: string[]) => run(process.execPath, [path.join(root, 'bin', 'berth.js'), ...args, '--data-dir', path.join(dir, 'data')]);
  const newToken = async (scopes: string) => {
    const res = await berth(['token', 'create', '--user', 'admin', '--scopes', scopes]);
    assert.equal(res.code, 0, res.stderr);
    return res.stdout.trim();
  };
  const skopeo = (args: string[], input?: string) => run('skopeo', ['--policy', policy, ...args], { env, input });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'berth-auth-e2e-'));
    const port = await freePort();
    host = `127.0.0.1:${port}`;
    server = spawn(process.execPath, [path.join(root, 'bin', 'berth.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', path.join(dir, 'data')], {
      env: { ...process.env, BERTH_ADMIN_USERNAME: 'admin', BERTH_ADMIN_PASSWORD: adminPassword, BERTH_AUTH: 'on' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
    server.stderr?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
    for (let i = 0; ; i += 1) {
      try {
        const res = await fetch(`http://${host}/v2/`);
        if (res.status === 401) break;
      } catch {
        // not up yet
      }
      if (i > 100) throw new Error(`berth did not start\n${serverLog}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The CLI works against the data dir while the server runs (SQLite WAL).
    token = await newToken('read:packages,write:packages,delete:packages');
    const home = path.join(dir, 'home');
    for (const sub of ['home', 'run', 'storage', 'tmp', 'layout']) await mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
    policy = path.join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const registries = path.join(dir, 'registries.conf');
    await writeFile(registries, `unqualified-search-registries = []\n[[registry]]\nlocation = "${host}"\ninsecure = true\n`);
    const storage = path.join(dir, 'storage.conf');
    await writeFile(storage, `[storage]\ndriver = "vfs"\ngraphroot = "${path.join(dir, 'storage')}"\nrunroot = "${path.join(dir, 'run')}"\n`);
    const authFile = path.join(dir, 'auth.json');
    await writeFile(authFile, JSON.stringify({ auths: {} }), { mode: 0o600 });
    env = {
      PATH: process.env['PATH'],
      HOME: home,
      XDG_RUNTIME_DIR: path.join(dir, 'run'),
      TMPDIR: path.join(dir, 'tmp'),
      CONTAINERS_REGISTRIES_CONF: registries,
      CONTAINERS_STORAGE_CONF: storage,
      REGISTRY_AUTH_FILE: authFile,
    };
    layout = path.join(dir, 'layout');
    await writeLayout(layout);
    if (await which('skopeo')) {
      seed = `${host}/admin/hello:seed`;
      const pushed = await skopeo(['copy', '--retry-times', '0', '--dest-tls-verify=false', '--dest-creds', `admin:${token}`, `oci:${layout}:latest`, `docker://${seed}`]);
      assert.equal(pushed.code, 0, pushed.stderr);
    }
  });

  after(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server?.on('exit', resolve));
      process.kill(server.pid as number, 'SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('skopeo login with user + PAT succeeds; with a wrong token fails', async (t) => {
    const skip = requiredTools(await missingTools(['skopeo']));
    if (skip) return t.skip(skip);
    const good = await skopeo(['login', '--tls-verify=false', '-u', 'admin', '--password-stdin', host], `${token}\n`);
    assert.equal(good.code, 0, good.stderr);
    const bad = await run('skopeo', ['login', '--tls-verify=false', '--authfile', path.join(dir, 'other-auth.json'), '-u', 'admin', '-p', 'berth_pat_wrong', host], { env });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /401|unauthorized|invalid username\/password/i);
  });

  it('skopeo copy --dest-creds pushes; skopeo inspect reads it back with --creds and is refused without', async (t) => {
    const skip = requiredTools(await missingTools(['skopeo']));
    if (skip) return t.skip(skip);
    const push = await skopeo(['copy', '--retry-times', '0', '--dest-tls-verify=false', '--dest-creds', `admin:${token}`, `oci:${layout}:latest`, `docker://${host}/admin/hello:1`]);
    assert.equal(push.code, 0, push.stderr);
    const inspect = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `admin:${token}`, `docker://${host}/admin/hello:1`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stdout, /schemaVersion/);
    const anonymous = await skopeo(['inspect', '--raw', '--tls-verify=false', '--no-creds', `docker://${host}/admin/hello:1`]);
    assert.notEqual(anonymous.code, 0);
    // A private package: the anonymous token is refused with 401, which skopeo reports as "unauthorized".
    assert.match(anonymous.stderr, /reading manifest 1 in [^:]+:\d+\/admin\/hello: [^"]*unauthorized/, anonymous.stderr);
  });

  it('skopeo copy with a read-only token, a revoked token or an expired token is refused', async (t) => {
    const skip = requiredTools(await missingTools(['skopeo']));
    if (skip || !seed) return t.skip(skip || 'no seed image');
    const readOnly = await newToken('read:packages');
    const denied = await skopeo(['copy', '--retry-times', '0', '--dest-tls-verify=false', '--dest-creds', `admin:${readOnly}`, `oci:${layout}:latest`, `docker://${host}/admin/hello:ro`]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /unauthorized|denied|401|403/i);
    const pull = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `admin:${readOnly}`, `docker://${seed}`]);
    assert.equal(pull.code, 0, pull.stderr);

    const revoked = await newToken('read:packages');
    const list = await berth(['token', 'list', '--user', 'admin']);
    const id = list.stdout.trim().split('\n').at(-1)?.split('\t')[0] ?? '';
    assert.equal((await berth(['token', 'revoke', id, '--user', 'admin'])).code, 0);
    const afterRevoke = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `admin:${revoked}`, `docker://${seed}`]);
    assert.notEqual(afterRevoke.code, 0);
    // The token endpoint's 401, as skopeo words it.
    assert.match(afterRevoke.stderr, /unable to retrieve auth token: invalid username\/password: unauthorized: invalid user name or personal access token/, afterRevoke.stderr);

    const created = await berth(['token', 'create', '--user', 'admin', '--scopes', 'read:packages', '--expires', '1s']);
    assert.equal(created.code, 0, created.stderr);
    const expired = created.stdout.trim();
    assert.match(expired, /^berth_pat_[0-9A-Za-z]{36}$/);
    // The server's clock decides: wait until it refuses the token, then see what skopeo makes of it.
    const tokenStatus = async () => (await fetch(`http://${host}/token`, { headers: { authorization: `Basic ${Buffer.from(`admin:${expired}`).toString('base64')}` } })).status;
    assert.equal(await eventually(tokenStatus, (status) => status === 401), 401);
    const afterExpiry = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `admin:${expired}`, `docker://${seed}`]);
    assert.notEqual(afterExpiry.code, 0);
    assert.match(afterExpiry.stderr, /unable to retrieve auth token: invalid username\/password: unauthorized: invalid user name or personal access token/, afterExpiry.stderr);
  });

  it('podman login with user + PAT succeeds', async (t) => {
    const skip = requiredTools(await missingTools(['podman']));
    if (skip) return t.skip(skip);
    const res = await run('podman', ['--root', path.join(dir, 'storage'), '--runroot', path.join(dir, 'run'), '--storage-driver', 'vfs', 'login', '--tls-verify=false', '-u', 'admin', '--password-stdin', host], {
      env,
      input: `${token}\n`,
    });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Login Succeeded/i);
  });

  it('docker login (CLI only, no engine) with user + PAT succeeds; with the password it fails', async (t) => {
    const skip = requiredTools(await missingTools(['docker']));
    if (skip) return t.skip(skip);
    const dockerEnv = { ...env, DOCKER_CONFIG: path.join(dir, 'docker'), DOCKER_HOST: `unix://${path.join(dir, 'no-docker.sock')}` };
    const res = await run('docker', ['login', host, '-u', 'admin', '--password-stdin'], { env: dockerEnv, input: `${token}\n` });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Login Succeeded/i);
    const bad = await run('docker', ['login', host, '-u', 'admin', '--password-stdin'], { env: dockerEnv, input: `${adminPassword}\n` });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unauthorized: invalid user name or personal access token/, bad.stderr);
  });

  it('containerd (ctr -u user:PAT, OAuth2 POST /token) fetches and pushes; a wrong token is refused', async (t) => {
    const skip = requiredTools(await missingTools(['ctr', 'containerd', 'skopeo']), { rootOnly: true });
    if (skip || !seed) return t.skip(skip || 'no seed image');
    const containerd = await startContainerd();
    t.after(() => containerd.close());
    const ctr = (args: string[]) => run('ctr', ['--address', containerd.socket, '--namespace', 'berth-auth', ...args]);
    const ref = seed;
    const fetched = await ctr(['content', 'fetch', '--plain-http', '-u', `admin:${token}`, ref]);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal((await ctr(['images', 'tag', ref, `${host}/admin/hello:ctr`])).code, 0);
    const pushed = await ctr(['images', 'push', '--plain-http', '-u', `admin:${token}`, `${host}/admin/hello:ctr`]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(serverLog, /"method":"POST","url":"\/token"[^\n]*"status":200/);
    const bad = await ctr(['images', 'push', '--plain-http', '-u', 'admin:berth_pat_wrong', `${host}/admin/hello:ctr`]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /401|unauthorized/i);
  });

  it('the server log holds no password or token', () => {
    assert.ok(serverLog.includes('"route"'), 'requests were logged');
    assert.ok(!serverLog.includes(adminPassword));
    assert.ok(!serverLog.includes(token));
    assert.ok(!/berth_pat_[0-9A-Za-z]{36}/.test(serverLog));
  });
});
