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
 * Takes group and other permissions away from `root` and every directory and file under it, as an
 * earlier version or an operator's copy may have left them readable; symbolic links are neither
 * followed nor changed. Resolves once `root` and the files directly in it (the database) are done,
 * with how many of those changed; `below` walks on through the rest, and answers how many changed
 * there. Once `root` is 0700 no other user can reach anything under it, so a server may open its
 * database and serve while a large blob tree is walked (its time grows with the number of files).
 */
export async function tightenDataDir(root: string): Promise<{ changed: number; below: Promise<number> }> {
  let top: string;
  try {
    // The data directory itself may be a link to where the data lives.
    top = await realpath(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { changed: 0, below: Promise.resolve(0) };
    throw error;
  }
  if (!(await lstat(top)).isDirectory()) return { changed: 0, below: Promise.resolve(0) };
  const { changed, subdirectories } = await tightenDirectory(top);
  return { changed, below: tightenTrees(subdirectories) };
}

async function tightenTrees(pending: string[]): Promise<number> {
  let changed = 0;
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    const step = await tightenDirectory(dir);
    changed += step.changed;
    pending.push(...step.subdirectories);
  }
  return changed;
}

/** Tightens a directory and the files in it; answers how many changed, and its subdirectories. */
async function tightenDirectory(dir: string): Promise<{ changed: number; subdirectories: string[] }> {
  let changed = (await tighten(dir, privateDirMode)) ? 1 : 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(missingIsEmpty);
  const files: string[] = [];
  const subdirectories: string[] = [];
  for (const entry of entries) {
    const entryPath = path.join(dir, entry.name);
    if (entry.isDirectory()) subdirectories.push(entryPath);
    else if (entry.isFile()) files.push(entryPath);
  }
  const results = await Promise.all(files.map((file) => tighten(file, privateFileMode)));
  changed += results.filter(Boolean).length;
  return { changed, subdirectories };
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
