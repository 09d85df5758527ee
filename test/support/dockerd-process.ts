import path from 'node:path';
import { type DaemonHandle, startDaemon } from './daemon-process.js';
import { exec } from './exec.js';
import { tempDir } from './registry-process.js';

/** A private Docker engine: its own socket, data root, exec root and client config in one temp dir. */
export interface DockerdHandle extends DaemonHandle {
  /** Environment for the `docker` CLI: `DOCKER_HOST` on the private socket, `DOCKER_CONFIG` in the temp dir. */
  readonly env: NodeJS.ProcessEnv;
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
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: path.join(dir, 'client') };
  const daemon = await startDaemon({
    command: 'dockerd',
    args,
    dir,
    ready: async () => (await exec('docker', ['version', '--format', '{{.Server.Version}}'], { env, timeoutMs: 5_000 })).code === 0,
    timeoutMs,
    killAfterMs: 15_000,
  });
  return { ...daemon, env };
}
