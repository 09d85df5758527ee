import { chmod, lstat, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';

/**
 * The data directory holds password hashes, token hashes, signing keys and private images, so
 * nothing in it is for other users of the machine: directories are created 0700 and files 0600,
 * whatever the process umask.
 */
export const privateDirMode = 0o700;
export const privateFileMode = 0o600;

const groupOrOther = 0o077;

/**
 * Takes group and other permissions away from every directory and file under `root` (and from
 * `root` itself), as an earlier version or an operator's copy may have left them readable.
 * Symbolic links are neither followed nor changed. Answers how many entries were changed.
 */
export async function tightenPermissions(root: string): Promise<number> {
  let top: string;
  try {
    // The data directory itself may be a link to where the data lives.
    top = await realpath(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  if (!(await lstat(top)).isDirectory()) return 0;
  let changed = 0;
  const pending = [top];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    if (await tighten(dir, privateDirMode)) changed += 1;
    const entries = await readdir(dir, { withFileTypes: true }).catch(missingIsEmpty);
    const files: string[] = [];
    for (const entry of entries) {
      const entryPath = path.join(dir, entry.name);
      if (entry.isDirectory()) pending.push(entryPath);
      else if (entry.isFile()) files.push(entryPath);
    }
    const results = await Promise.all(files.map((file) => tighten(file, privateFileMode)));
    changed += results.filter(Boolean).length;
  }
  return changed;
}

/** Answers whether `entry` had group or other permissions, which it now has not. */
async function tighten(entry: string, allowed: number): Promise<boolean> {
  try {
    const { mode } = await lstat(entry);
    if ((mode & groupOrOther) === 0) return false;
    await chmod(entry, mode & allowed);
    return true;
  } catch (error) {
    // An entry removed meanwhile (an upload finished or expired) needs nothing.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

function missingIsEmpty(error: NodeJS.ErrnoException): [] {
  if (error.code === 'ENOENT') return [];
  throw error;
}
