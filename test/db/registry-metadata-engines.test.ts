import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { DatabaseEngine } from '../../src/db/engine.js';
import { openPostgres } from '../../src/db/postgres/engine.js';
import { type Digest, digestOf } from '../../src/oci/digest.js';
import { mediaTypes } from '../../src/oci/media-types.js';
import type { RepositoryName } from '../../src/oci/names.js';
import { type NewManifest, RegistryMetadata } from '../../src/registry/metadata.js';
import { type PostgresHandle, newDatabase, startPostgres } from '../support/postgres-process.js';
import { skipWithoutPostgres } from '../support/postgres-suite.js';
import { tempDatabase } from '../support/temp-database.js';

const app = 'acme/app' as RepositoryName;
const other = 'acme/other' as RepositoryName;

function manifest(fields: { blobs?: Digest[]; manifests?: Digest[]; subject?: Digest; artifactType?: string; label: string }): NewManifest {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, annotations: { label: fields.label } }));
  return {
    digest: digestOf(content),
    mediaType: mediaTypes.ociManifest,
    artifactType: fields.artifactType,
    subject: fields.subject,
    content,
    annotations: { label: fields.label },
    blobs: fields.blobs ?? [],
    manifests: fields.manifests ?? [],
  };
}

/**
 * The registry's metadata on each engine: the same calls, the same answers. This is what makes
 * an engine a sibling rather than a fork: every query `RegistryMetadata` runs (prepared statements,
 * JSON arrays as tables, upserts, group commits) is run here on the embedded SQLite and on a
 * real PostgreSQL 15.
 */
function metadataOnEngine(name: string, open: (t: TestContext) => Promise<DatabaseEngine>, skip: string | false) {
  describe(`RegistryMetadata on ${name}`, { skip }, () => {
    it('links blobs, small ones with their bytes, and finds them only in their repository', async (t) => {
      const metadata = new RegistryMetadata(await open(t));
      const large = digestOf('large blob');
      const small = digestOf('small blob');
      await metadata.linkBlob(app, large, 10_000_000);
      await metadata.linkBlob(app, small, 10, { content: Buffer.from('small blob') });
      // Linking again is an idempotent upsert.
      await metadata.linkBlob(app, small, 10, { content: Buffer.from('small blob') });
      assert.equal(await metadata.repositoryExists(app), true);
      assert.deepEqual(await metadata.blob(app, large), { size: 10_000_000, content: undefined });
      assert.deepEqual(await metadata.blob(app, small), { size: 10, content: Buffer.from('small blob') });
      assert.deepEqual(await metadata.inlineContent(small), Buffer.from('small blob'));
      assert.equal(await metadata.inlineContent(large), undefined);
      assert.equal(await metadata.blob(other, small), undefined);
      assert.equal(await metadata.unlinkBlob(app, small), true);
      assert.equal(await metadata.unlinkBlob(app, small), false);
      assert.equal(await metadata.blob(app, small), undefined);
    });

    it('stores a manifest with its references and tag, finds what a manifest lacks, and deletes it', async (t) => {
      const metadata = new RegistryMetadata(await open(t));
      const layers = [digestOf('layer one'), digestOf('layer two')];
      for (const layer of layers) await metadata.linkBlob(app, layer, 100);
      const image = manifest({ blobs: layers, label: 'image' });
      assert.deepEqual(await metadata.missingManifests(app, [image.digest]), [image.digest]);
      const lacking = manifest({ blobs: [...layers, digestOf('absent')], label: 'lacking' });
      await assert.rejects(metadata.putManifest(app, lacking, 'lacking'), { code: 'MANIFEST_BLOB_UNKNOWN', detail: { digests: [digestOf('absent')] } });
      assert.equal(await metadata.manifestByDigest(app, lacking.digest), undefined);
      await metadata.putManifest(app, image, 'v1');
      const index = manifest({ manifests: [image.digest], label: 'index' });
      await metadata.putManifest(app, index, 'latest');
      await metadata.putManifest(app, index, 'latest');
      assert.deepEqual(await metadata.missingManifests(app, [image.digest]), []);

      const byTag = await metadata.manifestByTag(app, 'latest');
      assert.equal(byTag?.digest, index.digest);
      assert.equal(byTag?.size, index.content.length);
      assert.deepEqual(byTag?.content, index.content);
      assert.equal((await metadata.manifestByDigest(app, image.digest))?.mediaType, mediaTypes.ociManifest);
      assert.equal(await metadata.manifestByDigest(other, image.digest), undefined);
      assert.deepEqual(await metadata.listTags(app, 10, undefined), ['latest', 'v1']);
      assert.deepEqual(await metadata.listTags(app, 1, 'latest'), ['v1']);
      assert.equal(await metadata.listTags(other, 10, undefined), undefined);

      assert.equal(await metadata.deleteTag(app, 'v1'), true);
      assert.deepEqual(await metadata.listTags(app, 10, undefined), ['latest']);
      assert.equal(await metadata.deleteManifests(app, [index.digest, image.digest]), 2);
      assert.equal(await metadata.manifestByTag(app, 'latest'), undefined);
      assert.equal(await metadata.manifestByDigest(app, image.digest), undefined);
    });

    it('tags a stored manifest again only while its blobs are linked in the repository', async (t) => {
      const metadata = new RegistryMetadata(await open(t));
      const layer = digestOf('layer');
      await metadata.linkBlob(app, layer, 100);
      const image = manifest({ blobs: [layer], label: 'image' });
      await metadata.putManifest(app, image, 'v1');
      await metadata.unlinkBlob(app, layer);
      await assert.rejects(metadata.putManifest(app, image, 'v2'), { code: 'MANIFEST_BLOB_UNKNOWN' });
      assert.deepEqual(await metadata.listTags(app, 10, undefined), ['v1']);
    });

    it('answers referrers of a subject, filtered by artifact type', async (t) => {
      const metadata = new RegistryMetadata(await open(t));
      const subject = manifest({ label: 'subject' });
      await metadata.putManifest(app, subject, 'v1');
      const signature = manifest({ subject: subject.digest, artifactType: 'application/vnd.example.signature', label: 'signature' });
      const sbom = manifest({ subject: subject.digest, artifactType: 'application/spdx+json', label: 'sbom' });
      await metadata.putManifest(app, signature, undefined);
      await metadata.putManifest(app, sbom, undefined);
      const all = await metadata.referrers(app, subject.digest, undefined);
      assert.deepEqual(all.map((referrer) => referrer.digest).sort(), [signature.digest, sbom.digest].sort());
      const signatures = await metadata.referrers(app, subject.digest, 'application/vnd.example.signature');
      assert.deepEqual(
        signatures.map((referrer) => [referrer.digest, referrer.artifactType, referrer.annotations]),
        [[signature.digest, 'application/vnd.example.signature', { label: 'signature' }]],
      );
    });

    it('lists repositories in order, by pages', async (t) => {
      const metadata = new RegistryMetadata(await open(t));
      for (const name of ['zeta/app', 'acme/app', 'beta/tools/cli'] as RepositoryName[]) await metadata.linkBlob(name, digestOf('x'), 1);
      assert.deepEqual(await metadata.listRepositories(10, undefined), ['acme/app', 'beta/tools/cli', 'zeta/app']);
      assert.deepEqual(await metadata.listRepositories(1, 'acme/app'), ['beta/tools/cli']);
    });

    it('keeps upload sessions, their last activity, and ends them with the blob they became', async (t) => {
      const metadata = new RegistryMetadata(await open(t));
      await metadata.createUpload('u1', app);
      await metadata.createUpload('u2', app);
      assert.equal((await metadata.upload('u1'))?.repository, app);
      assert.deepEqual([...(await metadata.uploadIds())].sort(), ['u1', 'u2']);
      assert.deepEqual((await metadata.uploadIdsUpdatedBefore(new Date(Date.now() + 60_000))).sort(), ['u1', 'u2']);
      assert.deepEqual(await metadata.uploadIdsUpdatedBefore(new Date(Date.now() - 60_000)), []);
      await metadata.linkBlob(app, digestOf('from u1'), 7, { completedUpload: 'u1' });
      assert.equal(await metadata.upload('u1'), undefined);
      assert.equal(await metadata.deleteUpload('u2'), true);
      assert.equal(await metadata.deleteUpload('u2'), false);
    });

    it('commits writes that arrive together, each alone if another fails', async (t) => {
      const metadata = new RegistryMetadata(await open(t));
      const names = Array.from({ length: 20 }, (_, index) => `acme/app-${index}` as RepositoryName);
      const failing = manifest({ label: 'rolled back' });
      const results = await Promise.allSettled([
        ...names.map((name) => metadata.linkBlob(name, digestOf(name), 1)),
        // Fails after its manifest and tag rows were written: they go, the others stay.
        metadata.putManifest(app, failing, 'gone', async () => {
          throw new Error('a listener failed');
        }),
      ]);
      assert.deepEqual(
        results.map((result) => result.status),
        [...names.map(() => 'fulfilled'), 'rejected'],
      );
      for (const name of names) assert.equal((await metadata.blob(name, digestOf(name)))?.size, 1);
      assert.equal(await metadata.manifestByDigest(app, failing.digest), undefined);
      assert.equal(await metadata.manifestByTag(app, 'gone'), undefined);
    });
  });
}

metadataOnEngine('SQLite', tempDatabase, false);

const postgresMissing = await skipWithoutPostgres();
let server: PostgresHandle | undefined;
before(async () => {
  if (!postgresMissing) server = await startPostgres();
});
after(async () => {
  await server?.close();
});

/** A new database on the cluster for each test, opened through the PostgreSQL engine. */
async function freshPostgres(t: TestContext): Promise<DatabaseEngine> {
  if (!server) throw new Error('PostgreSQL did not start');
  const engine = await openPostgres(await newDatabase(server));
  t.after(() => engine.close());
  return engine;
}

metadataOnEngine('PostgreSQL', freshPostgres, postgresMissing);
