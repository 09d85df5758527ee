import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { digestOf } from '../../src/oci/digest.js';
import { adminPassword, authApp, basic } from '../auth/helpers.js';
import { pushLabelledImage } from '../packages/helpers.js';
import { runBerth } from '../support/berth-cli.js';
import { pushBlob } from '../support/berth-pushes.js';
import { eventually } from '../support/eventually.js';
import { profileCliEnv } from '../support/profile-database.js';
import { storedLayerBytes } from './helpers.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/berth.js');
/** Short, so that what a test pushes is past it after a moment. */
const grace = { uploadExpiry: '1s' };
const admin = basic('root', adminPassword);

describe('garbage collection, run by an administrator', () => {
  it('POST /api/admin/gc: for site administrators only, a dry run without removing, a collection with delete:packages, figures in /metrics', async (t) => {
    const app = await authApp(t, grace);
    const alice = await app.user('alice');
    const readOnly = await app.user('root', ['read:packages']);
    const image = await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1' });
    const stray = await pushBlob(app.berth, 'alice/app', basic('alice', alice.token), randomBytes(storedLayerBytes));
    await sleep(1100);
    const gc = (authorization: string | undefined, body?: object) =>
      app.berth.app.inject({ method: 'POST', url: '/api/admin/gc', headers: { ...(authorization ? { authorization } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, payload: body ? JSON.stringify(body) : undefined });

    assert.equal((await gc(undefined)).statusCode, 401);
    const notAdmin = await gc(`Bearer ${alice.token}`, { dry_run: true });
    assert.equal(notAdmin.statusCode, 403);
    assert.match(notAdmin.json().message, /site administrators/);
    assert.equal((await gc(admin, { dry_run: 'yes' })).statusCode, 422);

    const dry = await gc(`Bearer ${readOnly.token}`, { dry_run: true });
    assert.equal(dry.statusCode, 200, dry.body);
    assert.deepEqual([dry.json().dry_run, dry.json().blobs_removed, dry.json().bytes_reclaimed], [true, 1, storedLayerBytes]);
    const refused = await gc(`Bearer ${readOnly.token}`);
    assert.equal(refused.statusCode, 403);
    assert.match(refused.json().message, /delete:packages/);
    const stillThere = await app.berth.app.inject({ method: 'HEAD', url: `/v2/alice/app/blobs/${stray.digest}`, headers: { authorization: basic('alice', alice.token) } });
    assert.equal(stillThere.statusCode, 200, 'neither the dry run nor the refused run removed it');

    const run = await gc(admin);
    assert.equal(run.statusCode, 200, run.body);
    assert.deepEqual([run.json().dry_run, run.json().links_removed, run.json().blobs_removed, run.json().bytes_reclaimed], [false, 1, 1, storedLayerBytes]);
    const gone = await app.berth.app.inject({ method: 'HEAD', url: `/v2/alice/app/blobs/${stray.digest}`, headers: { authorization: basic('alice', alice.token) } });
    assert.equal(gone.statusCode, 404);
    const manifest = await app.berth.app.inject({ method: 'GET', url: `/v2/alice/app/manifests/v1`, headers: { authorization: basic('alice', alice.token) } });
    assert.equal(manifest.headers['docker-content-digest'], image.digest);

    const metrics = (await app.berth.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, new RegExp(`^berth_gc_last_bytes_reclaimed ${storedLayerBytes}$`, 'm'));
    assert.match(metrics, /^berth_gc_last_blobs_reclaimed 1$/m);
    assert.match(metrics, new RegExp(`^berth_blob_bytes_stored ${run.json().bytes_stored}$`, 'm'));
    const started = Number(/^berth_gc_last_run_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
    assert.equal(started, Date.parse(run.json().started_at) / 1000);
    assert.match(app.logs(), /"msg":"garbage collection"/);
  });

  it('berth gc --dry-run says what it would remove; berth gc removes it', async (t) => {
    const app = await authApp(t, grace);
    const alice = await app.user('alice');
    await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1' });
    await pushBlob(app.berth, 'alice/app', basic('alice', alice.token), randomBytes(storedLayerBytes));
    await sleep(1100);
    const env = { BERTH_UPLOAD_EXPIRY: '1s' };
    const dry = await runGc(app.dataDir, ['--dry-run'], env);
    assert.match(dry, /^Dry run: nothing was removed\. Garbage collection would remove:$/m);
    assert.match(dry, new RegExp(`^  1 blob\\(s\\), 100\\.0 KiB \\(${storedLayerBytes} bytes\\)$`, 'm'));
    const real = await runGc(app.dataDir, [], env);
    assert.match(real, /^Garbage collection removed:$/m);
    assert.match(real, /^  1 link\(s\) of blobs to repositories that no manifest needs$/m);
    assert.match(real, /^  1 blob\(s\)/m);
    assert.match(await runGc(app.dataDir, [], env), /^  0 blob\(s\), 0 bytes$/m);
  });

  it('a collection killed midway loses no blob a manifest needs, and the next one finishes it', { timeout: 120_000 }, async (t) => {
    const app = await authApp(t, grace);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const image = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    const strays = 150;
    for (let i = 0; i < strays; i++) await pushBlob(app.berth, `alice/stray${i % 5}`, auth, randomBytes(storedLayerBytes));
    await sleep(1100);
    const links = async () => Number((await app.berth.db.selectFrom('repository_blobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const marked = async () => Number((await app.berth.db.selectFrom('blobs').select((eb) => eb.fn.countAll<number>().as('n')).where('deleting', '=', 1).executeTakeFirstOrThrow()).n);

    const child = spawn(process.execPath, [bin, 'gc'], { env: { ...process.env, BERTH_DATA_DIR: app.dataDir, BERTH_UPLOAD_EXPIRY: '1s', ...(await profileCliEnv(app.dataDir)) }, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Killed once it has marked blobs, while it deletes their bytes.
    await eventually(marked, (n) => n > 0, 60_000);
    child.kill('SIGKILL');
    await exited;

    const pulled = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: auth } });
    assert.equal(pulled.headers['docker-content-digest'], image.digest);
    for (const layer of (JSON.parse(pulled.body) as { layers: Array<{ digest: string }>; config: { digest: string } }).layers) {
      const blob = await app.berth.app.inject({ method: 'GET', url: `/v2/alice/app/blobs/${layer.digest}`, headers: { authorization: auth } });
      assert.equal(digestOf(blob.rawPayload), layer.digest);
    }

    // The server's sweep finishes marked blobs under the collections' lock too (on PostgreSQL a
    // lock every node shares), and a killed process's lock lasts until its session ends: the
    // next collection may have to wait for either.
    const finished = await runGcOnceFree(app.dataDir, { BERTH_UPLOAD_EXPIRY: '1s' });
    assert.match(finished, /^Garbage collection removed:$/m);
    const remaining = await app.berth.db.selectFrom('blobs').select(['digest', 'deleting']).execute();
    assert.deepEqual(remaining.filter((blob) => blob.deleting === 1), [], 'no blob is left marked');
    assert.equal(await links(), 2, "only the image's config and layer are linked");
    const noOrphans = await runGc(app.dataDir, ['--dry-run'], { BERTH_UPLOAD_EXPIRY: '1s' });
    assert.match(noOrphans, /^  0 stored blob\(s\) that no metadata records, 0 bytes$/m);
    assert.match(noOrphans, /^  0 blob\(s\), 0 bytes$/m);
  });
});

/** `berth gc`, asked again while another collection holds the lock, for at most 10 s. */
async function runGcOnceFree(dataDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const result = await berthGc(dataDir, [], env);
    if (result.code === 0) return result.stdout;
    assert.match(result.stderr, /a garbage collection is running already/);
    assert.ok(attempt < 40, "the collections' lock was still held after 10 s");
    await sleep(250);
  }
}

async function runGc(dataDir: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const result = await berthGc(dataDir, args, env);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

async function berthGc(dataDir: string, args: string[], env: NodeJS.ProcessEnv) {
  return runBerth(['gc', ...args], { env: { BERTH_DATA_DIR: dataDir, ...(await profileCliEnv(dataDir)), ...env } });
}
