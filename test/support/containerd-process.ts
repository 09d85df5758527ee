import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type DaemonHandle, startDaemon } from './daemon-process.js';
import { exec } from './exec.js';
import { tempDir } from './registry-process.js';

/** A containerd daemon with its own root, state, socket and config, all in one temp dir. */
export interface ContainerdHandle extends DaemonHandle {
  readonly socket: string;
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
  const daemon = await startDaemon({
    command: 'containerd',
    args: ['--config', configPath],
    dir,
    ready: async () => (await exec('ctr', ['--address', socket, 'version'], { timeoutMs: 5_000 })).code === 0,
    timeoutMs,
    killAfterMs: 10_000,
  });
  return { ...daemon, socket };
}
