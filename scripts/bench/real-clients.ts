import { execFile } from 'node:child_process';
import { randomBytes, randomFillSync } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { type Content, type Descriptor, MediaType, content, jsonBytes, sha256, tar, writeOciLayout } from '../../test/support/oci-layout.js';
import type { ContainersEnv } from '../../test/support/containers-env.js';
import type { Credentials, RegistryKind } from './registry-client.js';
import type { RoundFigures } from './scenarios.js';
import { MiB, median } from './stats.js';

/** skopeo, from Debian's skopeo package. */
export const skopeoBinary = '/usr/bin/skopeo';

/** An image the real-client scenario copies: `platforms` images (an index when more than one) of `layers` layers each. */
export interface LayoutShape {
  /** Suffix of its figures' keys (see metrics.ts). */
  key: string;
  label: string;
  platforms: number;
  layers: number;
  layerBytes: number;
}

export const layoutShapes: LayoutShape[] = [
  { key: 'Tiny', label: '200 layers of 4 KiB', platforms: 1, layers: 200, layerBytes: 4096 },
  { key: 'Mid', label: '20 layers of 5 MB', platforms: 1, layers: 20, layerBytes: 5_000_000 },
  { key: 'Big', label: '1 layer of 256 MiB', platforms: 1, layers: 1, layerBytes: 256 * MiB },
  { key: 'Index', label: 'a 4-platform index (5 layers of 1 MiB each)', platforms: 4, layers: 5, layerBytes: MiB },
];

const platforms = ['amd64', 'arm64', 'ppc64le', 's390x'];
const tag = 'bench';
/** A layer's tar header and end-of-archive blocks (512 + 1024) and gzip framing, taken from its payload so that the blob is about `layerBytes`. */
const layerFraming = 1559;

/** A registry as skopeo reaches it: `host:port`, and the credentials it requires, if any. */
export interface SkopeoTarget {
  /** `machine` for the bare registry, the bound of both. */
  kind: RegistryKind | 'machine';
  url: string;
  credentials: Credentials | undefined;
}

/**
 * Writes an OCI image layout of `shape` in `dir`, tagged `bench`. Each layer is a gzip'd tar of one
 * file of random bytes (stored, not deflated: they would not shrink, and 256 MiB is stored in well
 * under a second), its first 16 new for each layer, so no registry and no client cache knows any blob.
 */
export async function writeLayout(dir: string, shape: LayoutShape, random: Buffer): Promise<void> {
  const blobDir = path.join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  const small: Content[] = [];
  const manifests: Descriptor[] = [];
  for (const architecture of platforms.slice(0, shape.platforms)) {
    const layers: Descriptor[] = [];
    const diffIds: string[] = [];
    for (let i = 0; i < shape.layers; i++) {
      const payload = Buffer.from(random.subarray(0, shape.layerBytes - layerFraming));
      randomFillSync(payload, 0, 16);
      const archive = tar([{ name: 'payload', data: payload }]);
      const layer = content(MediaType.ociLayerGzip, gzipSync(archive, { level: 0 }));
      await writeFile(path.join(blobDir, layer.descriptor.digest.slice('sha256:'.length)), layer.bytes);
      layers.push(layer.descriptor);
      diffIds.push(sha256(archive));
    }
    const config = content(MediaType.ociConfig, jsonBytes({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }));
    const manifest = content(MediaType.ociManifest, jsonBytes({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: config.descriptor, layers }));
    small.push(config, manifest);
    manifests.push({ ...manifest.descriptor, platform: { architecture, os: 'linux' } });
  }
  const [first] = manifests;
  if (shape.platforms === 1 && first) {
    await writeOciLayout(dir, small, [{ name: tag, descriptor: first }]);
    return;
  }
  const index = content(MediaType.ociIndex, jsonBytes({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }));
  await writeOciLayout(dir, [...small, index], [{ name: tag, descriptor: index.descriptor }]);
}

/**
 * `skopeo copy` as a user runs it, against the registries on loopback over plain HTTP, in an
 * isolated containers configuration (`env`); each copy's figure is its wall time in milliseconds,
 * from the start of the process to its exit.
 */
export class SkopeoCopies {
  private random: Buffer | undefined;
  private layouts = 0;

  constructor(
    private readonly env: ContainersEnv,
    private readonly workDir: string,
    private readonly shapes: LayoutShape[] = layoutShapes,
    /** Copies of each kind a round makes, keeping their median: one copy of a second or less scatters widely. */
    private readonly copiesPerRound = 3,
  ) {}

  /**
   * One round: for each shape, `copiesPerRound` times over, skopeo's local copy of a layout
   * (`oci:` to `oci:`, the floor); then, in an order that moves on one place at each copy, the
   * same push and pull through the bare registry at `bareUrl` (bare-registry.ts), if given, the
   * bound of both registries, and per registry in `order` a push of a new layout to a new
   * repository and its pull into a new directory. Each figure is the median of its copies, with
   * its time above the median floor.
   */
  async round(order: SkopeoTarget[], round: number, log: (message: string) => void, bareUrl?: string): Promise<Record<RegistryKind | 'machine', RoundFigures>> {
    this.random ??= randomBytes(Math.max(...this.shapes.map((shape) => shape.layerBytes)));
    const figures: Record<RegistryKind | 'machine', RoundFigures> = { berth: {}, distribution: {}, machine: {} };
    for (const shape of this.shapes) {
      const all = shape.platforms > 1 ? ['--all'] : [];
      const targets = [...order];
      // The bare registry takes each place in turn, round by round, as the registries alternate.
      if (bareUrl) targets.splice(round % (targets.length + 1), 0, { kind: 'machine', url: bareUrl, credentials: undefined });
      const floors: number[] = [];
      const times = targets.map(() => ({ push: [] as number[], pull: [] as number[] }));
      for (let copy = 0; copy < this.copiesPerRound; copy++) {
        const floor = await this.withLayout(shape, (source) => this.copy([...all, `oci:${source}:${tag}`, `oci:${this.newDir()}:${tag}`]));
        floors.push(floor);
        // Each copy starts one place further on: with as many copies as targets, each takes every
        // place once, so none always follows the same one (a copy can meet the writeback of the last).
        const turn = targets.map((_, place) => (place + copy) % targets.length);
        for (const index of turn) {
          const target = targets[index]!;
          const { kind } = target;
          const image = `docker://${new URL(target.url).host}/bench/real-${shape.key.toLowerCase()}-${round}-${copy}:${tag}`;
          const push = await this.withLayout(shape, (source) => this.copy([...all, ...auth('dest', target), `oci:${source}:${tag}`, image]));
          const pull = await this.copy([...all, ...auth('src', target), image, `oci:${this.newDir()}:${tag}`]);
          times[index]!.push.push(push);
          times[index]!.pull.push(pull);
          log(`round ${round + 1} copy ${copy + 1} skopeo ${shape.label} ${kind === 'machine' ? 'bare registry' : kind}: push ${push.toFixed(0)} ms, pull ${pull.toFixed(0)} ms (floor ${floor.toFixed(0)} ms)`);
        }
        await rm(this.workDir, { recursive: true, force: true });
      }
      const floor = median(floors);
      figures.machine[`skopeoFloor${shape.key}`] = floor;
      for (const [index, { kind }] of targets.entries()) {
        const push = median(times[index]!.push);
        const pull = median(times[index]!.pull);
        const prefix = kind === 'machine' ? 'skopeoBare' : 'skopeo';
        Object.assign(figures[kind], {
          [`${prefix}Push${shape.key}`]: push,
          [`${prefix}Push${shape.key}Over`]: push - floor,
          [`${prefix}Pull${shape.key}`]: pull,
          [`${prefix}Pull${shape.key}Over`]: pull - floor,
        });
      }
    }
    return figures;
  }

  private newDir(): string {
    return path.join(this.workDir, `layout-${this.layouts++}`);
  }

  /** Runs `copy` on a new layout of `shape`, written beforehand (so it is in the page cache, as for every copy). */
  private async withLayout(shape: LayoutShape, copy: (dir: string) => Promise<number>): Promise<number> {
    const dir = this.newDir();
    await writeLayout(dir, shape, this.random as Buffer);
    return copy(dir);
  }

  /** `skopeo copy`, keeping every digest (it fails rather than rewrite a manifest or recompress a layer). */
  private async copy(args: string[]): Promise<number> {
    const start = performance.now();
    await promisify(execFile)(skopeoBinary, ['--policy', this.env.policyPath, 'copy', '--quiet', '--retry-times', '0', '--preserve-digests', ...args], { env: this.env.env, timeout: 600_000 });
    return performance.now() - start;
  }
}

/** The flags for one side of a copy from or to a registry: plain HTTP, and its credentials or none. */
function auth(side: 'src' | 'dest', target: SkopeoTarget): string[] {
  const { credentials } = target;
  const login = !credentials ? [`--${side}-no-creds`] : credentials.user ? [`--${side}-creds`, `${credentials.user}:${credentials.token}`] : [`--${side}-registry-token`, credentials.token];
  return [`--${side}-tls-verify=false`, ...login];
}
