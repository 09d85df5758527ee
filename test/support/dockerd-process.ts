import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { exec } from './exec.js';
import { tempDir } from './registry-process.js';

/** A private Docker engine: its own socket, data root, exec root and client config in one temp dir. */
export interface DockerdHandle {
  readonly dir: string;
  /** Environment for the `docker` CLI: `DOCKER_HOST` on the private socket, `DOCKER_CONFIG` in the temp dir. */
  readonly env: NodeJS.ProcessEnv;
  logs(): string;
  /** SIGTERM (SIGKILL after 15 s) and removal of the temp dir. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts `dockerd` as a second engine beside any system one: the vfs storage driver (no overlay
 * mounts needed), no iptables and no bridge (containers run with `--network none`), and
 * `insecureRegistry` allowed over plain HTTP. Waits until `docker version` reaches the daemon.
 */
export async function startDockerd(insecureRegistry: string, timeoutMs = 30_000): Promise<DockerdHandle> {
  const dir = await tempDir('dockerd');
  const socket = path.join(dir, 'docker.sock');
  const args = [
    '-H', `unix://${socket}`,
    '--data-root', path.join(dir, 'data'),
    '--exec-root', path.join(dir, 'exec'),
    '--pidfile', path.join(dir, 'docker.pid'),
    '--storage-driver', 'vfs',
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    '--insecure-registry', insecureRegistry,
  ];
  const child = spawn('dockerd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = `exited with ${code ?? signal}`;
      resolve();
    });
    child.on('error', (err) => {
      exitInfo = `failed to start: ${err.message}`;
      resolve();
    });
  });
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: path.join(dir, 'client') };
  let closed = false;
  const handle: DockerdHandle = {
    dir,
    env,
    logs: () => output,
    close: async () => {
      if (closed) return;
      closed = true;
      if (exitInfo === undefined) {
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killTimer);
      }
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitInfo !== undefined) {
      await handle.close();
      throw new Error(`dockerd ${exitInfo}\n${output.slice(-4000)}`);
    }
    const probe = await exec('docker', ['version', '--format', '{{.Server.Version}}'], { env, timeoutMs: 5_000 });
    if (probe.code === 0) return handle;
    if (Date.now() > deadline) {
      await handle.close();
      throw new Error(`dockerd did not answer within ${timeoutMs} ms\n${output.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
