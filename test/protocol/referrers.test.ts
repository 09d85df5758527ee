import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Descriptor,
  type TestApp,
  emptyConfig,
  errorCode,
  imageManifest,
  indexManifest,
  mediaTypes,
  pushBlob,
  pushImage,
  pushManifest,
  sha256,
  testApp,
} from './test-app.js';

const annotation = 'org.opencontainers.conformance.test';
const typeA = 'application/vnd.nhl.peanut.butter.bagel';
const typeB = 'application/vnd.nba.strawberry.jam.croissant';

interface ReferrersIndex {
  schemaVersion: number;
  mediaType: string;
  manifests: Array<Descriptor & { artifactType?: string; annotations?: Record<string, string> }>;
}

async function referrers(app: TestApp, name: string, digest: string, query = '') {
  const res = await app.inject({ method: 'GET', url: `/v2/${name}/referrers/${digest}${query}` });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], mediaTypes.ociIndex);
  const body = res.json() as ReferrersIndex;
  assert.equal(body.schemaVersion, 2);
  assert.equal(body.mediaType, mediaTypes.ociIndex);
  return { res, body };
}

/** The conformance suite's referrers: A and B as config artifacts, as layer artifacts, and an index. */
async function pushConformanceReferrers(app: TestApp, name: string, subject: Descriptor) {
  await pushBlob(app, name, emptyConfig.bytes);
  const blobA = await pushBlob(app, name, 'NHL Peanut Butter on my NHL bagel');
  const blobB = await pushBlob(app, name, 'NBA Strawberry Jam on my NBA croissant');
  const aConfig = imageManifest({ config: blobA.descriptor({ mediaType: typeA }), layers: [emptyConfig.descriptor()], subject, annotations: { [annotation]: 'test config a' } });
  const aLayer = imageManifest({ artifactType: typeA, config: emptyConfig.descriptor(), layers: [blobA.descriptor({ mediaType: typeA })], subject, annotations: { [annotation]: 'test layer a' } });
  const bConfig = imageManifest({ config: blobB.descriptor({ mediaType: typeB }), layers: [emptyConfig.descriptor()], subject, annotations: { [annotation]: 'test config b' } });
  const bLayer = imageManifest({ artifactType: typeB, config: emptyConfig.descriptor(), layers: [blobB.descriptor({ mediaType: typeB })], subject, annotations: { [annotation]: 'test layer b' } });
  for (const manifest of [aConfig, aLayer]) {
    const res = await pushManifest(app, name, manifest.digest, manifest);
    assert.equal(res.headers['oci-subject'], subject.digest);
  }
  const index = indexManifest({
    artifactType: 'application/vnd.food.stand',
    manifests: [aConfig.descriptor(), aLayer.descriptor()],
    subject,
    annotations: { [annotation]: 'test index' },
  });
  assert.equal((await pushManifest(app, name, index.digest, index)).headers['oci-subject'], subject.digest);
  for (const manifest of [bConfig, bLayer]) {
    assert.equal((await pushManifest(app, name, manifest.digest, manifest)).headers['oci-subject'], subject.digest);
  }
  return { aConfig, aLayer, bConfig, bLayer, index };
}

describe('GET /v2/<name>/referrers/<digest>', () => {
  it('for a digest nothing refers to answers 200 with an empty index and Content-Type exactly the index type', async (t) => {
    const app = await testApp(t);
    await pushImage(app, 'acme/app', { tag: 'v1' });
    const { res, body } = await referrers(app, 'acme/app', sha256('hello world'));
    assert.deepEqual(body, { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [] });
    assert.equal(res.headers['oci-filters-applied'], undefined);
  });

  it('lists every referrer with mediaType, digest, size, artifactType and its annotations', async (t) => {
    const app = await testApp(t);
    const subject = await pushImage(app, 'acme/app', { tag: 'tagtest0' });
    const pushed = await pushConformanceReferrers(app, 'acme/app', subject.descriptor());
    const { body } = await referrers(app, 'acme/app', subject.digest);
    assert.equal(body.manifests.length, 5);
    const byDigest = new Map(body.manifests.map((entry) => [entry.digest, entry]));
    assert.deepEqual(byDigest.get(pushed.aConfig.digest), {
      mediaType: mediaTypes.ociManifest,
      digest: pushed.aConfig.digest,
      size: pushed.aConfig.size,
      artifactType: typeA,
      annotations: { [annotation]: 'test config a' },
    });
    assert.deepEqual(byDigest.get(pushed.aLayer.digest), {
      mediaType: mediaTypes.ociManifest,
      digest: pushed.aLayer.digest,
      size: pushed.aLayer.size,
      artifactType: typeA,
      annotations: { [annotation]: 'test layer a' },
    });
    assert.deepEqual(byDigest.get(pushed.index.digest), {
      mediaType: mediaTypes.ociIndex,
      digest: pushed.index.digest,
      size: pushed.index.size,
      artifactType: 'application/vnd.food.stand',
      annotations: { [annotation]: 'test index' },
    });
    assert.equal(byDigest.get(pushed.bConfig.digest)?.artifactType, typeB);
    assert.equal(byDigest.get(pushed.bLayer.digest)?.artifactType, typeB);
    for (const entry of body.manifests) assert.equal(Object.keys(entry.annotations ?? {}).length, 1);
  });

  it('?artifactType= filters by artifactType or config.mediaType and answers OCI-Filters-Applied: artifactType', async (t) => {
    const app = await testApp(t);
    const subject = await pushImage(app, 'acme/app', { tag: 'tagtest0' });
    const pushed = await pushConformanceReferrers(app, 'acme/app', subject.descriptor());
    const { res, body } = await referrers(app, 'acme/app', subject.digest, `?artifactType=${encodeURIComponent(typeA)}`);
    assert.equal(res.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(body.manifests.map((entry) => entry.digest).sort(), [pushed.aConfig.digest, pushed.aLayer.digest].sort());
    for (const entry of body.manifests) assert.equal(entry.artifactType, typeA);

    const none = await referrers(app, 'acme/app', subject.digest, '?artifactType=application/vnd.nothing');
    assert.equal(none.res.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(none.body.manifests, []);
  });

  it('lists a referrer whose subject was never pushed', async (t) => {
    const app = await testApp(t);
    const missingSubject: Descriptor = { mediaType: mediaTypes.ociManifest, digest: sha256('manifests[3]'), size: 500 };
    await pushBlob(app, 'acme/app', emptyConfig.bytes);
    const blob = await pushBlob(app, 'acme/app', 'layer c');
    const cLayer = imageManifest({ artifactType: typeB, config: emptyConfig.descriptor(), layers: [blob.descriptor({ mediaType: typeB })], subject: missingSubject });
    const res = await pushManifest(app, 'acme/app', cLayer.digest, cLayer);
    assert.equal(res.headers['oci-subject'], missingSubject.digest);
    const { body } = await referrers(app, 'acme/app', missingSubject.digest);
    assert.equal(body.manifests.length, 1);
    assert.deepEqual(body.manifests[0], { mediaType: mediaTypes.ociManifest, digest: cLayer.digest, size: cLayer.size, artifactType: typeB });
  });

  it('omits artifactType for an index without one', async (t) => {
    const app = await testApp(t);
    const subject = await pushImage(app, 'acme/app', { seed: 'subject' });
    const child = await pushImage(app, 'acme/app', { seed: 'child' });
    const index = indexManifest({ manifests: [child.descriptor()], subject: subject.descriptor() });
    await pushManifest(app, 'acme/app', index.digest, index);
    const { body } = await referrers(app, 'acme/app', subject.digest);
    assert.deepEqual(body.manifests, [{ mediaType: mediaTypes.ociIndex, digest: index.digest, size: index.size }]);
  });

  it('drops a referrer once it is deleted', async (t) => {
    const app = await testApp(t);
    const subject = await pushImage(app, 'acme/app', { seed: 'subject' });
    const referrer = await pushImage(app, 'acme/app', { seed: 'sig', subject: subject.descriptor() });
    assert.equal((await referrers(app, 'acme/app', subject.digest)).body.manifests.length, 1);
    assert.equal((await app.inject({ method: 'DELETE', url: `/v2/acme/app/manifests/${referrer.digest}` })).statusCode, 202);
    assert.deepEqual((await referrers(app, 'acme/app', subject.digest)).body.manifests, []);
  });

  it('lists only referrers in the same repository', async (t) => {
    const app = await testApp(t);
    const subject = await pushImage(app, 'team/a', { seed: 'subject' });
    await pushImage(app, 'team/b', { seed: 'sig', subject: subject.descriptor() });
    assert.deepEqual((await referrers(app, 'team/a', subject.digest)).body.manifests, []);
    assert.equal((await referrers(app, 'team/b', subject.digest)).body.manifests.length, 1);
  });

  it('with an invalid digest answers 400 DIGEST_INVALID', async (t) => {
    const app = await testApp(t);
    await pushImage(app, 'acme/app', { tag: 'v1' });
    for (const digest of ['sha256:totallywrong', 'latest', 'md5:9e107d9d372bb6826bd81d3542a419d6']) {
      const res = await app.inject({ method: 'GET', url: `/v2/acme/app/referrers/${digest}` });
      assert.equal(res.statusCode, 400, digest);
      assert.equal(errorCode(res), 'DIGEST_INVALID');
    }
  });
});
