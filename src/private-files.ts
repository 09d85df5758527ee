import { chmod, lstat, readdir, realpath } from 'node:fs/promises';

/**
 * The data directory holds password hashes, token hashes, signing keys and private images, so
 * nothing in it is for other users of the machine: directories are created 0700 and files 0600,
 * whatever the process umask.
 */
export const privateDirMode = 0o700;
export const privateFileMode = 0o600;

const groupOrOther = 0o077;

/**
 * Takes group and other permissions away from `root`, the entries directly in it, and, when any
 * of those had them, every directory and file below; symbolic links are neither followed nor
 * changed. Resolves once the top level (the database, the blob and upload directories) is done,
 * with how many entries there changed; `below` walks on through the rest, and answers how many
 * changed there.
 *
 * A loose top level is the mark of a directory an older version made or an operator copied, whose
 * tree is then walked. A private one is not: with `root` 0700 no other user can reach anything
 * under it, and walking a blob store at every start costs a file status per blob, which on a large
 * store is seconds of I/O and, once the walk runs hot enough for V8 to optimize it, megabytes of
 * resident memory for the life of the server. The server serves beside the walk.
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
  const { changed: rootAndFiles, subdirectories } = await tightenDirectory(top);
  const tightenedSubdirectories = await Promise.all(subdirectories.map((dir) => tighten(dir, privateDirMode)));
  const changed = rootAndFiles + tightenedSubdirectories.filter(Boolean).length;
  if (changed === 0) return { changed, below: Promise.resolve(0) };
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
    // Not path.join: `dir` is already absolute and normal, and on a tree of hundreds of entries
    // path's normalizing loop runs hot enough for V8 to optimize it, which pages in the optimizing
    // compiler: megabytes of resident memory for the life of an otherwise idle server.
    const entryPath = `${dir}/${entry.name}`;
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
