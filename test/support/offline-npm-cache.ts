import { cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execOk } from './exec.js';
import { tar } from './oci-layout.js';

interface PrebuildInstallUtil {
  getDownloadUrl(options: Record<string, unknown>): string;
  cachedPrebuild(url: string): string;
}

/**
 * Fills `dir` as an npm cache from which `npm ci` of the project at `root` needs nothing from
 * the network: a copy of this machine's npm cache (the copy keeps the original out of reach of
 * the build), and better-sqlite3's prebuilt binary where prebuild-install looks before it
 * downloads one (`_prebuilds/`, under a name made from the download URL), packed from the binary
 * the project's own install put in node_modules. GitHub, where the binary comes from, is not
 * reachable from every machine the tests run on.
 */
export async function fillOfflineNpmCache(dir: string, root: string): Promise<void> {
  const hostCache = (await execOk('npm', ['config', 'get', 'cache'], { cwd: root })).stdout.trim();
  const entries = path.join(hostCache, '_cacache');
  if (await exists(entries)) await cp(entries, path.join(dir, '_cacache'), { recursive: true });

  const packageDir = path.join(root, 'node_modules', 'better-sqlite3');
  const pkg = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const util = createRequire(path.join(packageDir, 'package.json'))('prebuild-install/util') as PrebuildInstallUtil;
  const url = util.getDownloadUrl({ pkg, runtime: 'node', platform: process.platform, arch: process.arch, 'tag-prefix': 'v' });
  const binary = await readFile(path.join(packageDir, 'build', 'Release', 'better_sqlite3.node'));
  const archive = gzipSync(
    tar([{ name: 'build/' }, { name: 'build/Release/' }, { name: 'build/Release/better_sqlite3.node', data: binary, mode: 0o755 }]),
  );
  await mkdir(path.join(dir, '_prebuilds'), { recursive: true });
  await writeFile(path.join(dir, '_prebuilds', path.basename(util.cachedPrebuild(url))), archive);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
