import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Digest, digestOf } from '../../src/oci/digest.js';
import { imageManifest, pushBlob } from '../support/berth-pushes.js';
import { type GcApp, gcApp, storedLayerBytes } from './helpers.js';

interface Attempt {
  status: number;
  code: string | undefined;
  manifest: string;
  blobs: Digest[];
}

/** Pushes an image's blobs, lets other work run, then its manifest: the window a collection races. */
async function pushRacingImage(app: GcApp, repo: string, tag: string): Promise<Attempt> {
  const config = await pushBlob(app.berth, repo, app.auth, JSON.stringify({ os: 'linux', architecture: 'amd64', tag, seed: randomBytes(8).toString('hex') }));
  const layer = await pushBlob(app.berth, repo, app.auth, randomBytes(storedLayerBytes));
  for (let turns = Math.floor(Math.random() * 4); turns > 0; turns--) await nextTurn();
  const body = JSON.stringify(imageManifest(config, layer));
  const res = await app.berth.app.inject({ method: 'PUT', url: `/v2/${repo}/manifests/${tag}`, headers: { authorization: app.auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, payload: body });
  return { status: res.statusCode, code: res.statusCode === 201 ? undefined : res.json().errors?.[0]?.code, manifest: body, blobs: [config.digest as Digest, layer.digest as Digest] };
}

/**
 * A collection whose grace period is already over for every blob pushed, running again and again
 * while clients push images (blobs first, their manifest a moment later): every manifest push
 * either fails with MANIFEST_BLOB_UNKNOWN, as when a blob was never pushed, or succeeds with all
 * its blobs there to pull, then and after further collections.
 */
describe('garbage collection racing pushes', () => {
  it('never lets a manifest be stored on a blob it removes', { timeout: 120_000 }, async (t) => {
    const app = await gcApp(t);
    // Links and blobs are past their grace period at once; stored bytes without a row keep theirs
    // (an upload's commit stores the bytes a moment before their row, and only time protects them).
    const aheadMs = 2 * 60 * 60 * 1000;
    const collector = app.collector({ batchSize: 3, aheadMs, orphanGraceMs: aheadMs + 60_000 });
    let pushing = true;
    let removed = 0;
    let collections = 0;
    const collecting = (async () => {
      while (pushing && collections < 500) {
        removed += (await collector.collect()).linksRemoved;
        collections++;
        await nextTurn();
      }
    })();
    const attempts: Attempt[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async (_, client) => {
        for (let round = 0; round < 10; round++) attempts.push(await pushRacingImage(app, `alice/app${client}`, `v${round}`));
      }),
    );
    pushing = false;
    await collecting;

    const stored = attempts.filter((attempt) => attempt.status === 201);
    const refused = attempts.filter((attempt) => attempt.status !== 201);
    assert.ok(removed > 0, 'the collections removed links of blobs pushed for manifests still to come');
    assert.ok(stored.length > 0, 'some manifests were stored');
    for (const attempt of refused) assert.deepEqual([attempt.status, attempt.code], [400, 'MANIFEST_BLOB_UNKNOWN']);

    await collector.collect();
    for (const [index, attempt] of attempts.entries()) {
      if (attempt.status !== 201) continue;
      const digest = digestOf(attempt.manifest);
      const row = await app.engine.db
        .selectFrom('manifests')
        .innerJoin('repositories', 'repositories.id', 'manifests.repository_id')
        .select('repositories.name')
        .where('manifests.digest', '=', digest)
        .executeTakeFirstOrThrow();
      for (const blob of attempt.blobs) {
        const res = await app.berth.app.inject({ method: 'GET', url: `/v2/${row.name}/blobs/${blob}`, headers: { authorization: app.auth } });
        assert.equal(res.statusCode, 200, `blob ${blob} of stored manifest ${index}`);
        assert.equal(digestOf(res.rawPayload), blob);
      }
    }
  });

  it('refuses a manifest whose blobs a collection removed after they were checked and before it was stored', async (t) => {
    const app = await gcApp(t);
    const collector = app.collector();
    // Runs between the push's check of its blobs and the transaction that stores the manifest.
    let between: Promise<unknown> | undefined;
    app.berth.services.events.subscribe({
      pushing: async () => {
        between = collector.collect();
        await between;
        return undefined;
      },
      deleting: async () => undefined,
      tagDeleting: async () => undefined,
      downloaded: () => {},
    });
    const config = await pushBlob(app.berth, 'alice/app', app.auth, '{"os":"linux","architecture":"amd64"}');
    const layer = await pushBlob(app.berth, 'alice/app', app.auth, randomBytes(storedLayerBytes));
    const res = await app.berth.app.inject({
      method: 'PUT',
      url: '/v2/alice/app/manifests/v1',
      headers: { authorization: app.auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      payload: JSON.stringify(imageManifest(config, layer)),
    });
    assert.ok(between, 'the collection ran inside the push');
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
    assert.deepEqual(res.json().errors[0].detail.digests.sort(), [config.digest, layer.digest].sort());
    const manifest = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: app.auth } });
    assert.equal(manifest.statusCode, 404);
  });
});
