import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { authApp, basic, pushImage } from '../auth/helpers.js';
import { repoRoot } from '../support/registry-process.js';

/** Every directory and file under `root` (itself included) with its permission bits. */
async function modes(root: string): Promise<Array<{ entry: string; kind: 'dir' | 'file'; mode: number }>> {
  const found: Array<{ entry: string; kind: 'dir' | 'file'; mode: number }> = [];
  const pending = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    found.push({ entry: dir, kind: 'dir', mode: (await lstat(dir)).mode & 0o777 });
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const entryPath = path.join(dir, entry.name);
      if (entry.isDirectory()) pending.push(entryPath);
      else found.push({ entry: entryPath, kind: 'file', mode: (await lstat(entryPath)).mode & 0o777 });
    }
  }
  return found;
}

async function assertPrivate(root: string): Promise<void> {
  const loose = (await modes(root))
    .filter(({ kind, mode }) => mode !== (kind === 'dir' ? 0o700 : 0o600))
    .map(({ entry, mode }) => `${path.relative(root, entry) || '.'} ${mode.toString(8)}`);
  assert.deepEqual(loose, [], 'directories are 0700 and files 0600');
}

/** The entries counted by each warning a server logged about tightening its data directory. */
function tighteningWarnings(app: Awaited<ReturnType<typeof authApp>>): number[] {
  return app
    .logs()
    .split('\n')
    .filter((line) => line.includes('readable by other users'))
    .map((line) => (JSON.parse(line) as { entries: number }).entries);
}

/** A data directory that does not exist yet, inside a temp dir removed after the test. */
async function freshDataDir(t: TestContext): Promise<string> {
  const parent = await mkdtemp(path.join(os.tmpdir(), 'berth-modes-'));
  t.after(() => rm(parent, { recursive: true, force: true }));
  return path.join(parent, 'data');
}

/** Pushes a file-stored layer and an inline config, and leaves an upload in progress with bytes in it. */
async function fillDataDir(app: Awaited<ReturnType<typeof authApp>>): Promise<void> {
  const alice = await app.user('alice');
  const authorization = basic(alice.name, alice.token);
  await pushImage(app.berth, 'alice/app', authorization, 'x'.repeat(200 * 1024));
  const started = await app.berth.app.inject({ method: 'POST', url: '/v2/alice/app/blobs/uploads/', headers: { authorization } });
  assert.equal(started.statusCode, 202);
  const patched = await app.berth.app.inject({
    method: 'PATCH',
    url: String(started.headers.location),
    headers: { authorization, 'content-type': 'application/octet-stream' },
    payload: Buffer.alloc(100 * 1024, 1),
  });
  assert.equal(patched.statusCode, 202);
}

describe('data directory permissions', () => {
  it('a new data directory, its database (with -wal and -shm), blobs and uploads are private to the server user', async (t) => {
    const dataDir = await freshDataDir(t);
    const app = await authApp(t, { dataDir });
    await fillDataDir(app);
    const names = (await modes(dataDir)).map(({ entry }) => path.relative(dataDir, entry));
    for (const expected of ['berth.db', 'berth.db-wal', 'berth.db-shm']) assert.ok(names.includes(expected), `${expected} exists`);
    assert.ok(names.some((name) => name.startsWith('blobs/sha256/')), 'a blob file exists');
    assert.ok(names.some((name) => name.startsWith('uploads/')), 'an upload file exists');
    await assertPrivate(dataDir);
  });

  it('a data directory left readable by others is tightened at start, with one warning', async (t) => {
    const dataDir = await freshDataDir(t);
    const first = await authApp(t, { dataDir });
    await fillDataDir(first);
    await first.berth.close();
    const entries = await modes(dataDir);
    for (const { entry, kind } of entries) await chmod(entry, kind === 'dir' ? 0o755 : 0o644);

    const second = await authApp(t, { dataDir });
    // The top level and the database before the server answers; the rest beside its start.
    const top = (await modes(dataDir)).filter(({ entry, kind }) => entry === dataDir || (kind === 'file' && path.dirname(entry) === dataDir));
    assert.ok(top.some(({ entry }) => path.basename(entry) === 'berth.db'));
    for (const { entry, mode } of top) assert.equal(mode & 0o077, 0, `${path.relative(dataDir, entry) || '.'} is private once the server answers`);
    await second.berth.tightened;
    await assertPrivate(dataDir);
    assert.deepEqual(tighteningWarnings(second), [entries.length]);
  });

  it('a private data directory is not walked at start; loosening its top level has the whole tree walked', async (t) => {
    const dataDir = await freshDataDir(t);
    const first = await authApp(t, { dataDir });
    await fillDataDir(first);
    await first.berth.close();
    const blob = (await modes(dataDir)).find(({ entry, kind }) => kind === 'file' && path.relative(dataDir, entry).startsWith('blobs/sha256/'));
    assert.ok(blob, 'a blob file exists');
    // Below a private top level nobody else can reach it: the start leaves it, and says nothing.
    await chmod(blob.entry, 0o644);
    const second = await authApp(t, { dataDir });
    await second.berth.tightened;
    assert.equal((await lstat(blob.entry)).mode & 0o777, 0o644);
    assert.deepEqual(tighteningWarnings(second), []);
    await second.berth.close();

    await chmod(dataDir, 0o755);
    const third = await authApp(t, { dataDir });
    await third.berth.tightened;
    await assertPrivate(dataDir);
    assert.deepEqual(tighteningWarnings(third), [2]);
  });

  it('berth user create on a new data directory creates only private files', async (t) => {
    const dataDir = await freshDataDir(t);
    const run = promisify(execFile);
    await run(process.execPath, [path.join(repoRoot(), 'bin', 'berth.js'), 'user', 'create', 'alice', '--data-dir', dataDir], { timeout: 60_000 });
    assert.ok((await readdir(dataDir)).includes('berth.db'));
    await assertPrivate(dataDir);
  });
});
