import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { DatabaseEngine } from '../../src/db/engine.js';
import { type Digest, digestOf } from '../../src/oci/digest.js';
import { imageManifest, pushBlob, putManifest } from '../support/berth-pushes.js';
import { eventually } from '../support/eventually.js';
import { type GcApp, blobState, gcApp, pushStoredImage, storedLayerBytes } from './helpers.js';

/** Commits bytes to the store without any metadata, as a crash between the two would leave them. */
async function orphanBytes(app: GcApp, bytes: Buffer): Promise<Digest> {
  const digest = digestOf(bytes);
  const id = randomUUID();
  await app.store.createUpload(id);
  await app.store.appendUpload(id, 0, Readable.from([bytes]));
  await app.store.commitUpload(id, digest);
  return digest;
}

async function versionId(app: GcApp, name: string, digest: string): Promise<number> {
  const versions = await app.berth.app.inject({ method: 'GET', url: `/api/user/packages/container/${name}/versions`, headers: { authorization: app.bearer } });
  const version = (versions.json() as Array<{ id: number; name: string }>).find((entry) => entry.name === digest);
  assert.ok(version, `a version ${digest} of ${name}`);
  return version.id;
}

describe('garbage collection', () => {
  it('removes the blobs no manifest references once past the grace period, with their bytes, and keeps what manifests need', async (t) => {
    const app = await gcApp(t);
    const image = await pushStoredImage(app, 'alice/app', 'v1');
    const strayBytes = randomBytes(storedLayerBytes);
    const stray = (await pushBlob(app.berth, 'alice/app', app.auth, strayBytes)).digest as Digest;
    const smallStray = (await pushBlob(app.berth, 'alice/app', app.auth, 'a small stray blob, kept in its row')).digest as Digest;

    const early = await app.collector({ aheadMs: 0 }).collect();
    assert.deepEqual([early.linksRemoved, early.blobsRemoved], [0, 0], 'nothing is older than the grace period yet');
    assert.deepEqual(await blobState(app, 'alice/app', stray), { linked: true, stored: true, row: true });

    const report = await app.collector().collect();
    assert.equal(report.dryRun, false);
    assert.equal(report.linksRemoved, 2);
    assert.equal(report.blobsRemoved, 2);
    assert.equal(report.bytesReclaimed, strayBytes.length + 'a small stray blob, kept in its row'.length);
    assert.deepEqual(await blobState(app, 'alice/app', stray), { linked: false, stored: false, row: false });
    assert.deepEqual(await blobState(app, 'alice/app', smallStray), { linked: false, stored: false, row: false });
    for (const digest of [image.layer, image.config]) {
      assert.equal((await blobState(app, 'alice/app', digest)).linked, true, `${digest} kept`);
    }
    assert.equal((await blobState(app, 'alice/app', image.layer)).stored, true);
    const layer = await app.berth.app.inject({ method: 'GET', url: `/v2/alice/app/blobs/${image.layer}`, headers: { authorization: app.auth } });
    assert.equal(layer.statusCode, 200);
    assert.equal(digestOf(layer.rawPayload), image.layer);

    const again = await app.collector().collect();
    assert.deepEqual([again.linksRemoved, again.blobsRemoved, again.orphansRemoved], [0, 0, 0], 'a second collection finds nothing');
    assert.equal(again.bytesStored, report.bytesStored);
  });

  it('keeps a layer shared with another repository while that one still references it', async (t) => {
    const app = await gcApp(t);
    const sharedBytes = randomBytes(storedLayerBytes);
    const config = await pushBlob(app.berth, 'alice/one', app.auth, '{"os":"linux","architecture":"amd64"}');
    const shared = await pushBlob(app.berth, 'alice/one', app.auth, sharedBytes);
    await putManifest(app.berth, 'alice/one', app.auth, 'v1', imageManifest(config, shared));
    // The other repository has the layer as a blob only, which its link's age lets go.
    await pushBlob(app.berth, 'alice/two', app.auth, sharedBytes);
    const report = await app.collector().collect();
    assert.equal(report.linksRemoved, 1);
    assert.equal(report.blobsRemoved, 0);
    assert.deepEqual(await blobState(app, 'alice/two', shared.digest as Digest), { linked: false, stored: true, row: true });
    assert.deepEqual(await blobState(app, 'alice/one', shared.digest as Digest), { linked: true, stored: true, row: true });
  });

  it('keeps the blobs of a deleted version while it can be restored, and removes them once it is purged', async (t) => {
    const app = await gcApp(t);
    const kept = await pushStoredImage(app, 'alice/app', 'v1');
    const deleted = await pushStoredImage(app, 'alice/app', 'v2');
    const deletion = await app.berth.app.inject({ method: 'DELETE', url: `/api/user/packages/container/app/versions/${await versionId(app, 'app', deleted.digest)}`, headers: { authorization: app.bearer } });
    assert.equal(deletion.statusCode, 204, deletion.body);

    const whileRestorable = await app.collector().collect();
    assert.deepEqual([whileRestorable.linksRemoved, whileRestorable.blobsRemoved], [0, 0]);
    assert.deepEqual(await blobState(app, 'alice/app', deleted.layer), { linked: true, stored: true, row: true });

    // Restored, it pulls whole; deleted again and past the restore window, it is purged.
    const id = (await app.engine.db.selectFrom('package_versions').select('id').where('digest', '=', deleted.digest).executeTakeFirstOrThrow()).id;
    const restore = await app.berth.app.inject({ method: 'POST', url: `/api/user/packages/container/app/versions/${id}/restore`, headers: { authorization: app.bearer } });
    assert.equal(restore.statusCode, 204, restore.body);
    const pulled = await app.berth.app.inject({ method: 'GET', url: `/v2/alice/app/blobs/${deleted.layer}`, headers: { authorization: app.auth } });
    assert.equal(digestOf(pulled.rawPayload), deleted.layer);
    await app.berth.app.inject({ method: 'DELETE', url: `/api/user/packages/container/app/versions/${id}`, headers: { authorization: app.bearer } });
    await app.engine.db.updateTable('package_versions').set({ deleted_at: new Date(Date.now() - 31 * 86_400_000).toISOString() }).where('id', '=', id).execute();
    await app.berth.packages.purge();

    const afterPurge = await app.collector().collect();
    assert.equal(afterPurge.blobsRemoved, 2, 'the purged version’s config and layer');
    assert.deepEqual(await blobState(app, 'alice/app', deleted.layer), { linked: false, stored: false, row: false });
    assert.deepEqual(await blobState(app, 'alice/app', kept.layer), { linked: true, stored: true, row: true });
  });

  it('a dry run reports what a collection removes, to the byte, and removes nothing', async (t) => {
    const app = await gcApp(t);
    await pushStoredImage(app, 'alice/app', 'v1');
    const stray = (await pushBlob(app.berth, 'alice/app', app.auth, randomBytes(storedLayerBytes))).digest as Digest;
    const orphan = await orphanBytes(app, randomBytes(4096));
    const aheadMs = 3 * 60 * 60 * 1000;
    // The orphan's age is its file's: the collector's clock must pass the grace period for it too.
    const dry = await app.collector({ aheadMs }).collect({ dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.deepEqual(await blobState(app, 'alice/app', stray), { linked: true, stored: true, row: true });
    assert.ok(await app.store.stat(orphan));
    const real = await app.collector({ aheadMs }).collect();
    const figures = (report: typeof real) => [report.linksRemoved, report.blobsRemoved, report.bytesReclaimed, report.orphansRemoved, report.orphanBytesReclaimed, report.bytesStored];
    assert.deepEqual(figures(dry), figures(real));
    assert.deepEqual(figures(real), [1, 1, storedLayerBytes, 1, 4096, real.bytesStored]);
    assert.equal(await app.store.stat(orphan), undefined);
  });

  it('lets other work in between its batches, even where the database answers without waiting', async (t) => {
    const app = await gcApp(t);
    const strays = 12;
    for (let i = 0; i < strays; i++) await pushBlob(app.berth, 'alice/app', app.auth, `stray ${i}, kept in its row`);
    const links = async () => Number((await app.engine.db.selectFrom('repository_blobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    // A callback queued as the collection starts stands for a request read then: it runs at the
    // collection's first turn to the event loop, and counts what is left.
    const linksWhenLetIn = new Promise<number>((resolve, reject) => setImmediate(() => links().then(resolve, reject)));
    const report = await app.collector({ batchSize: 1 }).collect();
    assert.equal(report.linksRemoved, strays);
    const left = await linksWhenLetIn;
    assert.ok(left > strays / 2, `let in with ${left} of ${strays} links left, not once the step was done`);
  });

  it('a dry run reads in batches and holds nothing, so requests go on meanwhile, and foresees shared and restorable blobs as a collection keeps them', async (t) => {
    const app = await gcApp(t);
    await pushStoredImage(app, 'alice/one', 'v1');
    const sharedBytes = randomBytes(storedLayerBytes);
    const config = await pushBlob(app.berth, 'alice/one', app.auth, '{"os":"linux","architecture":"arm64"}');
    const shared = await pushBlob(app.berth, 'alice/one', app.auth, sharedBytes);
    await putManifest(app.berth, 'alice/one', app.auth, 'v2', imageManifest(config, shared));
    // alice/two links the shared layer with no manifest: its link goes, the blob stays.
    await pushBlob(app.berth, 'alice/two', app.auth, sharedBytes);
    const strays = 6;
    for (let i = 0; i < strays; i++) await pushBlob(app.berth, 'alice/two', app.auth, `stray ${i}`);
    // A blob counts once its links in every repository go.
    for (const repository of ['alice/two', 'alice/three']) await pushBlob(app.berth, repository, app.auth, 'a stray linked twice');
    // ...and not while one of them is within the grace period: here alice/two's link goes, alice/four's stays.
    await pushBlob(app.berth, 'alice/two', app.auth, 'a stray linked again lately');
    const young = await pushBlob(app.berth, 'alice/four', app.auth, 'a stray linked again lately');
    const lately = new Date(Date.now() + 3 * 60 * 60 * 1000).toISOString();
    const four = app.engine.db.selectFrom('repositories').select('id').where('name', '=', 'alice/four');
    await app.engine.db.updateTable('repository_blobs').set({ created_at: lately }).where('repository_id', 'in', four).execute();
    // A deleted version keeps its blobs while it can be restored.
    const deleted = await pushStoredImage(app, 'alice/app', 'v1');
    const deletion = await app.berth.app.inject({ method: 'DELETE', url: `/api/user/packages/container/app/versions/${await versionId(app, 'app', deleted.digest)}`, headers: { authorization: app.bearer } });
    assert.equal(deletion.statusCode, 204, deletion.body);

    // The dry run's queries are counted, and a request queued as it starts notes how many ran before it.
    let queries = 0;
    const counted = app.engine.db.withPlugin({ transformQuery: ({ node }) => (queries++, node), transformResult: async ({ result }) => result });
    const engine = Object.create(app.engine, { db: { value: counted } }) as DatabaseEngine;
    const queriesBeforeRequest = new Promise<number>((resolve, reject) => setImmediate(() => app.engine.db.selectFrom('blobs').select('digest').execute().then(() => resolve(queries), reject)));
    const dry = await app.collector({ batchSize: 1, engine }).collect({ dryRun: true });
    assert.ok((await queriesBeforeRequest) < queries / 2, `the request waited for ${await queriesBeforeRequest} of the dry run's ${queries} queries`);

    const real = await app.collector({ batchSize: 1 }).collect();
    const figures = (report: typeof real) => [report.linksRemoved, report.blobsRemoved, report.bytesReclaimed, report.bytesStored];
    assert.deepEqual(figures(dry), figures(real));
    assert.deepEqual([real.linksRemoved, real.blobsRemoved], [strays + 4, strays + 1]);
    const youngState = await blobState(app, 'alice/four', young.digest as Digest);
    assert.deepEqual([youngState.linked, youngState.row], [true, true]);
    assert.deepEqual(await blobState(app, 'alice/one', shared.digest as Digest), { linked: true, stored: true, row: true });
    assert.deepEqual(await blobState(app, 'alice/app', deleted.layer), { linked: true, stored: true, row: true });
  });

  it('removes bytes that no blob row records only once they are older than the grace period', async (t) => {
    const app = await gcApp(t);
    const orphan = await orphanBytes(app, randomBytes(2048));
    assert.equal((await app.collector({ aheadMs: 0 }).collect()).orphansRemoved, 0);
    assert.ok(await app.store.stat(orphan));
    assert.equal((await app.collector().collect()).orphansRemoved, 1);
    assert.equal(await app.store.stat(orphan), undefined);
  });

  it('finishes a collection cut short after it marked a blob, and refuses to link that blob meanwhile', async (t) => {
    const app = await gcApp(t);
    const bytes = randomBytes(storedLayerBytes);
    const digest = (await pushBlob(app.berth, 'alice/app', app.auth, bytes)).digest as Digest;
    // What a collection that died after its marking transaction leaves: no link, a marked row, the bytes.
    await app.engine.db.deleteFrom('repository_blobs').where('digest', '=', digest).execute();
    await app.engine.db.updateTable('blobs').set({ deleting: 1 }).where('digest', '=', digest).execute();

    const again = await app.berth.app.inject({
      method: 'POST',
      url: `/v2/alice/app/blobs/uploads/?digest=${digest}`,
      headers: { authorization: app.auth, 'content-type': 'application/octet-stream' },
      payload: bytes,
    });
    assert.equal(again.statusCode, 400, again.body);
    assert.equal(again.json().errors[0].code, 'BLOB_UPLOAD_INVALID');
    assert.match(again.json().errors[0].message, /garbage collection/);
    const mount = await app.berth.app.inject({ method: 'POST', url: `/v2/alice/other/blobs/uploads/?mount=${digest}&from=alice/app`, headers: { authorization: app.auth } });
    assert.equal(mount.statusCode, 202, 'the mount becomes an upload');

    // The next collection, whatever its clock, finishes the marked blob.
    const report = await app.collector({ aheadMs: 0 }).collect();
    assert.equal(report.blobsRemoved, 1);
    assert.deepEqual(await blobState(app, 'alice/app', digest), { linked: false, stored: false, row: false });
    const pushedAgain = await pushBlob(app.berth, 'alice/app', app.auth, bytes);
    assert.deepEqual(await blobState(app, 'alice/app', pushedAgain.digest as Digest), { linked: true, stored: true, row: true });
  });

  it('a sweep finishes the blobs a collection cut short left marked, so that they can be pushed again before the next collection', async (t) => {
    // Sweeps run every second with this expiry.
    const app = await gcApp(t, { uploadExpiry: '4s' });
    const bytes = randomBytes(storedLayerBytes);
    const digest = (await pushBlob(app.berth, 'alice/app', app.auth, bytes)).digest as Digest;
    // What a collection that died after its marking transaction leaves: no link, a marked row, the bytes.
    await app.engine.db.deleteFrom('repository_blobs').where('digest', '=', digest).execute();
    await app.engine.db.updateTable('blobs').set({ deleting: 1 }).where('digest', '=', digest).execute();

    const gone = { linked: false, stored: false, row: false };
    assert.deepEqual(await eventually(() => blobState(app, 'alice/app', digest), (state) => isDeepStrictEqual(state, gone), 15_000), gone);
    assert.match(app.logs(), /garbage collection cut short: finished the blobs it had marked/);
    const pushedAgain = await pushBlob(app.berth, 'alice/app', app.auth, bytes);
    assert.deepEqual(await blobState(app, 'alice/app', pushedAgain.digest as Digest), { linked: true, stored: true, row: true });
  });

  it('a sweep with no marked blob to finish does not take the collections\' lock, which would turn a collection away', async (t) => {
    const app = await gcApp(t);
    await pushStoredImage(app, 'alice/app', 'v1');
    const finishing = app.berth.collections.finishCutShort();
    const report = await app.berth.collections.run();
    await finishing;
    assert.ok(report, 'the collection ran');
  });
});
