/**
 * `npm run bench:gc`: garbage collection over a registry of many blobs and manifests, half of them
 * garbage. Berth collects online (`POST /api/admin/gc`) while a steady load of manifest PUTs and
 * blob pushes runs; the same load with no collection is the baseline of its latencies. Distribution
 * gets the same data by the same requests, and collects offline (`docker-registry
 * garbage-collect`, the registry stopped): its time is the anchor. Kept images must pull whole
 * afterwards from both, or the bench fails.
 * Environment: BENCH_QUICK=1 (10,000 blobs and 2,000 manifests instead of 100,000 and 20,000; a
 * few minutes), BENCH_OUTPUT (the file whose garbage collection section is written; full runs
 * default to docs/performance.md, quick runs print only), BENCH_KEEP=1 (keep data and logs).
 */
import { spawn } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpClient, runPool } from './http-client.js';
import { type CpuSnapshot, cpuSnapshot, foreignShare, loadAverage } from './load.js';
import {
  type ServerProcess,
  berthCli,
  createBenchUser,
  distributionBinary,
  ensureBenchToolsInstalled,
  repoRoot,
  startBerthServer,
  startDistribution,
  stopProcess,
} from './processes.js';
import { type Credentials, RegistryClient, imageManifest, manifestAccept, ociManifestType, sha256 } from './registry-client.js';
import { gcProfileHeading, writeProfileSection } from './report.js';
import { MiB, formatNumber, percentile } from './stats.js';

const quick = process.env.BENCH_QUICK === '1';
const sizes = {
  blobs: quick ? 10_000 : 100_000,
  manifests: quick ? 2_000 : 20_000,
  repositories: 10,
  layersPerImage: 4,
  pushConcurrency: 32,
  manifestConcurrency: 16,
  /** Of each kind of request in the load that runs during the collection and during the baseline. */
  loadConcurrency: 8,
  loadBlobBytes: 4096,
  /** Kept images pulled whole, deleted manifests and garbage blobs asked for, after the collections. */
  samples: 100,
};
/** Berth's grace period (`BERTH_UPLOAD_EXPIRY`): short, so the garbage is collectable soon after it is made. */
const graceSeconds = 2;
/** The load runs this long before a measured window opens, so the window sees it steady. */
const leadInMs = 500;
/** Berth keeps blobs up to this size in its database; larger ones go to the blob store. */
const largeBlobBytes = 80 * 1024;
const loadRepository = 'bench/gc-load';
const runStart = performance.now();

function log(message: string): void {
  process.stderr.write(`[bench:gc ${((performance.now() - runStart) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}

/**
 * The registry's content, the same for both registries, made again from a key whenever a blob is
 * sent or checked rather than held: at full size it is about a gigabyte.
 *
 * Blob `i` is the config of image `i / 5` when `i % 5 === 0` (JSON, padded), else a layer of
 * random bytes. Every tenth blob (`i % 10 === 3`, a layer) is 80 KiB, so that it lands in Berth's
 * blob store; the others are 1-4 KiB. Images `0 .. images-1` use blobs `5k .. 5k+4`; each is pushed
 * twice, as two manifests that differ in one annotation (tags `k<k>` and `d<k>`), and the second is
 * deleted. Blobs from `5 * images` on are pushed and never referenced.
 */
class GcData {
  private readonly key = randomBytes(16);
  readonly images: number;
  readonly blobs: Array<{ digest: string; size: number }> = [];

  constructor(readonly blobCount: number, manifestCount: number) {
    this.images = manifestCount / 2;
    const perImage = sizes.layersPerImage + 1;
    if (!Number.isInteger(this.images) || this.images * perImage > blobCount) throw new Error(`${manifestCount} manifests need an even count and ${perImage} blobs per two`);
    for (let i = 0; i < blobCount; i++) {
      const content = this.content(i);
      this.blobs.push({ digest: sha256(content), size: content.length });
    }
  }

  content(i: number): Buffer {
    const size = i % 10 === 3 ? largeBlobBytes : 1024 + (Math.imul(i, 2654435761) >>> 0) % 3073;
    if (i % (sizes.layersPerImage + 1) === 0) {
      const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, bench: i };
      const base = JSON.stringify(config).length + ',"pad":""'.length;
      return Buffer.from(JSON.stringify({ ...config, pad: 'x'.repeat(Math.max(0, size - base)) }));
    }
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(i, 0);
    const cipher = createCipheriv('aes-128-ctr', this.key, iv);
    return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
  }

  get garbageBlobs(): number {
    return this.blobCount - this.images * (sizes.layersPerImage + 1);
  }

  get garbageBytes(): number {
    return this.blobs.slice(this.images * (sizes.layersPerImage + 1)).reduce((sum, blob) => sum + blob.size, 0);
  }

  repositoryOfBlob(i: number): string {
    return this.repositoryOfImage(Math.floor(i / (sizes.layersPerImage + 1)));
  }

  repositoryOfImage(k: number): string {
    return `bench/gc-${k % sizes.repositories}`;
  }

  /** The image manifest of image `k`, kept or to be deleted. */
  manifest(k: number, kept: boolean): Buffer {
    const first = k * (sizes.layersPerImage + 1);
    const descriptor = (i: number, mediaType: string) => ({ mediaType, digest: this.blobs[i]!.digest, size: this.blobs[i]!.size });
    return Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: ociManifestType,
        config: descriptor(first, 'application/vnd.oci.image.config.v1+json'),
        layers: Array.from({ length: sizes.layersPerImage }, (_, n) => descriptor(first + 1 + n, 'application/vnd.oci.image.layer.v1.tar+gzip')),
        annotations: { 'org.example.bench': `${kept ? 'kept' : 'deleted'}-${k}` },
      }),
    );
  }

  /** `count` indexes spread evenly over `0 .. total-1`. */
  spread(count: number, total: number, from = 0): number[] {
    const n = Math.min(count, total);
    return Array.from({ length: n }, (_, at) => from + Math.floor((at * total) / n));
  }
}

interface Populated {
  /** When the last blob push was answered (`performance.now()`). */
  blobsDoneAt: number;
  blobSeconds: number;
  manifestSeconds: number;
  deleteSeconds: number;
}

/**
 * Pushes every blob (this registry's monolithic path, as `RegistryClient.pushBlob`), then every
 * manifest by tag, then deletes the second manifest of each image by digest.
 */
async function populate(client: RegistryClient, data: GcData, label: string): Promise<Populated> {
  for (let r = 0; r < sizes.repositories; r++) await client.authorize(`bench/gc-${r}`);
  let start = performance.now();
  // In slices, taking fresh registry tokens between them: a slice is well within a token's life.
  const slice = 10_000;
  for (let from = 0; from < data.blobCount; from += slice) {
    await client.refreshAuthorizations();
    const count = Math.min(slice, data.blobCount - from);
    await runPool(count, sizes.pushConcurrency, async (n) => {
      const i = from + n;
      const content = data.content(i);
      await client.pushBlob(data.repositoryOfBlob(i), data.blobs[i]!.digest, content, content.length);
    });
    log(`${label}: ${from + count} blobs pushed`);
  }
  const blobsDoneAt = performance.now();
  const blobSeconds = (blobsDoneAt - start) / 1000;
  await client.refreshAuthorizations();
  start = performance.now();
  await runPool(data.images * 2, sizes.manifestConcurrency, async (n) => {
    const k = Math.floor(n / 2);
    const kept = n % 2 === 0;
    await client.putManifest(data.repositoryOfImage(k), `${kept ? 'k' : 'd'}${k}`, data.manifest(k, kept));
  });
  const manifestSeconds = (performance.now() - start) / 1000;
  log(`${label}: ${data.images * 2} manifests pushed`);
  await client.refreshAuthorizations();
  start = performance.now();
  await runPool(data.images, sizes.manifestConcurrency, (k) => client.deleteManifest(data.repositoryOfImage(k), sha256(data.manifest(k, false))));
  const deleteSeconds = (performance.now() - start) / 1000;
  log(`${label}: ${data.images} manifests deleted`);
  return { blobsDoneAt, blobSeconds, manifestSeconds, deleteSeconds };
}

interface Checked {
  keptImagesWhole: number;
  keptImagesChecked: number;
  deletedManifestsGone: number;
  deletedManifestsChecked: number;
  garbageBlobsGone: number;
  garbageBlobsChecked: number;
}

/** After a collection: a sample of kept images pulled whole, of deleted manifests and of garbage blobs asked for. */
async function check(client: RegistryClient, data: GcData): Promise<Checked> {
  await client.refreshAuthorizations();
  const kept = data.spread(sizes.samples, data.images);
  const failures: string[] = [];
  let keptImagesWhole = 0;
  for (const k of kept) {
    const repository = data.repositoryOfImage(k);
    try {
      const manifest = await client.getManifest(repository, `k${k}`, 'GET');
      if (!manifest.body.equals(data.manifest(k, true))) throw new Error('manifest differs');
      for (let i = k * (sizes.layersPerImage + 1); i < (k + 1) * (sizes.layersPerImage + 1); i++) {
        const blob = await client.http.expect(200, { method: 'GET', url: `/v2/${repository}/blobs/${data.blobs[i]!.digest}`, headers: client.auth(repository) });
        if (sha256(blob.body) !== data.blobs[i]!.digest) throw new Error(`blob ${i} differs`);
      }
      keptImagesWhole++;
    } catch (error) {
      failures.push(`image k${k} in ${repository}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const absent = async (indexes: number[], request: (index: number) => { repository: string; url: string; accept?: string }) => {
    let gone = 0;
    for (const index of indexes) {
      const { repository, url, accept } = request(index);
      const response = await client.http.request({ method: 'HEAD', url, headers: { ...client.auth(repository), ...(accept ? { Accept: accept } : {}) } });
      if (response.status === 404) gone++;
      else if (response.status !== 200) throw new Error(`HEAD ${url}: ${response.status}`);
    }
    return gone;
  };
  const deleted = data.spread(sizes.samples, data.images);
  const deletedManifestsGone = await absent(deleted, (k) => ({
    repository: data.repositoryOfImage(k),
    url: `/v2/${data.repositoryOfImage(k)}/manifests/${sha256(data.manifest(k, false))}`,
    accept: manifestAccept,
  }));
  const first = data.images * (sizes.layersPerImage + 1);
  const garbage = data.spread(sizes.samples, data.garbageBlobs, first);
  const garbageBlobsGone = await absent(garbage, (i) => ({ repository: data.repositoryOfBlob(i), url: `/v2/${data.repositoryOfBlob(i)}/blobs/${data.blobs[i]!.digest}` }));
  if (failures.length > 0) throw new Error(`${client.kind}: ${failures.length} of ${kept.length} kept images do not pull whole after the collection:\n${failures.slice(0, 10).join('\n')}`);
  return {
    keptImagesWhole,
    keptImagesChecked: kept.length,
    deletedManifestsGone,
    deletedManifestsChecked: deleted.length,
    garbageBlobsGone,
    garbageBlobsChecked: garbage.length,
  };
}

interface Sample {
  start: number;
  ms: number;
}

/** `concurrency` workers running `task` back to back until stopped; a failed request fails the bench. */
class SteadyLoad {
  private running = true;
  private readonly samples: Sample[] = [];
  private readonly failures: unknown[] = [];
  private readonly workers: Array<Promise<void>>;

  constructor(concurrency: number, task: () => Promise<void>) {
    this.workers = Array.from({ length: concurrency }, async () => {
      while (this.running) {
        const start = performance.now();
        try {
          await task();
          this.samples.push({ start, ms: performance.now() - start });
        } catch (error) {
          this.failures.push(error);
          return;
        }
      }
    });
  }

  async stop(): Promise<Sample[]> {
    this.running = false;
    await Promise.all(this.workers);
    if (this.failures.length > 0) throw new Error(`${this.failures.length} load request(s) failed; the first: ${String(this.failures[0])}`);
    return this.samples;
  }
}

interface WindowFigures {
  count: number;
  rate: number;
  p50: number;
  p99: number;
}

/** The requests that started in `[from, to)`. */
function windowFigures(samples: Sample[], from: number, to: number): WindowFigures {
  const latencies = Float64Array.from(samples.filter((sample) => sample.start >= from && sample.start < to).map((sample) => sample.ms)).sort();
  return { count: latencies.length, rate: latencies.length / ((to - from) / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

interface LoadWindow {
  seconds: number;
  manifestPuts: WindowFigures;
  blobPushes: WindowFigures;
  /** Share of the machine's CPU time used by processes other than the bench and Berth. */
  foreign: number;
}

/**
 * Manifest PUTs by tag (a new manifest each time, of an image pushed at setup) and blob pushes by
 * the clients' flow (a new 4 KiB blob each time) into `bench/gc-load`, `sizes.loadConcurrency` of
 * each in flight, while `during` runs (or, without it, for `seconds`).
 */
async function underLoad(client: RegistryClient, image: { config: { digest: string; size: number }; layer: { digest: string; size: number } }, window: { during: () => Promise<void> } | { seconds: number }): Promise<LoadWindow> {
  await client.refreshAuthorizations();
  const puts = new SteadyLoad(sizes.loadConcurrency, async () => {
    const tag = `l${loadCounter++}`;
    await client.putManifest(loadRepository, tag, imageManifest(image.config, image.layer, `${tag}-${runStart}`));
  });
  const pushes = new SteadyLoad(sizes.loadConcurrency, async () => {
    const blob = randomBytes(sizes.loadBlobBytes);
    await client.pushBlobAsClients(loadRepository, sha256(blob), blob);
  });
  let from = 0;
  let to = 0;
  let cpu: { before: CpuSnapshot; after: CpuSnapshot } | undefined;
  let stopped: [Sample[], Sample[]] | undefined;
  try {
    await sleep(leadInMs);
    const before = await cpuSnapshot();
    from = performance.now();
    if ('during' in window) await window.during();
    else await sleep(window.seconds * 1000);
    to = performance.now();
    cpu = { before, after: await cpuSnapshot() };
  } finally {
    stopped = await Promise.all([puts.stop(), pushes.stop()]);
  }
  const [putSamples, pushSamples] = stopped;
  return {
    seconds: (to - from) / 1000,
    manifestPuts: windowFigures(putSamples, from, to),
    blobPushes: windowFigures(pushSamples, from, to),
    foreign: cpu ? foreignShare(cpu.before, cpu.after) : Number.NaN,
  };
}

let loadCounter = 0;

interface CollectionAnswer {
  duration_ms: number;
  links_removed: number;
  blobs_removed: number;
  bytes_reclaimed: number;
  orphans_removed: number;
  bytes_stored: number;
}

/** Blob files and their bytes under `root`, at `depth` directory levels below it (each a file, or a directory holding `data`). */
async function countFiles(root: string, depth: number, leaf?: string): Promise<{ files: number; bytes: number }> {
  const names = async (dir: string) => readdir(dir).catch(() => [] as string[]);
  let dirs = [root];
  for (let level = 0; level < depth; level++) dirs = (await Promise.all(dirs.map(async (dir) => (await names(dir)).map((name) => path.join(dir, name))))).flat();
  let files = 0;
  let bytes = 0;
  for (const entry of dirs) {
    const found = await stat(leaf ? path.join(entry, leaf) : entry).catch(() => undefined);
    if (found?.isFile()) {
      files++;
      bytes += found.size;
    }
  }
  return { files, bytes };
}

/** Berth's file store: `blobs/<algorithm>/<fan-out>/<hex>`. */
const berthStoreFiles = (dataDir: string) => countFiles(path.join(dataDir, 'blobs'), 3);
/** Distribution's: `docker/registry/v2/blobs/<algorithm>/<fan-out>/<hex>/data`. */
const distributionStoreFiles = (dataDir: string) => countFiles(path.join(dataDir, 'docker/registry/v2/blobs'), 3, 'data');

/** Runs a command to its end, its output into `logFile`; fails on a non-zero exit or after `timeoutMs`. */
async function runLogged(file: string, args: string[], logFile: string, timeoutMs: number): Promise<void> {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = createWriteStream(logFile);
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode) => resolve(exitCode));
  }).finally(() => clearTimeout(timer));
  if (code !== 0) throw new Error(`${file} ${args.join(' ')} exited with ${code}; see ${logFile}:\n${(await readFile(logFile, 'utf8').catch(() => '')).slice(-2000)}`);
}

interface BerthResult {
  populated: Populated;
  collection: CollectionAnswer;
  collectionSeconds: number;
  during: LoadWindow;
  baseline: LoadWindow;
  storeBefore: { files: number; bytes: number };
  storeAfter: { files: number; bytes: number };
  checked: Checked;
  command: string;
}

interface DistributionResult {
  populated: Populated;
  gcSeconds: number;
  storeBefore: { files: number; bytes: number };
  storeAfter: { files: number; bytes: number };
  checked: Checked;
  commands: string[];
}

async function benchBerth(data: GcData, dataDir: string, logDir: string, started: ServerProcess[]): Promise<BerthResult> {
  // Collections only when the bench asks for one, and a grace period the bench can wait out.
  const env = { BERTH_UPLOAD_EXPIRY: `${graceSeconds}s`, BERTH_GC: 'off' };
  const token = await createBenchUser(dataDir, env);
  // The admin API is for site administrators; the bench's token has `delete:packages`, which a collection needs.
  await berthCli(dataDir, env, 'user', 'admin', 'bench', 'on');
  const server = await startBerthServer(dataDir, logDir, { env });
  started.push(server);
  log(`berth pid ${server.pid} ${server.url}`);
  const credentials: Credentials = { user: 'bench', token };
  const client = new RegistryClient('berth', new HttpClient(server.url, 64), credentials);
  const admin = new HttpClient(server.url, 1);
  try {
    await client.authorize(loadRepository);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, bench: 'load' }));
    const layer = randomBytes(1024);
    const image = { config: { digest: sha256(config), size: config.length }, layer: { digest: sha256(layer), size: layer.length } };
    await client.pushBlob(loadRepository, image.config.digest, config, config.length);
    await client.pushBlob(loadRepository, image.layer.digest, layer, layer.length);
    // Referenced from the start, so that no collection takes the load's image from under it.
    await client.putManifest(loadRepository, 'base', imageManifest(image.config, image.layer, 'base'));

    const populated = await populate(client, data, 'berth');
    // Past the grace period of the last garbage blob (every blob is pushed before any manifest).
    await sleep(Math.max(0, populated.blobsDoneAt + (graceSeconds + 1) * 1000 - performance.now()));
    const storeBefore = await berthStoreFiles(dataDir);
    let collection: CollectionAnswer | undefined;
    let collectionSeconds = 0;
    log('berth: collection under load');
    const during = await underLoad(client, image, {
      during: async () => {
        const start = performance.now();
        const answer = await admin.expect(200, {
          method: 'POST',
          url: '/api/admin/gc',
          headers: { ...client.basicAuth(), 'Content-Type': 'application/json', 'Content-Length': 2 },
          body: Buffer.from('{}'),
        });
        collectionSeconds = (performance.now() - start) / 1000;
        collection = JSON.parse(answer.body.toString()) as CollectionAnswer;
      },
    });
    if (!collection) throw new Error('no collection answer');
    log(`berth: collection took ${collectionSeconds.toFixed(2)} s: ${JSON.stringify(collection)}`);
    const storeAfter = await berthStoreFiles(dataDir);
    await sleep(1000);
    log('berth: the same load, no collection');
    const baseline = await underLoad(client, image, { seconds: during.seconds });
    const checked = await check(client, data);
    log(`berth: checked ${JSON.stringify(checked)}`);
    return { populated, collection, collectionSeconds, during, baseline, storeBefore, storeAfter, checked, command: server.command };
  } finally {
    client.close();
    admin.close();
    await stopProcess(server);
  }
}

async function benchDistribution(data: GcData, dataDir: string, logDir: string, started: ServerProcess[]): Promise<DistributionResult> {
  const server = await startDistribution(dataDir, logDir);
  started.push(server);
  log(`distribution pid ${server.pid} ${server.url}`);
  const configFile = path.join(logDir, 'distribution.yml');
  let client = new RegistryClient('distribution', new HttpClient(server.url, 64), undefined);
  let populated: Populated;
  try {
    populated = await populate(client, data, 'distribution');
  } finally {
    client.close();
    await stopProcess(server);
  }
  const storeBefore = await distributionStoreFiles(dataDir);
  log('distribution: garbage-collect, the registry stopped');
  const start = performance.now();
  await runLogged(distributionBinary, ['garbage-collect', configFile], path.join(logDir, 'distribution-gc.log'), 60 * 60_000);
  const gcSeconds = (performance.now() - start) / 1000;
  const storeAfter = await distributionStoreFiles(dataDir);
  log(`distribution: garbage-collect took ${gcSeconds.toFixed(2)} s; blob files ${storeBefore.files} -> ${storeAfter.files}`);
  const restarted = await startDistribution(dataDir, logDir, undefined, 'distribution-after-gc');
  started.push(restarted);
  client = new RegistryClient('distribution', new HttpClient(restarted.url, 64), undefined);
  try {
    const checked = await check(client, data);
    log(`distribution: checked ${JSON.stringify(checked)}`);
    return { populated, gcSeconds, storeBefore, storeAfter, checked, commands: [server.command, `${distributionBinary} garbage-collect ${configFile}`] };
  } finally {
    client.close();
    await stopProcess(restarted);
  }
}

function ms(value: number): string {
  return formatNumber(value);
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : 'n/a';
}

function percent(share: number): string {
  return Number.isFinite(share) ? `${Math.round(share * 100)}%` : '?';
}

function report(data: GcData, berth: BerthResult, distribution: DistributionResult, context: { root: string; loadBefore: string; loadAfter: string; foreign: number; seconds: number }): string {
  const { during, baseline, collection } = berth;
  const verdict = (a: number, b: number) => (a / b <= 2 ? 'met' : 'missed');
  const mib = (bytes: number) => formatNumber(bytes / MiB);
  const rate = (count: number, seconds: number) => formatNumber(count / seconds);
  const largeBlobs = data.blobs.filter((blob) => blob.size >= largeBlobBytes).length;
  const referenced = data.images * (sizes.layersPerImage + 1);
  return [
    gcProfileHeading,
    '',
    'From `npm run bench:gc` (`scripts/bench/gc.ts`); it writes this section and leaves the rest of the file alone, and `npm run bench` keeps it. One run, Berth then Distribution, on one machine over loopback; both get the same data by the same requests.',
    '',
    `- Data: ${data.blobCount.toLocaleString('en-US')} blobs and ${(data.images * 2).toLocaleString('en-US')} image manifests in ${sizes.repositories} repositories (\`bench/gc-0\` .. \`bench/gc-${sizes.repositories - 1}\`), ${mib(data.blobs.reduce((sum, blob) => sum + blob.size, 0))} MiB of blobs. Every tenth blob (${largeBlobs.toLocaleString('en-US')}) is 80 KiB, so that it is kept in Berth's blob store (Berth keeps blobs up to 64 KiB in its database); the others are 1-4 KiB: a fifth of all are image configs (JSON, padded to that size), the rest random bytes. ${data.images.toLocaleString('en-US')} images of a config and ${sizes.layersPerImage} layers, all distinct, use ${referenced.toLocaleString('en-US')} of the blobs; each image is pushed as two manifests, by tag, which differ in one annotation.`,
    `- Garbage: the second manifest of every image, deleted by digest (\`DELETE /v2/<name>/manifests/<digest>\`, ${data.images.toLocaleString('en-US')} of them), and the other ${data.garbageBlobs.toLocaleString('en-US')} blobs (${mib(data.garbageBytes)} MiB), pushed and never referenced. The deleted manifests share their blobs with the kept ones on purpose: Berth keeps a deleted manifest restorable for 30 days, and with it the blobs only it references, so such blobs are not garbage for Berth until then (nothing outside the server can move that date), while Distribution would remove them now. With shared blobs both registries have the same blobs to remove, the unreferenced ones; Distribution also removes the deleted manifests themselves, which it stores as blobs (Berth deleted their rows at the \`DELETE\`, keeping a copy for the restore).`,
    `- Population: blobs by each registry's monolithic push, ${sizes.pushConcurrency} at a time, through the bench's lean HTTP client: Berth gets \`POST /blobs/uploads/?digest=\` with the body, Distribution 2.8, which has no single-request upload, \`POST\` then \`PUT <location>?digest=\` with the body. Then the manifests by tag, ${sizes.manifestConcurrency} at a time, then the deletes, ${sizes.manifestConcurrency} at a time.`,
    `- Berth: authentication on (the CLI makes the user \`bench\`, a site administrator by \`berth user admin bench on\`, and its token with \`delete:packages\`), \`BERTH_UPLOAD_EXPIRY=${graceSeconds}s\` (the grace period of the collector) and \`BERTH_GC=off\` (no scheduled collection). Once the grace period has passed since the last blob push, one collection by \`POST /api/admin/gc\`; its duration is the wall time of that request (the collector's own \`duration_ms\` is ${formatNumber(collection.duration_ms)} ms), its blobs and bytes from its answer.`,
    `- Load: while the collection runs, ${sizes.loadConcurrency} clients PUT manifests by tag (a new manifest each time, of an image pushed at setup) and ${sizes.loadConcurrency} push blobs by the clients' flow (\`HEAD\` 404, \`POST\`, one \`PATCH\` with the blob, \`PUT ?digest=\`; a new ${sizes.loadBlobBytes / 1024} KiB blob each time), all in \`${loadRepository}\`. The load starts ${leadInMs} ms before the collection's request; the figures are of the requests that started while it ran. The baseline is the same load, for the same time, with no collection, right after it. Latency of a blob push is that of its four requests.`,
    `- Distribution: Debian's \`docker-registry\` (${distributionBinary}), filesystem storage, \`storage.delete.enabled: true\`. It collects only offline: once populated it is stopped and \`docker-registry garbage-collect <config>\` runs on its data, without \`--delete-untagged\` (every kept manifest has a tag, and Berth also keeps untagged manifests). Its blobs removed and bytes reclaimed are counted from its blob files before and after.`,
    `- Afterwards each registry (Distribution restarted on its data) is checked: ${sizes.samples} kept images pulled by tag, the manifest and every blob compared with what was pushed (a failure fails the bench); ${sizes.samples} deleted manifests and ${sizes.samples} garbage blobs asked for with \`HEAD\`.`,
    `- Machine: ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown'}); Node ${process.version}; the load clients and the registries share these CPUs. Load average ${context.loadBefore} before the run, ${context.loadAfter} after; processes the bench did not start used ${percent(context.foreign)} of the machine's CPU time during the run, ${percent(during.foreign)} during the collection's window and ${percent(baseline.foreign)} during the baseline's${Math.max(during.foreign, baseline.foreign) > 0.1 ? ' (the machine was shared: the latencies are pessimistic, and a difference between the two windows moves their ratio)' : ''}.`,
    `- Command: \`${quick ? 'BENCH_QUICK=1 ' : ''}${process.env.BENCH_OUTPUT ? `BENCH_OUTPUT=${path.relative(repoRoot, path.resolve(process.env.BENCH_OUTPUT))} ` : ''}npm run bench:gc\` (took ${context.seconds.toFixed(0)} s)${quick ? ': quick sizes, a tenth of the full ones (100,000 blobs, 20,000 manifests)' : ''}.`,
    '- Servers and commands (started by the bench, stopped by pid):',
    ...[berth.command, ...distribution.commands].map((command) => `  - \`${command.replaceAll(context.root, '$TMP')}\``),
    '',
    '### The collection',
    '',
    '| Figure | Unit | Berth, online | Distribution, offline | Berth/Dist |',
    '|---|---|---:|---:|---:|',
    `| Collection time | s | ${formatNumber(berth.collectionSeconds)} | ${formatNumber(distribution.gcSeconds)} | ${ratio(berth.collectionSeconds, distribution.gcSeconds)} |`,
    `| Blobs removed | blobs | ${collection.blobs_removed.toLocaleString('en-US')} (garbage: ${data.garbageBlobs.toLocaleString('en-US')}) | ${(distribution.storeBefore.files - distribution.storeAfter.files).toLocaleString('en-US')} (garbage and deleted manifests: ${(data.garbageBlobs + data.images).toLocaleString('en-US')}) |  |`,
    `| Bytes reclaimed | MiB | ${mib(collection.bytes_reclaimed)} (garbage: ${mib(data.garbageBytes)}) | ${mib(distribution.storeBefore.bytes - distribution.storeAfter.bytes)} (with the deleted manifests) |  |`,
    `| Links of blobs to repositories removed | links | ${collection.links_removed.toLocaleString('en-US')} | n/a |  |`,
    `| Files in the blob store, before / after | files | ${berth.storeBefore.files.toLocaleString('en-US')} / ${berth.storeAfter.files.toLocaleString('en-US')} (blobs over 64 KiB) | ${distribution.storeBefore.files.toLocaleString('en-US')} / ${distribution.storeAfter.files.toLocaleString('en-US')} (blobs and manifests) |  |`,
    `| Pushes and pulls during the collection | | served | none (the registry is stopped) |  |`,
    `| Setup: blob pushes | blobs/s | ${rate(data.blobCount, berth.populated.blobSeconds)} | ${rate(data.blobCount, distribution.populated.blobSeconds)} | ${ratio(data.blobCount / berth.populated.blobSeconds, data.blobCount / distribution.populated.blobSeconds)} |`,
    `| Setup: manifest PUTs | PUT/s | ${rate(data.images * 2, berth.populated.manifestSeconds)} | ${rate(data.images * 2, distribution.populated.manifestSeconds)} | ${ratio(distribution.populated.manifestSeconds, berth.populated.manifestSeconds)} |`,
    `| Setup: manifest DELETEs | DELETE/s | ${rate(data.images, berth.populated.deleteSeconds)} | ${rate(data.images, distribution.populated.deleteSeconds)} | ${ratio(distribution.populated.deleteSeconds, berth.populated.deleteSeconds)} |`,
    `| Kept images that pull whole afterwards | images | ${berth.checked.keptImagesWhole} of ${berth.checked.keptImagesChecked} | ${distribution.checked.keptImagesWhole} of ${distribution.checked.keptImagesChecked} |  |`,
    `| Deleted manifests answering 404 | manifests | ${berth.checked.deletedManifestsGone} of ${berth.checked.deletedManifestsChecked} | ${distribution.checked.deletedManifestsGone} of ${distribution.checked.deletedManifestsChecked} |  |`,
    `| Garbage blobs answering 404 | blobs | ${berth.checked.garbageBlobsGone} of ${berth.checked.garbageBlobsChecked} | ${distribution.checked.garbageBlobsGone} of ${distribution.checked.garbageBlobsChecked} |  |`,
    '',
    '### Berth: pushes while it collects, against no collection',
    '',
    `Both windows ${during.seconds.toFixed(1)} s; ${sizes.loadConcurrency} manifest PUT clients and ${sizes.loadConcurrency} blob push clients.`,
    '',
    '| Figure | Unit | During the collection | No collection | During/none | Target | Verdict |',
    '|---|---|---:|---:|---:|---|---|',
    `| Manifest PUT, p50 | ms | ${ms(during.manifestPuts.p50)} | ${ms(baseline.manifestPuts.p50)} | ${ratio(during.manifestPuts.p50, baseline.manifestPuts.p50)} |  |  |`,
    `| Manifest PUT, p99 | ms | ${ms(during.manifestPuts.p99)} | ${ms(baseline.manifestPuts.p99)} | ${ratio(during.manifestPuts.p99, baseline.manifestPuts.p99)} | <= 2x | ${verdict(during.manifestPuts.p99, baseline.manifestPuts.p99)} |`,
    `| Manifest PUTs | PUT/s | ${formatNumber(during.manifestPuts.rate)} | ${formatNumber(baseline.manifestPuts.rate)} | ${ratio(during.manifestPuts.rate, baseline.manifestPuts.rate)} |  |  |`,
    `| Blob push (clients' flow), p50 | ms | ${ms(during.blobPushes.p50)} | ${ms(baseline.blobPushes.p50)} | ${ratio(during.blobPushes.p50, baseline.blobPushes.p50)} |  |  |`,
    `| Blob push (clients' flow), p99 | ms | ${ms(during.blobPushes.p99)} | ${ms(baseline.blobPushes.p99)} | ${ratio(during.blobPushes.p99, baseline.blobPushes.p99)} | <= 2x | ${verdict(during.blobPushes.p99, baseline.blobPushes.p99)} |`,
    `| Blob pushes | blobs/s | ${formatNumber(during.blobPushes.rate)} | ${formatNumber(baseline.blobPushes.rate)} | ${ratio(during.blobPushes.rate, baseline.blobPushes.rate)} |  |  |`,
    `| Requests measured (PUTs + pushes) | requests | ${during.manifestPuts.count} + ${during.blobPushes.count} | ${baseline.manifestPuts.count} + ${baseline.blobPushes.count} |  |  |  |`,
    `| CPU time of other processes | share | ${percent(during.foreign)} | ${percent(baseline.foreign)} |  |  |  |`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  await ensureBenchToolsInstalled();
  const root = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-gc-'));
  const dirs = { berth: path.join(root, 'berth'), distribution: path.join(root, 'distribution'), logs: path.join(root, 'logs') };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  log(`data and logs in ${root}; ${sizes.blobs} blobs, ${sizes.manifests} manifests${quick ? ' (quick sizes)' : ''}`);
  const loadBefore = await loadAverage();
  const before = await cpuSnapshot();
  const started: ServerProcess[] = [];
  let section: string;
  try {
    const data = new GcData(sizes.blobs, sizes.manifests);
    log(`data made: ${data.garbageBlobs} garbage blobs of ${data.blobCount}`);
    const berth = await benchBerth(data, dirs.berth, dirs.logs, started);
    const distribution = await benchDistribution(data, dirs.distribution, dirs.logs, started);
    // The servers have exited by now: their CPU is in the bench's reaped children's (the tree's).
    const foreign = foreignShare(before, await cpuSnapshot());
    section = report(data, berth, distribution, { root, loadBefore, loadAfter: await loadAverage(), foreign, seconds: (performance.now() - runStart) / 1000 });
  } finally {
    for (const server of started.reverse()) await stopProcess(server).catch((error: unknown) => log(`stopping ${server.name}: ${String(error)}`));
    if (process.env.BENCH_KEEP !== '1') await rm(root, { recursive: true, force: true });
    else log(`kept ${root}`);
  }
  process.stdout.write(`\n${section}\n`);
  const output = process.env.BENCH_OUTPUT ?? (quick ? undefined : path.join(repoRoot, 'docs/performance.md'));
  if (output) {
    await writeProfileSection(output, section, gcProfileHeading);
    log(`wrote the garbage collection section of ${output}`);
  } else {
    log('quick run: report not written (set BENCH_OUTPUT=file to write its section)');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
