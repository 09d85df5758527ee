import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf } from './digest.js';
import { RegistryError } from './errors.js';
import { parseManifest } from './manifest.js';
import { mediaTypes } from './media-types.js';

const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf('config'), size: 6 };
const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf('layer'), size: 5 };
const image = { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [layer] };

function parse(body: unknown) {
  return parseManifest(Buffer.from(JSON.stringify(body)), undefined);
}

/** The MANIFEST_INVALID message `body` is refused with. */
function refusal(body: unknown): string {
  try {
    parse(body);
  } catch (error) {
    assert.ok(error instanceof RegistryError);
    assert.equal(error.code, 'MANIFEST_INVALID');
    return error.message;
  }
  assert.fail(`accepted ${JSON.stringify(body)}`);
}

describe('parseManifest', () => {
  it('keeps fields the spec does not name, and the optional ones it does', () => {
    const withExtras = {
      ...image,
      annotations: { 'org.opencontainers.image.title': 'app' },
      subject: { ...config, mediaType: mediaTypes.ociManifest, artifactType: 'application/example' },
      layers: [{ ...layer, urls: ['https://example.com/layer'], annotations: {}, future: { nested: true } }],
      future: 1,
    };
    const parsed = parse(withExtras);
    assert.equal(parsed.kind, 'image');
    assert.deepEqual(parsed.blobs, [config, withExtras.layers[0]]);
    assert.equal(parsed.subject?.digest, config.digest);
    assert.equal(parsed.artifactType, config.mediaType);
    assert.deepEqual(parsed.annotations, withExtras.annotations);
    assert.equal(parsed.imageBytes, 11);
  });

  it('reads the platforms of an index and accepts one without any', () => {
    const child = { ...config, mediaType: mediaTypes.ociManifest, platform: { architecture: 'arm64', os: 'linux', variant: 'v8', 'os.features': [] } };
    const parsed = parse({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [child, { ...child, platform: undefined }] });
    assert.equal(parsed.kind, 'index');
    assert.deepEqual(parsed.manifests[0]?.platform, child.platform);
    assert.deepEqual(parsed.blobs, []);
  });

  for (const [why, body, message] of [
    ['a schemaVersion other than 2', { ...image, schemaVersion: 3 }, /^schemaVersion: must be 2/],
    ['no config', { ...image, config: undefined }, /^config: must be an object/],
    ['layers not an array', { ...image, layers: { 0: layer } }, /^layers: must be an array/],
    ['a layer that is null', { ...image, layers: [layer, null] }, /^layers\.1: must be an object/],
    ['a media type that is not one', { ...image, layers: [{ ...layer, mediaType: 'not a type' }] }, /^layers\.0\.mediaType: /],
    ['a digest that is not one', { ...image, config: { ...config, digest: 'sha256:nothex' } }, /^config\.digest: /],
    ['a fractional size', { ...image, config: { ...config, size: 1.5 } }, /^config\.size: /],
    ['a negative size', { ...image, config: { ...config, size: -1 } }, /^config\.size: /],
    ['a size as a string', { ...image, config: { ...config, size: '6' } }, /^config\.size: /],
    ['a size beyond exact integers', { ...image, config: { ...config, size: 2 ** 53 } }, /^config\.size: /],
    ['urls of numbers', { ...image, layers: [{ ...layer, urls: [1] }] }, /^layers\.0\.urls: /],
    ['an annotation that is not a string', { ...image, annotations: { a: 'x', b: 2 } }, /^annotations\.b: must be a string/],
    ['annotations as an array', { ...image, annotations: ['a'] }, /^annotations: must be an object/],
    ['a null optional field', { ...image, artifactType: null }, /^artifactType: must be a string/],
    ['a subject that is no descriptor', { ...image, subject: { digest: config.digest } }, /^subject\.mediaType: /],
    ['a platform without os', { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [{ ...config, platform: { architecture: 'amd64' } }] }, /^manifests\.0\.platform\.os: /],
    ['manifests not an array', { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: 'nope' }, /^manifests: must be an array/],
  ] as const) {
    it(`refuses ${why}, naming the field`, () => {
      assert.match(refusal(body), message);
    });
  }
});
