import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Descriptor,
  type TestApp,
  built,
  emptyConfig,
  errorCode,
  imageManifest,
  indexManifest,
  jsonBytes,
  mediaTypes,
  platformAmd64,
  platformArm64,
  pushBlob,
  pushImage,
  pushManifest,
  putManifest,
  sha256,
  sha512,
  testApp,
} from './test-app.js';

const MiB = 1024 * 1024;

async function getManifest(app: TestApp, name: string, reference: string, accept?: string) {
  return app.inject({ method: 'GET', url: `/v2/${name}/manifests/${reference}`, headers: accept ? { accept } : {} });
}

/** Pushes a config and a layer and answers their descriptors. */
async function pushParts(app: TestApp, name: string, seed = 'x') {
  const config = await pushBlob(app, name, JSON.stringify({ architecture: 'amd64', os: 'linux', seed }), mediaTypes.ociConfig);
  const layer = await pushBlob(app, name, `layer ${seed}`, mediaTypes.ociLayer);
  return { config: config.descriptor(), layer: layer.descriptor() };
}

describe('manifests: push and pull', () => {
  it('PUT an OCI image manifest by tag answers 201 with Location by digest and Docker-Content-Digest', async (t) => {
    const app = await testApp(t);
    const { config, layer } = await pushParts(app, 'acme/app');
    const manifest = imageManifest({ config, layers: [layer] });
    const res = await putManifest(app, 'acme/app', 'v1', manifest);
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers.location, `/v2/acme/app/manifests/${manifest.digest}`);
    assert.equal(res.headers['docker-content-digest'], manifest.digest);
    assert.equal(res.headers['oci-subject'], undefined);
  });

  it('GET by tag and by digest returns the exact bytes with Content-Type, Docker-Content-Digest and Content-Length', async (t) => {
    const app = await testApp(t);
    const manifest = await pushImage(app, 'acme/app', { tag: 'v1' });
    for (const reference of ['v1', manifest.digest]) {
      const res = await getManifest(app, 'acme/app', reference);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.rawPayload, manifest.bytes);
      assert.equal(res.headers['content-type'], mediaTypes.ociManifest);
      assert.equal(res.headers['docker-content-digest'], manifest.digest);
      assert.equal(res.headers['content-length'], String(manifest.size));
    }
  });

  it('GET returns the stored bytes and type whatever the Accept header says', async (t) => {
    const app = await testApp(t);
    const manifest = await pushImage(app, 'acme/app', { tag: 'v1' });
    for (const accept of [
      mediaTypes.dockerManifest,
      `${mediaTypes.dockerManifestList}, ${mediaTypes.ociIndex}`,
      'application/json',
      '*/*',
      `${mediaTypes.dockerManifest};q=1, ${mediaTypes.ociManifest};q=0.1`,
    ]) {
      const res = await getManifest(app, 'acme/app', 'v1', accept);
      assert.equal(res.statusCode, 200, accept);
      assert.deepEqual(res.rawPayload, manifest.bytes);
      assert.equal(res.headers['content-type'], mediaTypes.ociManifest);
    }
  });

  it('HEAD by tag and by digest answers 200 with Content-Type, Docker-Content-Digest, Content-Length and no body', async (t) => {
    const app = await testApp(t);
    const manifest = await pushImage(app, 'acme/app', { tag: 'v1' });
    for (const reference of ['v1', manifest.digest]) {
      const res = await app.inject({ method: 'HEAD', url: `/v2/acme/app/manifests/${reference}` });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], mediaTypes.ociManifest);
      assert.equal(res.headers['docker-content-digest'], manifest.digest);
      assert.equal(res.headers['content-length'], String(manifest.size));
      assert.equal(res.rawPayload.length, 0);
    }
  });

  it('PUT by digest whose digest matches the body answers 201 with that digest', async (t) => {
    const app = await testApp(t);
    const { config, layer } = await pushParts(app, 'acme/app');
    const manifest = imageManifest({ config, layers: [layer] });
    const res = await putManifest(app, 'acme/app', manifest.digest, manifest);
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['docker-content-digest'], manifest.digest);
    assert.equal(res.headers.location, `/v2/acme/app/manifests/${manifest.digest}`);
    const tags = await app.inject({ method: 'GET', url: '/v2/acme/app/tags/list' });
    assert.deepEqual(tags.json().tags, []);
  });

  it('PUT by a sha512 digest answers 201 and the manifest is readable by that digest', async (t) => {
    const app = await testApp(t);
    const { config, layer } = await pushParts(app, 'acme/app');
    const manifest = imageManifest({ config, layers: [layer] });
    const digest = sha512(manifest.bytes);
    const res = await putManifest(app, 'acme/app', digest, manifest);
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['docker-content-digest'], digest);
    const get = await getManifest(app, 'acme/app', digest);
    assert.equal(get.statusCode, 200);
    assert.equal(get.headers['docker-content-digest'], digest);
  });

  it('PUT by a digest that does not match the body answers 400 DIGEST_INVALID', async (t) => {
    const app = await testApp(t);
    const { config, layer } = await pushParts(app, 'acme/app');
    const manifest = imageManifest({ config, layers: [layer] });
    const wrong = sha256('not the manifest');
    const res = await putManifest(app, 'acme/app', wrong, manifest);
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'DIGEST_INVALID');
    assert.equal((await getManifest(app, 'acme/app', manifest.digest)).statusCode, 404);
  });

  it('re-tagging points the tag at the new manifest; the old one stays readable by digest', async (t) => {
    const app = await testApp(t);
    const first = await pushImage(app, 'acme/app', { tag: 'latest', seed: 'one' });
    const second = await pushImage(app, 'acme/app', { tag: 'latest', seed: 'two' });
    assert.equal((await getManifest(app, 'acme/app', 'latest')).headers['docker-content-digest'], second.digest);
    assert.equal((await getManifest(app, 'acme/app', first.digest)).statusCode, 200);
  });

  it('PUT of the same manifest twice answers 201 both times', async (t) => {
    const app = await testApp(t);
    const { config, layer } = await pushParts(app, 'acme/app');
    const manifest = imageManifest({ config, layers: [layer] });
    await pushManifest(app, 'acme/app', 'v1', manifest);
    await pushManifest(app, 'acme/app', 'v1', manifest);
    await pushManifest(app, 'acme/app', manifest.digest, manifest);
  });

  describe('formats', () => {
    it('an OCI image index of two platform manifests answers 201 and is served as an index', async (t) => {
      const app = await testApp(t);
      const amd = await pushImage(app, 'acme/multi', { seed: 'amd' });
      const arm = await pushImage(app, 'acme/multi', { seed: 'arm' });
      const index = indexManifest({
        manifests: [amd.descriptor({ platform: platformAmd64 }), arm.descriptor({ platform: platformArm64 })],
        annotations: { 'org.opencontainers.image.description': 'multi-arch' },
      });
      await pushManifest(app, 'acme/multi', 'v1', index);
      const res = await getManifest(app, 'acme/multi', 'v1');
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], mediaTypes.ociIndex);
      assert.deepEqual(res.rawPayload, index.bytes);
    });

    it('a Docker v2 schema 2 manifest answers 201 and is served with its Docker media type', async (t) => {
      const app = await testApp(t);
      const config = await pushBlob(app, 'acme/docker', '{"architecture":"amd64","os":"linux"}', mediaTypes.dockerConfig);
      const layer = await pushBlob(app, 'acme/docker', 'docker layer', mediaTypes.dockerLayer);
      const manifest = imageManifest({ mediaType: mediaTypes.dockerManifest, config: config.descriptor(), layers: [layer.descriptor()] });
      await pushManifest(app, 'acme/docker', 'latest', manifest);
      const res = await getManifest(app, 'acme/docker', 'latest', mediaTypes.dockerManifest);
      assert.equal(res.headers['content-type'], mediaTypes.dockerManifest);
      assert.deepEqual(res.rawPayload, manifest.bytes);
    });

    it('a Docker manifest list containing OCI child manifests answers 201', async (t) => {
      const app = await testApp(t);
      const amd = await pushImage(app, 'acme/mixed', { seed: 'amd' });
      const arm = await pushImage(app, 'acme/mixed', { seed: 'arm' });
      const list = indexManifest({
        mediaType: mediaTypes.dockerManifestList,
        manifests: [amd.descriptor({ platform: platformAmd64 }), arm.descriptor({ platform: platformArm64 })],
      });
      await pushManifest(app, 'acme/mixed', 'latest', list);
      const res = await getManifest(app, 'acme/mixed', 'latest');
      assert.equal(res.headers['content-type'], mediaTypes.dockerManifestList);
      assert.deepEqual(res.rawPayload, list.bytes);
    });

    it('an artifact with artifactType, an empty config and a custom layer type answers 201', async (t) => {
      const app = await testApp(t);
      await pushBlob(app, 'acme/artifact', emptyConfig.bytes);
      const sbom = await pushBlob(app, 'acme/artifact', '{"spdxVersion":"SPDX-2.3"}', 'application/spdx+json');
      const manifest = imageManifest({
        artifactType: 'application/vnd.example.sbom.v1',
        config: emptyConfig.descriptor({ data: 'e30=' }),
        layers: [sbom.descriptor()],
      });
      await pushManifest(app, 'acme/artifact', 'sbom', manifest);
      assert.deepEqual((await getManifest(app, 'acme/artifact', 'sbom')).rawPayload, manifest.bytes);
    });

    it('a manifest with a custom config media type is not validated as an image config', async (t) => {
      const app = await testApp(t);
      const config = await pushBlob(app, 'acme/artifact', 'NHL Peanut Butter on my NHL bagel', 'application/vnd.nhl.peanut.butter.bagel');
      await pushBlob(app, 'acme/artifact', emptyConfig.bytes);
      const manifest = imageManifest({ config: config.descriptor(), layers: [emptyConfig.descriptor()] });
      await pushManifest(app, 'acme/artifact', manifest.digest, manifest);
    });

    it('an empty-layer manifest without mediaType is stored with the Content-Type it was pushed with', async (t) => {
      const app = await testApp(t);
      const { config } = await pushParts(app, 'acme/app');
      const manifest = imageManifest({ mediaType: null, config: { ...config, data: 'e30=', newUnspecifiedField: 'aGVsbG8gd29ybGQ=' }, layers: [] });
      assert.ok(!manifest.bytes.toString().includes('"mediaType": "application/vnd.oci.image.manifest'));
      const res = await putManifest(app, 'acme/app', 'emptylayer', manifest, mediaTypes.ociManifest);
      assert.equal(res.statusCode, 201);
      const get = await getManifest(app, 'acme/app', 'emptylayer');
      assert.equal(get.headers['content-type'], mediaTypes.ociManifest);
      assert.deepEqual(get.rawPayload, manifest.bytes);
    });

    it('an index without mediaType pushed with the index Content-Type is served as an index', async (t) => {
      const app = await testApp(t);
      const child = await pushImage(app, 'acme/app');
      const bytes = jsonBytes({ schemaVersion: 2, manifests: [child.descriptor()] });
      const res = await putManifest(app, 'acme/app', 'idx', built(bytes, mediaTypes.ociIndex), mediaTypes.ociIndex);
      assert.equal(res.statusCode, 201);
      assert.equal((await getManifest(app, 'acme/app', 'idx')).headers['content-type'], mediaTypes.ociIndex);
    });

    it('unknown fields and nulls are kept byte for byte', async (t) => {
      const app = await testApp(t);
      const { config, layer } = await pushParts(app, 'acme/app');
      const manifest = imageManifest({
        config: { ...config, data: 'e30=', newUnspecifiedField: 'aGVsbG8gd29ybGQ=' },
        layers: [{ ...layer, newUnspecifiedField: null }],
        extra: { futureField: { nested: [1, null, 'x'] }, alsoNull: null },
      });
      await pushManifest(app, 'acme/app', 'v1', manifest);
      const res = await getManifest(app, 'acme/app', 'v1');
      assert.deepEqual(res.rawPayload, manifest.bytes);
      assert.equal(res.json().layers[0].newUnspecifiedField, null);
      assert.deepEqual(res.json().futureField, { nested: [1, null, 'x'] });
    });

    it('Content-Type parameters are ignored on PUT and not echoed on GET', async (t) => {
      const app = await testApp(t);
      const { config, layer } = await pushParts(app, 'acme/app');
      const manifest = imageManifest({ config, layers: [layer] });
      await pushManifest(app, 'acme/app', 'v1', manifest, `${mediaTypes.ociManifest}; charset=utf-8`);
      assert.equal((await getManifest(app, 'acme/app', 'v1')).headers['content-type'], mediaTypes.ociManifest);
    });

    it('foreign and non-distributable layers are accepted without their blobs', async (t) => {
      const app = await testApp(t);
      const config = await pushBlob(app, 'acme/windows', '{"os":"windows"}', mediaTypes.dockerConfig);
      const foreign = {
        mediaType: mediaTypes.dockerForeignLayer,
        digest: sha256('windows base layer'),
        size: 1234,
        urls: ['https://mcr.microsoft.com/v2/windows/blobs/sha256:x'],
      };
      const docker = imageManifest({ mediaType: mediaTypes.dockerManifest, config: config.descriptor(), layers: [foreign] });
      await pushManifest(app, 'acme/windows', 'docker', docker);

      const ociConfig = await pushBlob(app, 'acme/windows', '{"os":"windows","v":2}', mediaTypes.ociConfig);
      const nondist = { ...foreign, mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' };
      const oci = imageManifest({ config: ociConfig.descriptor(), layers: [nondist] });
      await pushManifest(app, 'acme/windows', 'oci', oci);
    });

    it('a manifest of exactly 4 MiB is accepted', async (t) => {
      const app = await testApp(t);
      const { config, layer } = await pushParts(app, 'acme/app');
      const skeleton = imageManifest({ config, layers: [layer], annotations: { padding: '' } });
      const padding = 'p'.repeat(4 * MiB - skeleton.size);
      const manifest = imageManifest({ config, layers: [layer], annotations: { padding } });
      assert.equal(manifest.size, 4 * MiB);
      await pushManifest(app, 'acme/app', 'big', manifest);
      assert.equal((await app.inject({ method: 'HEAD', url: '/v2/acme/app/manifests/big' })).headers['content-length'], String(4 * MiB));
    });
  });

  describe('rejected manifests', () => {
    it('a manifest over 4 MiB answers 413 SIZE_INVALID', async (t) => {
      const app = await testApp(t);
      const { config, layer } = await pushParts(app, 'acme/app');
      const manifest = imageManifest({ config, layers: [layer], annotations: { padding: 'p'.repeat(4 * MiB) } });
      const res = await putManifest(app, 'acme/app', 'huge', manifest);
      assert.equal(res.statusCode, 413);
      assert.equal(errorCode(res), 'SIZE_INVALID');
      assert.equal((await getManifest(app, 'acme/app', 'huge')).statusCode, 404);
    });

    it('a Docker schema 1 manifest answers 400 MANIFEST_INVALID', async (t) => {
      const app = await testApp(t);
      const schema1 = built(
        JSON.stringify({ schemaVersion: 1, name: 'acme/app', tag: 'v1', architecture: 'amd64', fsLayers: [], history: [], signatures: [] }),
        mediaTypes.dockerSchema1Signed,
      );
      for (const contentType of [mediaTypes.dockerSchema1Signed, 'application/vnd.docker.distribution.manifest.v1+json', 'application/json']) {
        const res = await putManifest(app, 'acme/app', 'v1', schema1, contentType);
        assert.equal(res.statusCode, 400, contentType);
        assert.equal(errorCode(res), 'MANIFEST_INVALID');
        assert.match(res.json().errors[0].message, /schema 1 is not supported/);
      }
    });

    it('a body that is not JSON answers 400 MANIFEST_INVALID', async (t) => {
      const app = await testApp(t);
      for (const body of ['blablabla', '', '[1,2]', 'null', '{"schemaVersion":2,']) {
        const res = await putManifest(app, 'acme/app', 'v1', built(body, mediaTypes.ociManifest));
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(errorCode(res), 'MANIFEST_INVALID');
      }
    });

    it('a manifest that breaks the schema answers 400 MANIFEST_INVALID', async (t) => {
      const app = await testApp(t);
      const { config, layer } = await pushParts(app, 'acme/app');
      const bodies: unknown[] = [
        { schemaVersion: 3, mediaType: mediaTypes.ociManifest, config, layers: [layer] },
        { schemaVersion: 2, mediaType: mediaTypes.ociManifest, layers: [layer] },
        { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { ...config, digest: 'sha256:nothex' }, layers: [] },
        { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { ...config, size: -1 }, layers: [] },
        { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [{ ...layer, mediaType: 'not a media type' }] },
        { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: 'nope' },
        { schemaVersion: 2, mediaType: 'application/vnd.unknown+json', config, layers: [] },
        { schemaVersion: 2, mediaType: 42, config, layers: [] },
      ];
      for (const body of bodies) {
        const manifest = built(JSON.stringify(body), mediaTypes.ociManifest);
        const res = await putManifest(app, 'acme/app', 'v1', manifest, null);
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(errorCode(res), 'MANIFEST_INVALID');
      }
    });

    it('a Content-Type that differs from the body mediaType answers 400 MANIFEST_INVALID', async (t) => {
      const app = await testApp(t);
      const { config, layer } = await pushParts(app, 'acme/app');
      const manifest = imageManifest({ config, layers: [layer] });
      for (const contentType of [mediaTypes.ociIndex, mediaTypes.dockerManifest]) {
        const res = await putManifest(app, 'acme/app', 'v1', manifest, contentType);
        assert.equal(res.statusCode, 400);
        assert.equal(errorCode(res), 'MANIFEST_INVALID');
        assert.match(res.json().errors[0].message, /does not match the manifest's mediaType/);
      }
    });

    it('a manifest whose config or layer blob is missing answers 400 MANIFEST_BLOB_UNKNOWN naming the digests', async (t) => {
      const app = await testApp(t);
      const { config } = await pushParts(app, 'acme/app');
      const missingLayer = { mediaType: mediaTypes.ociLayer, digest: sha256('never pushed'), size: 12 };
      const res = await putManifest(app, 'acme/app', 'v1', imageManifest({ config, layers: [missingLayer] }));
      assert.equal(res.statusCode, 400);
      assert.equal(errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
      assert.deepEqual(res.json().errors[0].detail, { digests: [missingLayer.digest] });

      const missingConfig = { mediaType: mediaTypes.ociConfig, digest: sha256('no config'), size: 9 };
      const res2 = await putManifest(app, 'acme/app', 'v2', imageManifest({ config: missingConfig, layers: [] }));
      assert.equal(res2.statusCode, 400);
      assert.equal(errorCode(res2), 'MANIFEST_BLOB_UNKNOWN');
      assert.equal((await getManifest(app, 'acme/app', 'v1')).statusCode, 404);
    });

    it('a manifest whose blobs exist only in another repository answers 400 MANIFEST_BLOB_UNKNOWN, and leaves no repository behind', async (t) => {
      const app = await testApp(t);
      const { config, layer } = await pushParts(app, 'team/a');
      const res = await putManifest(app, 'team/b', 'v1', imageManifest({ config, layers: [layer] }));
      assert.equal(res.statusCode, 400);
      assert.equal(errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
      const catalog = await app.inject({ method: 'GET', url: '/v2/_catalog' });
      assert.deepEqual(catalog.json(), { repositories: ['team/a'] });
      const tags = await app.inject({ method: 'GET', url: '/v2/team/b/tags/list' });
      assert.equal(tags.statusCode, 404);
      assert.equal(errorCode(tags), 'NAME_UNKNOWN');
    });

    it('an index whose child manifest is missing answers 400 MANIFEST_BLOB_UNKNOWN', async (t) => {
      const app = await testApp(t);
      const present = await pushImage(app, 'acme/multi', { seed: 'present' });
      const missing: Descriptor = { mediaType: mediaTypes.ociManifest, digest: sha256('no such manifest'), size: 100, platform: platformArm64 };
      const index = indexManifest({ manifests: [present.descriptor({ platform: platformAmd64 }), missing] });
      const res = await putManifest(app, 'acme/multi', 'v1', index);
      assert.equal(res.statusCode, 400);
      assert.equal(errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
      assert.deepEqual(res.json().errors[0].detail, { digests: [missing.digest] });
    });

    it('PUT with an invalid tag answers 400', async (t) => {
      const app = await testApp(t);
      const { config, layer } = await pushParts(app, 'acme/app');
      const res = await putManifest(app, 'acme/app', '.INVALID_MANIFEST_NAME', imageManifest({ config, layers: [layer] }));
      assert.equal(res.statusCode, 400);
      assert.ok(['MANIFEST_INVALID', 'TAG_INVALID'].includes(errorCode(res)));
    });

    it('PUT to /manifests/sha256:totallywrong answers 400 DIGEST_INVALID', async (t) => {
      const app = await testApp(t);
      const res = await putManifest(app, 'acme/app', 'sha256:totallywrong', built('blablabla', mediaTypes.ociManifest));
      assert.equal(res.statusCode, 400);
      assert.equal(errorCode(res), 'DIGEST_INVALID');
    });
  });

  describe('subject', () => {
    it('PUT of an image manifest with a subject answers 201 with OCI-Subject, even when the subject does not exist', async (t) => {
      const app = await testApp(t);
      const subject: Descriptor = { mediaType: mediaTypes.ociManifest, digest: sha256('a manifest never pushed'), size: 321 };
      await pushBlob(app, 'acme/app', emptyConfig.bytes);
      const sig = await pushBlob(app, 'acme/app', 'signature', 'application/vnd.example.signature');
      const referrer = imageManifest({ artifactType: 'application/vnd.example.signature', config: emptyConfig.descriptor(), layers: [sig.descriptor()], subject });
      const res = await putManifest(app, 'acme/app', referrer.digest, referrer);
      assert.equal(res.statusCode, 201);
      assert.equal(res.headers['oci-subject'], subject.digest);
    });

    it('PUT of an index with a subject answers 201 with OCI-Subject', async (t) => {
      const app = await testApp(t);
      const subject = await pushImage(app, 'acme/app', { tag: 'v1', seed: 'subject' });
      const child = await pushImage(app, 'acme/app', { seed: 'child' });
      const index = indexManifest({ artifactType: 'application/vnd.food.stand', manifests: [child.descriptor()], subject: subject.descriptor() });
      const res = await putManifest(app, 'acme/app', index.digest, index);
      assert.equal(res.statusCode, 201);
      assert.equal(res.headers['oci-subject'], subject.digest);
    });

    it('PUT by tag of a manifest with a subject also answers OCI-Subject', async (t) => {
      const app = await testApp(t);
      const subject = await pushImage(app, 'acme/app', { seed: 'subject' });
      const referrer = await pushImage(app, 'acme/app', { seed: 'referrer', subject: subject.descriptor() });
      const res = await putManifest(app, 'acme/app', 'sha256-tagged', referrer);
      assert.equal(res.statusCode, 201);
      assert.equal(res.headers['oci-subject'], subject.digest);
    });
  });

  describe('GET and HEAD of missing manifests', () => {
    it('GET and HEAD of an invalid tag (.INVALID_MANIFEST_NAME) answer 404 MANIFEST_UNKNOWN', async (t) => {
      const app = await testApp(t);
      await pushImage(app, 'acme/app', { tag: 'v1' });
      const get = await getManifest(app, 'acme/app', '.INVALID_MANIFEST_NAME');
      assert.equal(get.statusCode, 404);
      assert.equal(errorCode(get), 'MANIFEST_UNKNOWN');
      assert.equal((await app.inject({ method: 'HEAD', url: '/v2/acme/app/manifests/.INVALID_MANIFEST_NAME' })).statusCode, 404);
    });

    it('GET of an unknown tag and an unknown digest answers 404 MANIFEST_UNKNOWN', async (t) => {
      const app = await testApp(t);
      await pushImage(app, 'acme/app', { tag: 'v1' });
      for (const reference of ['v2', sha256('nothing')]) {
        const res = await getManifest(app, 'acme/app', reference);
        assert.equal(res.statusCode, 404, reference);
        assert.equal(errorCode(res), 'MANIFEST_UNKNOWN');
      }
    });

    it('GET of a manifest in a repository that does not exist answers 404 NAME_UNKNOWN', async (t) => {
      const app = await testApp(t);
      const res = await getManifest(app, 'no/such/repo', 'latest');
      assert.equal(res.statusCode, 404);
      assert.equal(errorCode(res), 'NAME_UNKNOWN');
      assert.deepEqual(res.json().errors[0].detail, { name: 'no/such/repo' });
    });

    it('GET of a manifest pushed to another repository answers 404', async (t) => {
      const app = await testApp(t);
      const manifest = await pushImage(app, 'team/a', { tag: 'v1' });
      await pushImage(app, 'team/b', { tag: 'v1', seed: 'b' });
      const res = await getManifest(app, 'team/b', manifest.digest);
      assert.equal(res.statusCode, 404);
      assert.equal(errorCode(res), 'MANIFEST_UNKNOWN');
    });

    it('GET, HEAD and DELETE of /manifests/sha256:totallywrong answer 400 DIGEST_INVALID (GET with a body, as the suite sends it)', async (t) => {
      const app = await testApp(t);
      await pushImage(app, 'acme/app', { tag: 'v1' });
      const get = await app.inject({
        method: 'GET',
        url: '/v2/acme/app/manifests/sha256:totallywrong',
        headers: { 'content-type': mediaTypes.ociManifest },
        payload: 'blablabla',
      });
      assert.equal(get.statusCode, 400);
      assert.equal(errorCode(get), 'DIGEST_INVALID');
      assert.equal((await app.inject({ method: 'HEAD', url: '/v2/acme/app/manifests/sha256:totallywrong' })).statusCode, 400);
      const del = await app.inject({ method: 'DELETE', url: '/v2/acme/app/manifests/sha256:totallywrong' });
      assert.equal(del.statusCode, 400);
      assert.equal(errorCode(del), 'DIGEST_INVALID');
    });
  });

  describe('DELETE /v2/<name>/manifests/<reference>', () => {
    it('by digest answers 202 and removes the manifest and every tag on it', async (t) => {
      const app = await testApp(t);
      const manifest = await pushImage(app, 'acme/app', { tag: 'v1' });
      await pushManifest(app, 'acme/app', 'latest', manifest);
      await pushImage(app, 'acme/app', { tag: 'other', seed: 'other' });
      const res = await app.inject({ method: 'DELETE', url: `/v2/acme/app/manifests/${manifest.digest}` });
      assert.equal(res.statusCode, 202);
      for (const reference of ['v1', 'latest', manifest.digest]) {
        const get = await getManifest(app, 'acme/app', reference);
        assert.equal(get.statusCode, 404, reference);
        assert.equal(errorCode(get), 'MANIFEST_UNKNOWN');
      }
      const tags = await app.inject({ method: 'GET', url: '/v2/acme/app/tags/list' });
      assert.deepEqual(tags.json().tags, ['other']);
    });

    it('by tag answers 202 and removes only that tag', async (t) => {
      const app = await testApp(t);
      const manifest = await pushImage(app, 'acme/app', { tag: 'v1' });
      await pushManifest(app, 'acme/app', 'latest', manifest);
      const res = await app.inject({ method: 'DELETE', url: '/v2/acme/app/manifests/latest' });
      assert.equal(res.statusCode, 202);
      assert.equal((await getManifest(app, 'acme/app', 'latest')).statusCode, 404);
      assert.equal((await getManifest(app, 'acme/app', 'v1')).statusCode, 200);
      assert.equal((await getManifest(app, 'acme/app', manifest.digest)).statusCode, 200);
      assert.deepEqual((await app.inject({ method: 'GET', url: '/v2/acme/app/tags/list' })).json().tags, ['v1']);
    });

    it('of an unknown digest or tag answers 404 MANIFEST_UNKNOWN', async (t) => {
      const app = await testApp(t);
      await pushImage(app, 'acme/app', { tag: 'v1' });
      for (const reference of [sha256('nothing'), 'v2']) {
        const res = await app.inject({ method: 'DELETE', url: `/v2/acme/app/manifests/${reference}` });
        assert.equal(res.statusCode, 404, reference);
        assert.equal(errorCode(res), 'MANIFEST_UNKNOWN');
      }
    });

    it('in a repository that does not exist answers 404 NAME_UNKNOWN', async (t) => {
      const app = await testApp(t);
      const res = await app.inject({ method: 'DELETE', url: `/v2/no/such/repo/manifests/${sha256('x')}` });
      assert.equal(res.statusCode, 404);
      assert.equal(errorCode(res), 'NAME_UNKNOWN');
    });

    it('the manifest can be pushed again after it was deleted', async (t) => {
      const app = await testApp(t);
      const manifest = await pushImage(app, 'acme/app', { tag: 'v1' });
      assert.equal((await app.inject({ method: 'DELETE', url: `/v2/acme/app/manifests/${manifest.digest}` })).statusCode, 202);
      await pushManifest(app, 'acme/app', 'v1', manifest);
      assert.deepEqual((await getManifest(app, 'acme/app', 'v1')).rawPayload, manifest.bytes);
    });
  });
});
