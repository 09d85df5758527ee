import { chmod, copyFile, cp, mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execOk, which } from './exec.js';
import type { ExecResult } from './exec.js';

export interface NodeBaseImageOptions {
  /** Where the image's files are gathered before they are copied in. */
  workDir: string;
  /** Native modules whose shared libraries the image needs besides Node.js's own. */
  nativeModules: readonly string[];
  /** Settings written to npm's global npmrc in the image. */
  npmConfig: Readonly<Record<string, string>>;
}

/**
 * Builds a stand-in for the official `node:20-bookworm-slim` image, which cannot be pulled where
 * no image registry is reachable, from this machine's own files: the running Node.js and its npm
 * (under /usr/local, where the official image has them), the shared libraries they load (found
 * with ldd), and Debian's static busybox as /bin/sh, /usr/bin/env and the usual commands that RUN
 * steps and npm's scripts call. `buildah` runs buildah on the storage the image is committed to.
 */
export async function buildNodeBaseImage(
  buildah: (args: readonly string[]) => Promise<ExecResult>,
  ref: string,
  options: NodeBaseImageOptions,
): Promise<void> {
  const rootfs = path.join(options.workDir, 'rootfs');
  const under = (file: string): string => path.join(rootfs, file);
  for (const dir of ['usr/local/bin', 'usr/local/lib/node_modules', 'usr/local/etc', 'usr/bin', 'bin', 'etc', 'root', 'tmp']) {
    await mkdir(under(dir), { recursive: true });
  }
  await chmod(under('tmp'), 0o1777);

  const node = await realpath(process.execPath);
  await copyFile(node, under('usr/local/bin/node'));
  // npm-cli.js lives in npm's package folder, which is copied whole.
  const npmCli = await which('npm');
  if (npmCli === undefined) throw new Error('npm is not on PATH');
  const npmDir = path.dirname(path.dirname(await realpath(npmCli)));
  await cp(npmDir, under('usr/local/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
  await symlink('../lib/node_modules/npm/bin/npm-cli.js', under('usr/local/bin/npm'));
  await symlink('../lib/node_modules/npm/bin/npx-cli.js', under('usr/local/bin/npx'));
  await writeFile(
    under('usr/local/etc/npmrc'),
    Object.entries(options.npmConfig)
      .map(([key, value]) => `${key}=${value}\n`)
      .join(''),
  );

  const busybox = await which('busybox');
  if (busybox === undefined) throw new Error('busybox is not on PATH');
  await copyFile(busybox, under('bin/busybox'));
  await chmod(under('bin/busybox'), 0o755);
  const applets = (await execOk(busybox, ['--list'])).stdout.split('\n').filter((name) => name !== '' && name !== 'busybox');
  for (const applet of applets) await symlink('busybox', under(`bin/${applet}`));
  // npm's own scripts and every package's bin start with `#!/usr/bin/env node`.
  await symlink('/bin/busybox', under('usr/bin/env'));

  for (const library of await sharedLibraries([node, ...options.nativeModules])) {
    await mkdir(under(path.dirname(library)), { recursive: true });
    await copyFile(await realpath(library), under(library));
  }
  await writeFile(under('etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(under('etc/group'), 'root:x:0:\n');

  const container = (await buildah(['from', 'scratch'])).stdout.trim();
  await buildah(['copy', container, `${rootfs}/`, '/']);
  await buildah(['config', '--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--cmd', 'node', container]);
  await buildah(['commit', '--rm', container, ref]);
}

/** The absolute paths ldd lists for `files`, the dynamic loader included. */
async function sharedLibraries(files: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const file of files) {
    const { stdout } = await execOk('ldd', [file]);
    for (const match of stdout.matchAll(/(\/\S+) \(0x[0-9a-f]+\)/g)) {
      if (match[1] !== undefined) found.add(match[1]);
    }
  }
  return [...found];
}
