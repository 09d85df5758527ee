import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { parseAccountName } from '../../src/accounts/names.js';
import { openPostgres } from '../../src/db/postgres/engine.js';
import { copiedTables } from '../../src/migrate/copied-tables.js';
import type { Digest } from '../../src/oci/digest.js';
import { inlineBlobBytes } from '../../src/registry/upload-service.js';
import { FsBlobStore } from '../../src/storage/fs/fs-blob-store.js';
import { S3BlobStore } from '../../src/storage/s3/s3-blob-store.js';
import { type AuthApp, authApp, basic } from '../auth/helpers.js';
import { type Pushed, pushBlob, pushLabelledImage, putManifest } from '../packages/helpers.js';
import { apiRequest } from '../support/api-request.js';
import { runBerth } from '../support/berth-cli.js';
import { imageManifest } from '../support/berth-pushes.js';
import { sha256 } from '../support/digests.js';
import type { ExecResult } from '../support/exec.js';
import { newDatabase } from '../support/postgres-process.js';
import { skipWithoutPostgres } from '../support/postgres-suite.js';
import { databaseUrl } from '../support/profile-database.js';
import { s3rverCredentials } from '../support/s3-process.js';
import { scaleOutStores } from '../support/scale-out-stores.js';

/** A password in the URL the operator gives: the server trusts the socket and ignores it, and the output must not show it. */
const password = 'not-for-the-output';

/** What the source installation holds, to find on the target. */
interface Source {
  app: AuthApp;
  alice: { token: string };
  bob: { token: string };
  image: Pushed;
  /** Too large for the database: its bytes are a file in the data directory. */
  largeLayer: { digest: string; bytes: Buffer };
  deleted: Pushed;
  publicImage: Pushed;
}

/**
 * `berth migrate` from a data directory (SQLite and blob files) to PostgreSQL and S3, through the
 * built CLI, then a Berth on the target answering as the source did.
 */
describe('berth migrate: a data directory to PostgreSQL and S3', { skip: await skipWithoutPostgres() }, () => {
  const stores = scaleOutStores();

  /** Users, an organization, a private and a public package, a tag, a deleted version, tokens, immutable tag patterns and retention policies; closed before it is migrated. */
  async function sourceInstallation(t: TestContext): Promise<Source> {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    const auth = basic('alice', alice.token);
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    const config = await pushBlob(app.berth, 'alice/app', auth, JSON.stringify({ architecture: 'amd64', os: 'linux' }));
    const bytes = randomBytes(inlineBlobBytes + 1000);
    const layer = await pushBlob(app.berth, 'alice/app', auth, bytes);
    const image = await putManifest(app.berth, 'alice/app', auth, 'v1', imageManifest(config, layer));
    const deleted = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'old', seed: 'old' });
    const removed = await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/app/manifests/${deleted.digest}`, headers: { authorization: auth } });
    assert.equal(removed.statusCode, 202);
    // More manifests and versions than one batch of the copy holds (16 rows of tables with manifest bytes).
    for (let build = 0; build < 20; build++) await pushLabelledImage(app.berth, 'alice/app', auth, { seed: `build ${build}` });
    const publicImage = await pushLabelledImage(app.berth, 'acme/tool', auth, { tag: 'latest' });
    const shown = await app.berth.app.inject({
      method: 'PATCH',
      url: '/api/orgs/acme/packages/container/tool',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ visibility: 'public' }),
    });
    assert.equal(shown.statusCode, 200, shown.body);
    const appPackage = await app.berth.packages.require('alice/app');
    await app.berth.packages.immutableTags.setForPackage(appPackage.id, ['v\\d+']);
    await app.berth.packages.immutableTags.setForOwner(appPackage.owner.id, ['release-.*']);
    await app.berth.packages.retention.setForPackage(appPackage.id, { keepNewest: 5, keepTags: ['v\\d+'], deleteUntaggedOlderThanDays: 7 });
    await app.berth.packages.retention.setForOwner(appPackage.owner.id, { deleteTaggedOlderThanDays: 30, deleteTags: ['pr-.*'] });
    // Closing writes what the server kept in memory; authApp's own close afterwards does nothing.
    await app.berth.close();
    return { app, alice, bob, image, largeLayer: { digest: layer.digest, bytes }, deleted, publicImage };
  }

  function targetStore(prefix: string): S3BlobStore {
    return new S3BlobStore({ client: stores.s3.client(), bucket: stores.s3.bucket, prefix, redirect: false });
  }

  function migrateCli(dataDir: string, database: pg.PoolConfig, storagePrefix?: string): Promise<ExecResult> {
    const url = databaseUrl(database).replace('@/', `:${password}@/`);
    const storage = storagePrefix === undefined ? [] : ['--to-storage', `s3://${stores.s3.bucket}/${storagePrefix}`, '--s3-endpoint', stores.s3.endpoint, '--s3-path-style', 'on'];
    return runBerth(['migrate', '--data-dir', dataDir, '--to-database', url, ...storage], {
      env: { AWS_ACCESS_KEY_ID: s3rverCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3rverCredentials.secretAccessKey, AWS_REGION: 'us-east-1' },
    });
  }

  function lineOf(output: string, start: string): string {
    const line = output.split('\n').find((candidate) => candidate.startsWith(start));
    assert.ok(line, `no line "${start}..." in:\n${output}`);
    return line;
  }

  function tableLines(output: string): string[] {
    return output.split('\n').filter((line) => line.startsWith('table '));
  }

  /** Every row of every copied table, in key order, as the source's SQLite file holds them. */
  function sourceRows(dataDir: string): Record<string, unknown[]> {
    const db = new SQLite(path.join(dataDir, 'berth.db'), { readonly: true });
    try {
      return Object.fromEntries(copiedTables.map((table) => [table.name, db.prepare(`select * from ${table.name} order by ${table.key.join(', ')}`).all()]));
    } finally {
      db.close();
    }
  }

  /** The same of the target database, with its bigint columns as the numbers SQLite gives. */
  async function targetRows(database: pg.PoolConfig): Promise<Record<string, unknown[]>> {
    const client = new pg.Client({ ...database, types: { getTypeParser: (oid, format) => (oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) } });
    await client.connect();
    try {
      const rows: Record<string, unknown[]> = {};
      for (const table of copiedTables) rows[table.name] = (await client.query(`select * from ${table.name} order by ${table.key.join(', ')}`)).rows;
      return rows;
    } finally {
      await client.end();
    }
  }

  it('copies every table and the stored blobs; run again, it finds everything there and changes nothing; a Berth on the target answers as the source did', async (t) => {
    const source = await sourceInstallation(t);
    const database = await newDatabase(stores.postgres);
    const prefix = `${randomBytes(4).toString('hex')}/`;

    const first = await migrateCli(source.app.dataDir, database, prefix);
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    assert.ok(!`${first.stdout}${first.stderr}`.includes(password), first.stdout);
    assert.match(lineOf(first.stdout, 'Rows and blobs the target already has'), /running this again finishes a migration that was cut off/);
    assert.equal(lineOf(first.stdout, 'blobs recorded in the database:'), 'blobs recorded in the database: 1 copied, 0 already present, 0 failed');
    assert.equal(lineOf(first.stdout, 'other blobs in the store:'), 'other blobs in the store: 0 copied, 0 already present, 0 failed');
    assert.equal(lineOf(first.stdout, 'table accounts:'), 'table accounts: 4 copied, 0 already there');
    assert.equal(tableLines(first.stdout).length, 31);
    assert.ok(tableLines(first.stdout).every((line) => line.endsWith(', 0 already there')));
    assert.match(lineOf(first.stdout, 'summary:'), /^summary: rows: \d+ copied, 0 already there; blobs: 1 copied, 0 already present, 0 failed$/);

    const copied = await targetRows(database);
    assert.deepEqual(copied, sourceRows(source.app.dataDir));
    const again = await migrateCli(source.app.dataDir, database, prefix);
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    assert.ok(tableLines(again.stdout).every((line) => / 0 copied, \d+ already there$/.test(line)), again.stdout);
    assert.equal(lineOf(again.stdout, 'table accounts:'), 'table accounts: 0 copied, 4 already there');
    assert.equal(lineOf(again.stdout, 'blobs recorded in the database:'), 'blobs recorded in the database: 0 copied, 1 already present, 0 failed');
    assert.deepEqual(await targetRows(database), copied);

    const target = await authApp(t, {}, { database: await openPostgres(database), blobStore: targetStore(prefix) });
    const alice = basic('alice', source.alice.token);
    const byTag = await target.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: alice, accept: source.image.mediaType } });
    assert.equal(byTag.statusCode, 200, byTag.body);
    assert.equal(byTag.headers['docker-content-digest'], source.image.digest);
    assert.equal(sha256(byTag.rawPayload), source.image.digest);
    const byDigest = await target.berth.app.inject({ method: 'GET', url: `/v2/alice/app/manifests/${source.image.digest}`, headers: { authorization: alice, accept: source.image.mediaType } });
    assert.equal(byDigest.statusCode, 200);
    const layer = await target.berth.app.inject({ method: 'GET', url: `/v2/alice/app/blobs/${source.largeLayer.digest}`, headers: { authorization: alice } });
    assert.equal(layer.statusCode, 200);
    assert.ok(layer.rawPayload.equals(source.largeLayer.bytes));

    const bob = basic('bob', source.bob.token);
    const hidden = await target.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: bob } });
    assert.equal(hidden.statusCode, 404);
    const shown = await target.berth.app.inject({ method: 'GET', url: '/v2/acme/tool/manifests/latest', headers: { authorization: bob, accept: source.publicImage.mediaType } });
    assert.equal(shown.statusCode, 200, shown.body);
    assert.equal(shown.headers['docker-content-digest'], source.publicImage.digest);

    const api = (method: 'GET' | 'POST', url: string) => apiRequest(target, method, url, source.alice.token);
    const deleted = await api('GET', '/api/user/packages/container/app/versions?state=deleted');
    assert.equal(deleted.statusCode, 200, deleted.body);
    const versions = deleted.json() as Array<{ id: number; name: string }>;
    assert.deepEqual(versions.map((version) => version.name), [source.deleted.digest]);
    // Restoring puts back the manifest bytes the deleted version kept, so they came over intact.
    assert.equal((await api('POST', `/api/user/packages/container/app/versions/${versions[0]!.id}/restore`)).statusCode, 204);
    const restored = await target.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/old', headers: { authorization: alice, accept: source.deleted.mediaType } });
    assert.equal(restored.statusCode, 200);
    assert.equal(sha256(restored.rawPayload), source.deleted.digest);

    const token = await target.berth.app.inject({ method: 'GET', url: `/token?scope=${encodeURIComponent('repository:alice/app:pull')}`, headers: { authorization: alice } });
    assert.equal(token.statusCode, 200, token.body);
    // Rows the target numbers itself get ids after the copied ones.
    const acme = await target.berth.accounts.find('acme');
    const carol = await target.user('carol');
    assert.ok(acme && carol.id > acme.id, `carol ${carol.id}, acme ${acme?.id}`);
    await pushLabelledImage(target.berth, 'alice/app', alice, { tag: 'v2', seed: 'after the move' });
  });

  it('with no --to-storage moves only the metadata; a Berth on the target serves the blobs from the data directory', async (t) => {
    const source = await sourceInstallation(t);
    const database = await newDatabase(stores.postgres);
    const migrated = await migrateCli(source.app.dataDir, database);
    assert.equal(migrated.code, 0, `${migrated.stdout}\n${migrated.stderr}`);
    assert.equal(lineOf(migrated.stdout, 'blobs:'), 'blobs: not copied, as no target store was given: they stay in the source store, and only the metadata moves');
    assert.match(lineOf(migrated.stdout, 'summary:'), /^summary: rows: \d+ copied, 0 already there$/);

    const files = new FsBlobStore(source.app.dataDir);
    await files.init();
    const target = await authApp(t, {}, { database: await openPostgres(database), blobStore: files });
    const layer = await target.berth.app.inject({ method: 'GET', url: `/v2/alice/app/blobs/${source.largeLayer.digest}`, headers: { authorization: basic('alice', source.alice.token) } });
    assert.equal(layer.statusCode, 200);
    assert.ok(layer.rawPayload.equals(source.largeLayer.bytes));
  });

  it('refuses, changing nothing, a target database that holds another installation', async (t) => {
    const [one, other] = [await sourceInstallation(t), await sourceInstallation(t)];
    const database = await newDatabase(stores.postgres);
    assert.equal((await migrateCli(one.app.dataDir, database)).code, 0);
    const before = await targetRows(database);

    const refused = await migrateCli(other.app.dataDir, database);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^berth: the target database already has accounts, and not this installation’s/m);
    assert.ok(!refused.stdout.includes('table '), refused.stdout);
    assert.deepEqual(await targetRows(database), before);
  });

  it('reports a blob whose file no longer matches its digest as failed, exits 1, and stores nothing under that digest', async (t) => {
    const source = await sourceInstallation(t);
    const hex = source.largeLayer.digest.slice('sha256:'.length);
    const overwrite = async (bytes: Buffer) => {
      const file = await open(path.join(source.app.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex), 'r+');
      await file.write(bytes, 0, bytes.length, 1000);
      await file.close();
    };
    await overwrite(Buffer.from('corrupted'));
    const database = await newDatabase(stores.postgres);
    const prefix = `${randomBytes(4).toString('hex')}/`;

    const migrated = await migrateCli(source.app.dataDir, database, prefix);
    assert.equal(migrated.code, 1, migrated.stdout);
    assert.match(lineOf(migrated.stdout, '  failed:'), new RegExp(`^  failed: ${source.largeLayer.digest}: its ${source.largeLayer.bytes.length} bytes hash to sha256:[0-9a-f]{64}$`));
    assert.equal(lineOf(migrated.stdout, 'blobs recorded in the database:'), 'blobs recorded in the database: 0 copied, 0 already present, 1 failed');
    assert.match(migrated.stderr, /^berth: 1 blob\(s\) could not be copied/m);
    // The rest is copied all the same.
    assert.equal(lineOf(migrated.stdout, 'table accounts:'), 'table accounts: 4 copied, 0 already there');

    const store = targetStore(prefix);
    assert.equal(await store.stat(source.largeLayer.digest as Digest), undefined);
    assert.deepEqual(await store.listUploads(), []);

    // Repaired, the blob is copied by the next run, which finds the rest there.
    await overwrite(source.largeLayer.bytes.subarray(1000, 1009));
    const repaired = await migrateCli(source.app.dataDir, database, prefix);
    assert.equal(repaired.code, 0, `${repaired.stdout}\n${repaired.stderr}`);
    assert.equal(lineOf(repaired.stdout, 'blobs recorded in the database:'), 'blobs recorded in the database: 1 copied, 0 already present, 0 failed');
    assert.ok(tableLines(repaired.stdout).every((line) => / 0 copied, \d+ already there$/.test(line)), repaired.stdout);
    assert.equal(await store.stat(source.largeLayer.digest as Digest), source.largeLayer.bytes.length);
  });

  it('finishes a run that was cut off: copies the rows and blobs the target lacks, and only those', async (t) => {
    const source = await sourceInstallation(t);
    const database = await newDatabase(stores.postgres);
    const prefix = `${randomBytes(4).toString('hex')}/`;
    assert.equal((await migrateCli(source.app.dataDir, database, prefix)).code, 0);
    // What a run cut off partway leaves: the last tables short of rows, the last blob not stored.
    const client = new pg.Client(database);
    await client.connect();
    try {
      await client.query('delete from sign_in_failures');
      await client.query('delete from signing_keys');
      await client.query("delete from tags where name = 'v1'");
    } finally {
      await client.end();
    }
    await targetStore(prefix).delete(source.largeLayer.digest as Digest);

    const resumed = await migrateCli(source.app.dataDir, database, prefix);
    assert.equal(resumed.code, 0, `${resumed.stdout}\n${resumed.stderr}`);
    assert.equal(lineOf(resumed.stdout, 'blobs recorded in the database:'), 'blobs recorded in the database: 1 copied, 0 already present, 0 failed');
    assert.equal(lineOf(resumed.stdout, 'table tags:'), 'table tags: 1 copied, 1 already there');
    assert.match(lineOf(resumed.stdout, 'table signing_keys:'), /^table signing_keys: [1-9]\d* copied, 0 already there$/);
    assert.equal(lineOf(resumed.stdout, 'table accounts:'), 'table accounts: 0 copied, 4 already there');
    assert.deepEqual(await targetRows(database), sourceRows(source.app.dataDir));
    assert.equal(await targetStore(prefix).stat(source.largeLayer.digest as Digest), source.largeLayer.bytes.length);
  });
});
