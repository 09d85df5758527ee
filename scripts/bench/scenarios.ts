import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BenchConfig } from './config.js';
import { runForDuration, runPool } from './http-client.js';
import { type RegistryClient, imageManifest, manifestAccept, sha256 } from './registry-client.js';
import { GiB, MiB, median, percentile, secondsSince } from './stats.js';
import { processCpuSeconds } from './load.js';
import { ab } from './ab.js';
import { type Download, expectDownload } from './curl.js';

/** One measured figure of one round: key (see metrics.ts) -> value. */
export type RoundFigures = Record<string, number>;

export const repos = {
  blobs: 'bench/blobs',
  small: 'bench/small',
  manifests: 'bench/manifests',
  read: 'bench/read',
  tags: 'bench/tags',
  big: 'bench/big',
  /** Berth only: repositories of 200 and of `scaleTagCount` tags, and `scaleRepositoryCount` repositories under `bench/catalog/`. */
  fewTags: 'bench/few-tags',
  manyTags: 'bench/many-tags',
  catalog: 'bench/catalog',
};

/** Shared client-side data, made once: a blob buffer, reused with a per-push prefix. */
export class BenchData {
  readonly blob: Buffer;
  private pushes = 0;

  constructor(readonly config: BenchConfig) {
    this.blob = randomBytes(config.blobBytes);
  }

  /** Makes the blob buffer unique for the next push (so no registry can skip the write) and returns its digest. */
  nextBlob(): string {
    this.blob.writeUInt32BE(this.pushes++, 0);
    this.blob.writeUInt32BE(process.pid, 4);
    this.blob.writeDoubleBE(Date.now(), 8);
    return sha256(this.blob);
  }
}

/** Tags of the read repository: the small repository of the scale comparison. */
const readTagCount = 10;

/** What a registry holds after setup: the read repository's manifest digest. */
export interface Prepared {
  readDigest: string;
  tagsDigest: string;
  /** Config and layer in the manifests repository, referenced by every manifest PUT. */
  manifestsImage: SmallImage;
}

type Descriptor = { digest: string; size: number };
type SmallImage = { config: Descriptor; layer: Descriptor };

async function pushSmallImage(client: RegistryClient, repository: string, label: string): Promise<SmallImage> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, label }));
  const layer = randomBytes(1024);
  const configRef = { digest: sha256(config), size: config.length };
  const layerRef = { digest: sha256(layer), size: layer.length };
  await client.pushBlob(repository, configRef.digest, config, config.length);
  await client.pushBlob(repository, layerRef.digest, layer, layer.length);
  return { config: configRef, layer: layerRef };
}

/** Setup outside the timings: the images the manifest and tags scenarios need. */
export async function prepare(client: RegistryClient, config: BenchConfig): Promise<Prepared> {
  for (const repository of [repos.blobs, repos.small, repos.manifests, repos.read, repos.tags, repos.big]) await client.authorize(repository);
  const manifestsImage = await pushSmallImage(client, repos.manifests, 'manifests');
  const read = await pushSmallImage(client, repos.read, 'read');
  const readManifest = imageManifest(read.config, read.layer, 'read');
  await client.putManifest(repos.read, 'latest', readManifest);
  for (let i = 1; i < readTagCount; i++) await client.putManifest(repos.read, `v${i}`, readManifest);
  const tags = await pushSmallImage(client, repos.tags, 'tags');
  const tagsManifest = imageManifest(tags.config, tags.layer, 'tags');
  await client.putManifest(repos.tags, 'latest', tagsManifest);
  await runPool(config.tagCount - 1, 16, (i) => client.putManifest(repos.tags, `t${String(i).padStart(6, '0')}`, tagsManifest));
  return { readDigest: sha256(readManifest), tagsDigest: sha256(tagsManifest), manifestsImage };
}

/**
 * Runs a transfer `times` times and keeps the median of each figure. One transfer of the blob
 * takes a fraction of a second, and on a shared machine single ones were seen to vary twofold.
 */
export async function medianOf(times: number, run: () => Promise<RoundFigures>): Promise<RoundFigures> {
  const all: RoundFigures[] = [];
  for (let i = 0; i < times; i++) all.push(await run());
  return Object.fromEntries(Object.keys(all[0] ?? {}).map((key) => [key, median(all.map((figures) => figures[key] as number))]));
}

/**
 * Pushes of a new blob each time in one PATCH, as docker and containerd send a layer (see
 * `pushBlobAsClients`), to both registries alike; the digest of the last one is for the pulls.
 */
export async function pushWholeBlob(client: RegistryClient, data: BenchData): Promise<{ figures: RoundFigures; digest: string }> {
  let digest = '';
  const figures = await medianOf(data.config.transferRepeats, async () => {
    digest = data.nextBlob();
    const start = performance.now();
    await client.pushBlobAsClients(repos.blobs, digest, data.blob);
    return { pushMono: data.blob.length / MiB / secondsSince(start) };
  });
  return { figures, digest };
}

export async function pushChunked(client: RegistryClient, data: BenchData): Promise<RoundFigures> {
  return medianOf(data.config.transferRepeats, async () => {
    const digest = data.nextBlob();
    const start = performance.now();
    await client.pushBlobChunked(repos.blobs, digest, data.blob, data.config.chunkBytes);
    return { pushChunked: data.blob.length / MiB / secondsSince(start) };
  });
}

/** Pushes of a new blob each time by the clients' flow (see `pushBlobAsClients`); the digest of the last one is for the pulls. */
export async function pushAsClients(client: RegistryClient, data: BenchData): Promise<{ figures: RoundFigures; digest: string }> {
  let digest = '';
  const figures = await medianOf(data.config.transferRepeats, async () => {
    digest = data.nextBlob();
    const start = performance.now();
    await client.pushBlobAsClients(repos.blobs, digest, data.blob);
    return { pushClients: data.blob.length / MiB / secondsSince(start) };
  });
  return { figures, digest };
}

/**
 * Pulls by curl (see `curlDownload`): one, then `parallelPulls` at once. Given the server's pid,
 * also the CPU seconds the server spent per GiB of the parallel pulls.
 */
export async function pull(client: RegistryClient, digest: string, config: BenchConfig, serverPid?: number): Promise<RoundFigures> {
  const url = client.blobUrl(repos.blobs, digest);
  const get = () => expectDownload(url, client.auth(repos.blobs), config.blobBytes);
  // Not counted: the first pull warms the code paths of both ends (in the first round, whichever
  // registry went first was pulled at about half the rate of the pulls after it).
  await get();
  return medianOf(config.transferRepeats, () => pullOnce(get, config, serverPid));
}

/** One download of `get`, then `parallelPulls` at once: MiB/s of the one, and in total of the others. */
export async function pullOnce(get: () => Promise<Download>, config: BenchConfig, serverPid?: number): Promise<RoundFigures> {
  const single = await get();
  const cpuBefore = serverPid === undefined ? 0 : await processCpuSeconds(serverPid);
  const start = performance.now();
  const parallel = await Promise.all(Array.from({ length: config.parallelPulls }, get));
  const total = parallel.reduce((sum, download) => sum + download.bytes, 0);
  const figures: RoundFigures = { pullSingle: single.bytes / MiB / single.seconds, pullParallel: total / MiB / secondsSince(start) };
  if (serverPid !== undefined) figures.pullCpuPerGib = ((await processCpuSeconds(serverPid)) - cpuBefore) / (total / GiB);
  return figures;
}

/**
 * Small blobs pushed at once, each by the clients' flow (`HEAD`, `POST`, `PATCH`, `PUT ?digest=`)
 * to both registries; `singlePost` pushes each in one `POST ?digest=` instead, which Berth takes
 * and no common client sends (a Berth-only row).
 */
export async function smallPushes(client: RegistryClient, config: BenchConfig, round: number, singlePost = false): Promise<RoundFigures> {
  const blobs = Array.from({ length: config.smallCount }, (_, i) => {
    const data = randomBytes(config.smallBytes);
    data.writeUInt32BE(round, 0);
    data.writeUInt32BE(i, 4);
    data.writeUInt8(singlePost ? 1 : 0, 8);
    return { data, digest: sha256(data) };
  });
  const start = performance.now();
  const latencies = await runPool(config.smallCount, config.smallConcurrency, async (i) => {
    const blob = blobs[i] as { data: Buffer; digest: string };
    if (singlePost) await client.pushBlob(repos.small, blob.digest, blob.data, blob.data.length);
    else await client.pushBlobAsClients(repos.small, blob.digest, blob.data);
  });
  const seconds = secondsSince(start);
  latencies.sort((a, b) => a - b);
  return singlePost
    ? { smallPushSinglePost: config.smallCount / seconds, smallPushSinglePostP99: percentile(latencies, 99) }
    : { smallPush: config.smallCount / seconds, smallPushP99: percentile(latencies, 99) };
}

export async function manifestPuts(client: RegistryClient, config: BenchConfig, prepared: Prepared, round: number): Promise<RoundFigures> {
  const image = prepared.manifestsImage;
  const bodies = Array.from({ length: config.manifestCount }, (_, i) => imageManifest(image.config, image.layer, `${round}-${i}-${Date.now()}`));
  const start = performance.now();
  const latencies = await runPool(config.manifestCount, config.manifestConcurrency, async (i) => {
    await client.putManifest(repos.manifests, `r${round}-${i}`, bodies[i] as Buffer);
  });
  const seconds = secondsSince(start);
  latencies.sort((a, b) => a - b);
  return { manifestPut: config.manifestCount / seconds, manifestPutP99: percentile(latencies, 99) };
}

/**
 * Manifest GET by tag and HEAD by digest at fixed concurrency for a fixed time, loaded by ApacheBench
 * (see ab.ts) after one checked request through the bench's own client.
 */
export async function manifestReads(client: RegistryClient, config: BenchConfig, prepared: Prepared, prefix = ''): Promise<RoundFigures> {
  const figures: RoundFigures = {};
  const repository = prefix === 'big' ? repos.tags : repos.read;
  const digest = prefix === 'big' ? prepared.tagsDigest : prepared.readDigest;
  const tag = prefix === 'big' ? `t${String(Math.floor(config.tagCount / 2)).padStart(6, '0')}` : 'latest';
  const runs: Array<[string, 'GET' | 'HEAD', string]> = prefix === 'big' ? [['getTag', 'GET', tag]] : [['getTag', 'GET', tag], ['headDigest', 'HEAD', digest]];
  for (const [name, method, reference] of runs) {
    const checked = await client.getManifest(repository, reference, method);
    if (checked.headers['docker-content-digest'] !== digest) throw new Error(`${client.kind}: ${method} ${reference} answered digest ${String(checked.headers['docker-content-digest'])}`);
    const result = await ab({
      url: `${client.http.origin}/v2/${repository}/manifests/${reference}`,
      method,
      headers: { ...client.auth(repository), Accept: manifestAccept },
      seconds: prefix === 'big' ? Math.max(1, config.readSeconds / 2) : config.readSeconds,
      connections: config.readConcurrency,
    });
    const key = prefix ? `${prefix}${name[0]?.toUpperCase()}${name.slice(1)}` : name;
    figures[`${key}Rate`] = result.rate;
    figures[`${key}P50`] = result.p50;
    figures[`${key}P99`] = result.p99;
  }
  return figures;
}

/**
 * Manifest GET by tag spread over several nodes of one registry (the same database and bucket):
 * one ApacheBench per node, all at once, the read concurrency shared between them, as a balancer
 * that spreads connections over the nodes would. The rate is their sum; p50 and p99 the highest
 * of the nodes'. With one node it is the GET of `manifestReads`.
 */
export async function manifestGetsSpread(clients: RegistryClient[], config: BenchConfig, prepared: Prepared): Promise<RoundFigures> {
  for (const client of clients) {
    const checked = await client.getManifest(repos.read, 'latest', 'GET');
    if (checked.headers['docker-content-digest'] !== prepared.readDigest) throw new Error(`${client.http.origin}: GET latest answered another manifest`);
  }
  const results = await Promise.all(
    clients.map((client) =>
      ab({
        url: `${client.http.origin}/v2/${repos.read}/manifests/latest`,
        method: 'GET',
        headers: { ...client.auth(repos.read), Accept: manifestAccept },
        seconds: config.readSeconds,
        connections: Math.ceil(config.readConcurrency / clients.length),
      }),
    ),
  );
  return {
    getTagRate: results.reduce((sum, result) => sum + result.rate, 0),
    getTagP50: Math.max(...results.map((result) => result.p50)),
    getTagP99: Math.max(...results.map((result) => result.p99)),
  };
}

export async function tagsLists(client: RegistryClient, config: BenchConfig): Promise<RoundFigures> {
  const times: number[] = [];
  for (let i = 0; i < config.tagListRepeats; i++) {
    const start = performance.now();
    const page = await client.tagsPage(repos.tags);
    times.push(performance.now() - start);
    if (page.tags.length !== config.tagCount) throw new Error(`${client.kind}: full tags list has ${page.tags.length} tags, expected ${config.tagCount}`);
  }
  times.sort((a, b) => a - b);
  // Paginated: n=100, following Link until the last page (bounded by the page count).
  const start = performance.now();
  let url: string | undefined = `/v2/${repos.tags}/tags/list?n=${config.tagPage}`;
  let pages = 0;
  let seen = 0;
  let largest = 0;
  const maxPages = Math.ceil(config.tagCount / config.tagPage) + 2;
  while (url && pages < maxPages) {
    const page = await client.tagsPage(repos.tags, url);
    pages++;
    seen += page.tags.length;
    largest = Math.max(largest, page.tags.length);
    url = page.next;
  }
  const paginatedMs = performance.now() - start;
  if (seen !== config.tagCount) throw new Error(`${client.kind}: paginated tags saw ${seen} tags, expected ${config.tagCount}`);
  return {
    tagsFullMs: percentile(times, 50),
    tagsPagedMs: paginatedMs,
    tagsPages: pages,
    tagsLargestPage: largest,
  };
}

/** Berth's setup for the scale comparison: small and large repositories, and a registry that grew. */
export interface ScaleSetup {
  digest: string;
  repositories: string[];
  /** A `_catalog` page measured while the registry held only `smallCount` catalog repositories. */
  catalogSmallPageMs: number;
}

/** Tags and repositories of the small cases: two pages' worth. */
function smallCount(config: BenchConfig): number {
  return config.tagPage * 2;
}

/** Tag `i` of the scale repositories; zero-padded, so that lexical order is numeric order. */
function scaleTag(i: number): string {
  return `t${String(i).padStart(7, '0')}`;
}

/** The page of `n` that ends a list whose entries are `at(0..count-1)`: after entry count-n-1. */
function lastPageAfter(count: number, n: number, at: (i: number) => string): string {
  return at(count - n - 1);
}

export async function prepareScale(client: RegistryClient, config: BenchConfig): Promise<ScaleSetup> {
  const few = smallCount(config);
  await client.authorize(repos.fewTags);
  await client.authorize(repos.manyTags);
  const fewImage = await pushSmallImage(client, repos.fewTags, 'few-tags');
  const fewManifest = imageManifest(fewImage.config, fewImage.layer, 'few-tags');
  await runPool(few, 16, (i) => client.putManifest(repos.fewTags, scaleTag(i), fewManifest));
  const image = await pushSmallImage(client, repos.manyTags, 'many-tags');
  const manifest = imageManifest(image.config, image.layer, 'many-tags');
  await runPool(config.scaleTagCount, 32, (i) => client.putManifest(repos.manyTags, scaleTag(i), manifest));
  // An empty index references nothing, so one PUT makes a repository. Basic credentials, which
  // Berth takes on /v2: a registry token for each would outnumber the pushes.
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
  const repositories = Array.from({ length: config.scaleRepositoryCount }, (_, i) => `${repos.catalog}/r${String(i).padStart(6, '0')}`);
  const create = (from: number, to: number) =>
    runPool(to - from, 32, (i) => client.putManifest(repositories[from + i] as string, 'latest', index, 'application/vnd.oci.image.index.v1+json', client.basicAuth()));
  await client.authorize('_catalog', 'registry:catalog:*');
  await create(0, few);
  const smallPage = catalogPage(config, lastPageAfter(few, config.tagPage, (i) => repositories[i] as string));
  // The large case is timed round after round, on code V8 has optimized by then; the small one is
  // timed once, so it first gets untimed requests, and both are timed on optimized code.
  for (let turn = 0; turn < catalogWarmUpRequests; turn++) await pageRequestTime(client, '_catalog', smallPage, config.tagPage);
  const catalogSmallPageMs = await pageTime(client, '_catalog', smallPage, config.tagPage);
  await create(few, repositories.length);
  return { digest: sha256(manifest), repositories, catalogSmallPageMs };
}

function catalogPage(config: BenchConfig, last: string): string {
  return `/v2/_catalog?n=${config.tagPage}&last=${encodeURIComponent(last)}`;
}

/**
 * Cost that must not grow with size (Berth only): a manifest GET by tag in the repository of 10
 * tags and in the one of `scaleTagCount`; the last tags page of a repository of 200 tags and of
 * that one; and a `_catalog` page of the registry with 200 and with `scaleRepositoryCount`
 * repositories (the small one measured once, during setup).
 */
export async function scale(client: RegistryClient, config: BenchConfig, prepared: Prepared, setup: ScaleSetup): Promise<RoundFigures> {
  const reads: Array<[string, string, string, string]> = [
    ['scaleSmall', repos.read, 'v5', prepared.readDigest],
    ['scaleLarge', repos.manyTags, scaleTag(Math.floor(config.scaleTagCount / 2)), setup.digest],
  ];
  for (const [, repository, tag, digest] of reads) {
    const checked = await client.getManifest(repository, tag, 'GET');
    if (checked.headers['docker-content-digest'] !== digest) throw new Error(`${client.kind}: GET ${repository}:${tag} answered another manifest`);
  }
  // Small and large alternate, several times, so that a change in the machine's speed during
  // the round does not read as a cost of size; each figure is the median of its runs.
  const runs: RoundFigures[] = [];
  for (let repeat = 0; repeat < scaleRepeats; repeat++) {
    const figures: RoundFigures = {};
    for (const [key, repository, tag] of reads) {
      const result = await ab({
        url: `${client.http.origin}/v2/${repository}/manifests/${tag}`,
        method: 'GET',
        headers: { ...client.auth(repository), Accept: manifestAccept },
        seconds: Math.max(1, config.readSeconds / 4),
        connections: config.readConcurrency,
      });
      figures[`${key}Rate`] = result.rate;
      figures[`${key}P50`] = result.p50;
      figures[`${key}P99`] = result.p99;
    }
    runs.push(figures);
  }
  const figures: RoundFigures = Object.fromEntries(Object.keys(runs[0] ?? {}).map((key) => [key, median(runs.map((run) => run[key] as number))]));
  const tags = await alternatingPageTimes(client, [
    [repos.fewTags, `/v2/${repos.fewTags}/tags/list?n=${config.tagPage}&last=${lastPageAfter(smallCount(config), config.tagPage, scaleTag)}`],
    [repos.manyTags, `/v2/${repos.manyTags}/tags/list?n=${config.tagPage}&last=${lastPageAfter(config.scaleTagCount, config.tagPage, scaleTag)}`],
  ], config.tagPage);
  figures.tagsSmallPageMs = tags[0] as number;
  figures.tagsLargePageMs = tags[1] as number;
  const last = lastPageAfter(setup.repositories.length, config.tagPage, (i) => setup.repositories[i] as string);
  figures.catalogSmallPageMs = setup.catalogSmallPageMs;
  figures.catalogLargePageMs = await pageTime(client, '_catalog', catalogPage(config, last), config.tagPage);
  return figures;
}

/** Times the small and the large case alternate in a round of the scale comparison. */
const scaleRepeats = 3;

/** Untimed `_catalog` requests before the small registry's page is timed (see prepareScale). */
const catalogWarmUpRequests = 500;

/** Median times of listing pages requested in turn, one request each per turn (101 turns). */
async function alternatingPageTimes(client: RegistryClient, pages: Array<[repository: string, url: string]>, expected: number): Promise<number[]> {
  const times = pages.map(() => [] as number[]);
  for (let turn = 0; turn < 101; turn++) {
    for (const [index, [repository, url]] of pages.entries()) (times[index] as number[]).push(await pageRequestTime(client, repository, url, expected));
  }
  return times.map((values) => median(values));
}

async function pageRequestTime(client: RegistryClient, repository: string, url: string, expected: number): Promise<number> {
  const start = performance.now();
  const response = await client.http.expect(200, { method: 'GET', url, headers: client.auth(repository) });
  const time = performance.now() - start;
  const body = JSON.parse(response.body.toString()) as { tags?: string[]; repositories?: string[] };
  const entries = (body.tags ?? body.repositories ?? []).length;
  if (entries !== expected) throw new Error(`${client.kind}: ${url} listed ${entries} entries, expected ${expected}`);
  return time;
}

/** Median time of a listing page over repeated requests (101); the page must hold `expected` entries. */
async function pageTime(client: RegistryClient, repository: string, url: string, expected: number): Promise<number> {
  return (await alternatingPageTimes(client, [[repository, url]], expected))[0] as number;
}

/** A blob of `bytes` made of 1 MiB chunks, never held whole: the same sequence for each call. */
export function* bigBlobChunks(bytes: number, seed: Buffer): Generator<Buffer> {
  for (let offset = 0, index = 0; offset < bytes; offset += MiB, index++) {
    const chunk = Buffer.from(seed.subarray(0, Math.min(MiB, bytes - offset)));
    chunk.writeUInt32BE(index, 0);
    yield chunk;
  }
}

export function bigBlobDigest(bytes: number, seed: Buffer): string {
  const hash = createHash('sha256');
  for (const chunk of bigBlobChunks(bytes, seed)) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

/** Pushes (by the clients' flow) then pulls a blob of `config.bigBytes` streamed from a generator. */
export async function bigBlob(client: RegistryClient, config: BenchConfig): Promise<RoundFigures> {
  const seed = randomBytes(MiB);
  const digest = bigBlobDigest(config.bigBytes, seed);
  await client.authorize(repos.big);
  const start = performance.now();
  await client.pushBlobAsClients(repos.big, digest, Readable.from(bigBlobChunks(config.bigBytes, seed)), config.bigBytes);
  const push = config.bigBytes / MiB / secondsSince(start);
  const pulled = await expectDownload(client.blobUrl(repos.big, digest), client.auth(repos.big), config.bigBytes);
  return { bigPush: push, bigPull: pulled.bytes / MiB / pulled.seconds };
}

/**
 * Registry tokens issued per second at the token endpoint (`GET /token` with the user name and
 * PAT, one repository scope), at the manifest-read concurrency. Only Berth has a token service here.
 */
export async function tokenIssues(client: RegistryClient, config: BenchConfig): Promise<RoundFigures> {
  await client.authorize(repos.read);
  const result = await runForDuration(config.readSeconds * 1000, config.readConcurrency, async () => {
    await client.fetchToken(repos.read);
  });
  return { tokenRate: result.count / result.seconds, tokenP99: percentile(result.latencies, 99) };
}
