import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256 } from './digests.js';

// Media types (OCI image-spec v1.1 and Docker image manifest v2 schema 2).
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** Bytes together with the descriptor that names them. */
export interface Content {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface BuiltImage {
  manifest: Content;
  config: Content;
  layers: Content[];
  /** Config and layers: what must be uploaded before the manifest. */
  blobs: Content[];
}

export interface BuiltIndex {
  index: Content;
  images: BuiltImage[];
}

export interface BuiltArtifact {
  manifest: Content;
  config: Content;
  layers: Content[];
  blobs: Content[];
}

export type Flavor = 'oci' | 'docker';

export { sha256 };

/** `size` bytes that depend only on `seed`: a SHA-256 counter stream, so it does not compress. */
export function deterministicBytes(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let offset = 0;
  for (let counter = 0; offset < size; counter += 1) {
    const block = createHash('sha256').update(`${seed}:${counter}`).digest();
    offset += block.copy(out, offset);
  }
  return out;
}

/**
 * Serialises a manifest or config. The unusual three-space indent and trailing newline make the
 * bytes differ from any re-serialisation, so a registry that does not return the stored bytes
 * unchanged is caught by a digest mismatch.
 */
export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 3)}\n`, 'utf8');
}

export function content(mediaType: string, bytes: Buffer, extra: Omit<Descriptor, 'mediaType' | 'digest' | 'size'> = {}): Content {
  return { descriptor: { mediaType, digest: sha256(bytes), size: bytes.length, ...extra }, bytes };
}

// ---------------------------------------------------------------------------------------------
// A minimal ustar writer (POSIX.1-1988), enough for small deterministic layers.

export interface TarEntry {
  /** Path inside the archive, without a leading slash; directories end with '/'. */
  name: string;
  /** File contents; omitted for directories. */
  data?: Buffer | string;
  mode?: number;
}

const BLOCK = 512;
const FIXED_MTIME = 1_700_000_000; // 2023-11-14, so layers are byte-for-byte reproducible

function writeString(header: Buffer, value: string, offset: number, length: number): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar field too long: ${value}`);
  bytes.copy(header, offset);
}

function writeOctal(header: Buffer, value: number, offset: number, length: number): void {
  // length-1 octal digits, then NUL
  writeString(header, value.toString(8).padStart(length - 1, '0'), offset, length - 1);
}

function tarHeader(name: string, size: number, mode: number, type: '0' | '5'): Buffer {
  const header = Buffer.alloc(BLOCK);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 154);
    if (cut <= 0) throw new Error(`tar name too long: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  writeString(header, base, 0, 100);
  writeOctal(header, mode, 100, 8);
  writeOctal(header, 0, 108, 8); // uid
  writeOctal(header, 0, 116, 8); // gid
  writeOctal(header, size, 124, 12);
  writeOctal(header, FIXED_MTIME, 136, 12);
  header.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  writeString(header, type, 156, 1);
  writeString(header, 'ustar\u0000', 257, 6);
  writeString(header, '00', 263, 2);
  writeString(header, 'root', 265, 32);
  writeString(header, 'root', 297, 32);
  writeString(header, prefix, 345, 155);
  let sum = 0;
  for (const byte of header) sum += byte;
  writeString(header, `${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8);
  return header;
}

/** Builds an uncompressed tar archive from the entries, in the given order. */
export function tar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.name.endsWith('/')) {
      parts.push(tarHeader(entry.name, 0, entry.mode ?? 0o755, '5'));
      continue;
    }
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : (entry.data ?? Buffer.alloc(0));
    parts.push(tarHeader(entry.name, data.length, entry.mode ?? 0o644, '0'));
    parts.push(data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

export interface Layer {
  /** The gzip'd tar: what is uploaded. */
  compressed: Content;
  /** sha256 of the uncompressed tar, for the config's rootfs.diff_ids. */
  diffId: string;
}

/**
 * A gzip'd tar layer holding `files` (path -> contents). Parent directories are added
 * automatically, and entries are sorted so the bytes depend only on the input.
 */
export function layer(files: Record<string, string | Buffer>, flavor: Flavor = 'oci'): Layer {
  const dirs = new Set<string>();
  for (const name of Object.keys(files)) {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i += 1) dirs.add(`${parts.slice(0, i).join('/')}/`);
  }
  const entries: TarEntry[] = [
    ...[...dirs].map((name) => ({ name })),
    ...Object.entries(files).map(([name, data]) => ({ name, data })),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const raw = tar(entries);
  const gz = gzipSync(raw, { level: 9 });
  return {
    compressed: content(flavor === 'oci' ? MediaType.ociLayerGzip : MediaType.dockerLayerGzip, gz),
    diffId: sha256(raw),
  };
}

export interface ImageOptions {
  /** One object of files per layer; default: one small layer. */
  layers?: Record<string, string | Buffer>[];
  labels?: Record<string, string>;
  platform?: Platform;
  flavor?: Flavor;
  /** Manifest annotations (OCI only). */
  annotations?: Record<string, string>;
}

/** A single-platform image: gzip'd tar layers, a config with labels, and its manifest. */
export function buildImage(options: ImageOptions = {}): BuiltImage {
  const flavor = options.flavor ?? 'oci';
  const platform = options.platform ?? { architecture: 'amd64', os: 'linux' };
  const layers = (options.layers ?? [{ 'etc/berth-e2e': 'hello\n' }]).map((files) => layer(files, flavor));
  const config = content(
    flavor === 'oci' ? MediaType.ociConfig : MediaType.dockerConfig,
    jsonBytes({
      created: '2024-01-01T00:00:00Z',
      architecture: platform.architecture,
      ...(platform.variant === undefined ? {} : { variant: platform.variant }),
      os: platform.os,
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: ['/bin/sh'],
        Labels: options.labels ?? {},
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `berth-e2e layer ${i}` })),
    }),
  );
  const layerContents = layers.map((l) => l.compressed);
  const manifestJson =
    flavor === 'oci'
      ? {
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: config.descriptor,
          layers: layerContents.map((l) => l.descriptor),
          ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
        }
      : {
          schemaVersion: 2,
          mediaType: MediaType.dockerManifest,
          config: config.descriptor,
          layers: layerContents.map((l) => l.descriptor),
        };
  const manifest = content(manifestJson.mediaType, jsonBytes(manifestJson));
  return { manifest, config, layers: layerContents, blobs: [config, ...layerContents] };
}

export interface IndexOptions {
  flavor?: Flavor;
  /** Index annotations (OCI only). */
  annotations?: Record<string, string>;
  /** Platforms; default linux/amd64 and linux/arm64 (v8). */
  platforms?: Platform[];
  labels?: Record<string, string>;
}

/** A multi-platform index (OCI) or manifest list (Docker) with one small image per platform. */
export function buildIndex(options: IndexOptions = {}): BuiltIndex {
  const flavor = options.flavor ?? 'oci';
  const platforms = options.platforms ?? [
    { architecture: 'amd64', os: 'linux' },
    { architecture: 'arm64', os: 'linux', variant: 'v8' },
  ];
  const images = platforms.map((platform) =>
    buildImage({
      flavor,
      platform,
      labels: options.labels,
      layers: [
        { 'etc/berth-e2e': `multi-arch ${flavor}\n` },
        { [`usr/share/berth/${platform.architecture}.txt`]: `built for ${platform.os}/${platform.architecture}\n` },
      ],
    }),
  );
  const indexJson = {
    schemaVersion: 2,
    mediaType: flavor === 'oci' ? MediaType.ociIndex : MediaType.dockerManifestList,
    manifests: images.map((image, i) => ({ ...image.manifest.descriptor, platform: platforms[i] })),
    ...(flavor === 'oci' && options.annotations !== undefined ? { annotations: options.annotations } : {}),
  };
  return { index: content(indexJson.mediaType, jsonBytes(indexJson)), images };
}

export interface ArtifactOptions {
  artifactType: string;
  subject: Descriptor;
  /** Blobs of the artifact; default one small JSON document. */
  layers?: { mediaType: string; bytes: Buffer; annotations?: Record<string, string> }[];
  annotations?: Record<string, string>;
}

/** The OCI empty descriptor's content, `{}` (image-spec v1.1, "Guidance for an Empty Descriptor"). */
export const emptyConfig: Content = content(MediaType.ociEmpty, Buffer.from('{}', 'utf8'));

/**
 * An artifact as image-spec v1.1 recommends: an image manifest with `artifactType`, the empty
 * config, and a `subject` pointing at the manifest it refers to.
 */
export function buildArtifact(options: ArtifactOptions): BuiltArtifact {
  const layers = (
    options.layers ?? [{ mediaType: 'application/vnd.berth.e2e.sbom+json', bytes: jsonBytes({ sbom: 'berth-e2e' }) }]
  ).map((l) => content(l.mediaType, l.bytes, l.annotations === undefined ? {} : { annotations: l.annotations }));
  const subject: Descriptor = {
    mediaType: options.subject.mediaType,
    digest: options.subject.digest,
    size: options.subject.size,
  };
  const manifestJson = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: options.artifactType,
    config: emptyConfig.descriptor,
    layers: layers.map((l) => l.descriptor),
    subject,
    annotations: options.annotations ?? { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
  };
  const manifest = content(MediaType.ociManifest, jsonBytes(manifestJson));
  return { manifest, config: emptyConfig, layers, blobs: [emptyConfig, ...layers] };
}

// ---------------------------------------------------------------------------------------------
// OCI image layouts on disk (image-spec "OCI Image Layout Specification").

export interface LayoutRef {
  /** Tag stored as the org.opencontainers.image.ref.name annotation (skopeo's `oci:DIR:TAG`). */
  name: string;
  descriptor: Descriptor;
}

export interface OciIndexJson {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** Writes `blobs` under DIR/blobs/sha256, the oci-layout file, and an index.json naming `refs`. */
export async function writeOciLayout(dir: string, blobs: readonly Content[], refs: readonly LayoutRef[]): Promise<void> {
  const blobDir = path.join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const blob of blobs) {
    await writeFile(path.join(blobDir, blob.descriptor.digest.slice('sha256:'.length)), blob.bytes);
  }
  const index: OciIndexJson = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: refs.map((ref) => ({
      mediaType: ref.descriptor.mediaType,
      digest: ref.descriptor.digest,
      size: ref.descriptor.size,
      annotations: { 'org.opencontainers.image.ref.name': ref.name },
    })),
  };
  await writeFile(path.join(dir, 'index.json'), JSON.stringify(index));
}

/** Every piece of content of an image: blobs then manifest. */
export function imageContents(image: BuiltImage | BuiltArtifact): Content[] {
  return [...image.blobs, image.manifest];
}

/** Every piece of content of an index: each image's blobs and manifest, then the index. */
export function indexContents(index: BuiltIndex): Content[] {
  return [...index.images.flatMap(imageContents), index.index];
}

/** Writes a layout holding one image (or artifact) tagged `tag`. */
export async function writeImageLayout(dir: string, image: BuiltImage | BuiltArtifact, tag = 'latest'): Promise<void> {
  await writeOciLayout(dir, imageContents(image), [{ name: tag, descriptor: image.manifest.descriptor }]);
}

/** Writes a layout holding one index tagged `tag`. */
export async function writeIndexLayout(dir: string, index: BuiltIndex, tag = 'latest'): Promise<void> {
  await writeOciLayout(dir, indexContents(index), [{ name: tag, descriptor: index.index.descriptor }]);
}

export async function readLayoutIndex(dir: string): Promise<OciIndexJson> {
  return JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as OciIndexJson;
}

export async function readLayoutBlob(dir: string, digest: string): Promise<Buffer> {
  const [algorithm, hex] = digest.split(':');
  if (algorithm === undefined || hex === undefined) throw new Error(`bad digest ${digest}`);
  return readFile(path.join(dir, 'blobs', algorithm, hex));
}

/** The descriptor tagged `tag` in a layout's index.json (or the only one when tag is undefined). */
export async function findLayoutRef(dir: string, tag?: string): Promise<Descriptor> {
  const index = await readLayoutIndex(dir);
  const found =
    tag === undefined
      ? index.manifests.length === 1
        ? index.manifests[0]
        : undefined
      : index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (found === undefined) throw new Error(`no manifest ${tag ?? '(single)'} in ${dir}/index.json`);
  return found;
}

/**
 * Lists the regular files of a tar archive (gunzip it first), name -> contents. Understands ustar
 * prefixes and PAX `path` records, which is what Go's archive/tar (buildah, containerd) writes.
 */
export function readTar(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let offset = 0;
  let paxPath: string | undefined;
  const field = (block: Buffer, start: number, length: number): string => {
    const raw = block.subarray(start, start + length);
    const end = raw.indexOf(0);
    return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
  };
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = field(header, 156, 1) || '0';
    const prefix = field(header, 345, 155);
    const name = prefix === '' ? field(header, 0, 100) : `${prefix}/${field(header, 0, 100)}`;
    const data = archive.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      for (const record of data.toString('utf8').split('\n')) {
        const match = /^\d+ path=(.*)$/.exec(record);
        if (match?.[1] !== undefined) paxPath = match[1];
      }
      continue;
    }
    if (type === '0' || type === '\u0000') files.set((paxPath ?? name).replace(/^\.?\//, ''), Buffer.from(data));
    paxPath = undefined;
  }
  return files;
}
