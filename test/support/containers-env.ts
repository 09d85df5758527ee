import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from './registry-process.js';

/**
 * An isolated configuration for the containers/image tools (skopeo, podman, buildah): its own
 * HOME, XDG dirs, policy.json, registries.conf, storage.conf and containers.conf in a temp dir, so
 * the tests neither read nor change the real user's or system's configuration.
 */
export interface ContainersEnv {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly policyPath: string;
  readonly registriesConfPath: string;
  /** vfs storage graph root and run root, for `--root` / `--runroot`. */
  readonly root: string;
  readonly runroot: string;
  /** Global storage flags for podman and buildah. */
  readonly storageArgs: string[];
  cleanup(): Promise<void>;
}

/** `insecureHosts` are reached over plain HTTP (registries.conf `insecure = true`). */
export async function createContainersEnv(insecureHosts: readonly string[]): Promise<ContainersEnv> {
  const dir = await tempDir('containers');
  const home = path.join(dir, 'home');
  const config = path.join(dir, 'config');
  const root = path.join(dir, 'storage');
  const runroot = path.join(dir, 'run');
  const tmp = path.join(dir, 'tmp');
  for (const d of [home, config, root, runroot, tmp, path.join(dir, 'cni', 'net.d'), path.join(dir, 'cni', 'bin'), path.join(dir, 'xdg-data'), path.join(dir, 'xdg-cache'), path.join(dir, 'xdg-runtime')]) {
    await mkdir(d, { recursive: true, mode: 0o700 });
  }
  const policyPath = path.join(config, 'policy.json');
  await writeFile(policyPath, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const registriesConfPath = path.join(config, 'registries.conf');
  await writeFile(
    registriesConfPath,
    [
      'unqualified-search-registries = []',
      'short-name-mode = "disabled"',
      ...insecureHosts.flatMap((host) => ['', '[[registry]]', `location = ${JSON.stringify(host)}`, 'insecure = true']),
      '',
    ].join('\n'),
  );
  const storageConfPath = path.join(config, 'storage.conf');
  await writeFile(
    storageConfPath,
    ['[storage]', 'driver = "vfs"', `graphroot = ${JSON.stringify(root)}`, `runroot = ${JSON.stringify(runroot)}`, ''].join('\n'),
  );
  const containersConfPath = path.join(config, 'containers.conf');
  await writeFile(
    containersConfPath,
    [
      '[engine]',
      'events_logger = "none"',
      'cgroup_manager = "cgroupfs"',
      `tmp_dir = ${JSON.stringify(path.join(runroot, 'libpod'))}`,
      `volume_path = ${JSON.stringify(path.join(root, 'volumes'))}`,
      '',
      // Rootful netavark keeps its state in /run/containers/networks whatever the runroot; CNI
      // with its dirs in here leaves the host alone (no container is run, so no network is used).
      '[network]',
      'network_backend = "cni"',
      `network_config_dir = ${JSON.stringify(path.join(dir, 'cni', 'net.d'))}`,
      `cni_plugin_dirs = [${JSON.stringify(path.join(dir, 'cni', 'bin'))}]`,
      '',
    ].join('\n'),
  );
  // podman refuses to start when REGISTRY_AUTH_FILE names a missing file.
  const authPath = path.join(config, 'auth.json');
  await writeFile(authPath, JSON.stringify({ auths: {} }), { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(dir, 'xdg-data'),
    XDG_CACHE_HOME: path.join(dir, 'xdg-cache'),
    XDG_RUNTIME_DIR: path.join(dir, 'xdg-runtime'),
    TMPDIR: tmp,
    CONTAINERS_CONF: containersConfPath,
    CONTAINERS_STORAGE_CONF: storageConfPath,
    CONTAINERS_REGISTRIES_CONF: registriesConfPath,
    REGISTRY_AUTH_FILE: authPath,
  };
  return {
    dir,
    env,
    policyPath,
    registriesConfPath,
    root,
    runroot,
    storageArgs: ['--root', root, '--runroot', runroot, '--storage-driver', 'vfs'],
    cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }),
  };
}
