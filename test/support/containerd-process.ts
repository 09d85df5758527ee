import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exec } from './exec.js';
import { tempDir } from './registry-process.js';

/** A containerd daemon with its own root, state, socket and config, all in one temp dir. */
export interface ContainerdHandle {
  readonly socket: string;
  readonly dir: string;
  logs(): string;
  /** SIGTERM (SIGKILL after 10 s) and removal of the temp dir. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts `containerd --config <temp config>` and waits until `ctr version` answers. Plugins that
 * a pull/push does not need (CRI, the exotic snapshotters) are disabled, and the `opt` plugin is
 * pointed into the temp dir so nothing is written under /opt or /var/lib.
 */
export async function startContainerd(timeoutMs = 15_000): Promise<ContainerdHandle> {
  const dir = await tempDir('containerd');
  const socket = path.join(dir, 'containerd.sock');
  const configPath = path.join(dir, 'config.toml');
  await writeFile(
    configPath,
    [
      'version = 2',
      `root = ${JSON.stringify(path.join(dir, 'root'))}`,
      `state = ${JSON.stringify(path.join(dir, 'state'))}`,
      'disabled_plugins = [',
      '  "io.containerd.grpc.v1.cri",',
      '  "io.containerd.snapshotter.v1.aufs",',
      '  "io.containerd.snapshotter.v1.btrfs",',
      '  "io.containerd.snapshotter.v1.devmapper",',
      '  "io.containerd.snapshotter.v1.zfs",',
      '  "io.containerd.tracing.processor.v1.otlp",',
      '  "io.containerd.internal.v1.tracing",',
      ']',
      '',
      '[grpc]',
      `  address = ${JSON.stringify(socket)}`,
      '',
      '[debug]',
      '  level = "info"',
      '',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${JSON.stringify(path.join(dir, 'opt'))}`,
      '',
    ].join('\n'),
  );
  const child = spawn('containerd', ['--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  let closed = false;
  const handle: ContainerdHandle = {
    socket,
    dir,
    logs: () => output,
    close: async () => {
      if (closed) return;
      closed = true;
      if (exitInfo === undefined) {
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killTimer);
      }
      // The native snapshotter leaves read-only dirs behind; retries cover slow unmounts.
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitInfo !== undefined) {
      await handle.close();
      throw new Error(`containerd ${exitInfo}\n${output.slice(-4000)}`);
    }
    const probe = await exec('ctr', ['--address', socket, 'version'], { timeoutMs: 5_000 });
    if (probe.code === 0) return handle;
    if (Date.now() > deadline) {
      await handle.close();
      throw new Error(`containerd did not answer within ${timeoutMs} ms\n${output.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
