/**
 * `npm run bench`: Berth against CNCF Distribution and the machine's limits, on loopback.
 * See docs/performance.md for what it measures and the last results. Environment:
 *   BENCH_ROUNDS (default 3; 1 with BENCH_QUICK), BENCH_QUICK=1 (small sizes, under two minutes),
 *   BENCH_SCENARIOS=push,pull,chunked,small,manifestPut,reads,bigReads,tags,tokens,scale,realClients,big,pages,hooks (a subset),
 *   BENCH_BERTH_USER / BENCH_BERTH_TOKEN (credentials for Berth when it requires them),
 *   BENCH_BERTH_NODE_ARGS (extra node flags for Berth, e.g. --cpu-prof), BENCH_OUTPUT (report
 *   file; full runs default to docs/performance.md, quick runs print only), BENCH_KEEP=1 (keep data).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchConfig } from './config.js';
import { HttpClient } from './http-client.js';
import { bareIngest, barePull, clientCeiling, diskWriteRate, loopbackRate, sha256Rate } from './machine.js';
import {
  type ServerProcess,
  peakRss,
  repoRoot,
  resetPeakRss,
  residentSetSize,
  startBareNodeServer,
  startBareServer,
  ensureBenchToolsInstalled,
  startBerth,
  startBerthServer,
  startDistribution,
  stopProcess,
} from './processes.js';
import { type Credentials, RegistryClient, type RegistryKind } from './registry-client.js';
import { SkopeoCopies, layoutShapes, skopeoBinary } from './real-clients.js';
import { type Results, keptByHandSection, machineTable, profileSection, resultsTable, roundsTable, scaleTable, summarize } from './report.js';
import {
  BenchData,
  type Prepared,
  type RoundFigures,
  bigBlob,
  manifestPuts,
  manifestReads,
  prepare,
  prepareScale,
  scale,
  pull,
  pushChunked,
  pushWholeBlob,
  smallPushes,
  tagsLists,
  tokenIssues,
} from './scenarios.js';
import { cpuSnapshot, foreignShare, loadAverage, type CpuSnapshot } from './load.js';
import { GiB, MiB, formatNumber } from './stats.js';
import { type ContainersEnv, createContainersEnv } from '../../test/support/containers-env.js';

const config = benchConfig();
const allScenarios = ['push', 'pull', 'chunked', 'small', 'manifestPut', 'reads', 'bigReads', 'tags', 'tokens', 'scale', 'realClients', 'big', 'pages', 'hooks'];
// A quick run leaves out the 256 MiB layer: writing its layouts and copying them took half a minute a round.
const skopeoShapes = config.quick ? layoutShapes.filter((shape) => shape.key !== 'Big') : layoutShapes;
const skopeoCopiesPerRound = config.quick ? 1 : 3;
const selected = new Set(process.env.BENCH_SCENARIOS ? process.env.BENCH_SCENARIOS.split(',') : allScenarios);
for (const name of selected) if (!allScenarios.includes(name)) throw new Error(`unknown scenario ${name}; known: ${allScenarios.join(',')}`);
const runStart = performance.now();

function log(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - runStart) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}

function record(into: Record<string, number[]>, figures: RoundFigures): void {
  for (const [key, value] of Object.entries(figures)) (into[key] ??= []).push(value);
}

/** BENCH_BERTH_USER / BENCH_BERTH_TOKEN, else the token made for the run by startBerth. */
function credentials(made: Credentials): Credentials {
  const token = process.env.BENCH_BERTH_TOKEN;
  if (!token) return made;
  return { user: process.env.BENCH_BERTH_USER || undefined, token };
}

function shell(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** The web pages' figures (`pages.ts`, in its own process), as its markdown table. */
async function pagesBench(): Promise<string> {
  log('web pages: a package of many versions, timed in the server');
  const env = { ...process.env, ...(config.quick ? { BENCH_PAGE_VERSIONS: '1000', BENCH_PAGE_TAGS: '20', BENCH_PAGE_REQUESTS: '50' } : {}) };
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(repoRoot, 'dist-test/scripts/bench/pages.js')], { env, maxBuffer: 1024 * 1024, timeout: 30 * 60_000 });
  return stdout;
}

/** Manifest PUT with three active webhooks against none (`hooks.ts`, in its own process), as its markdown table. */
async function hooksBench(): Promise<string> {
  log('webhooks: manifest PUT with 3 active hooks against none');
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(repoRoot, 'dist-test/scripts/bench/hooks.js')], { env: process.env, maxBuffer: 1024 * 1024, timeout: 30 * 60_000 });
  return stdout;
}

async function machineDescription(dataDir: string): Promise<string[]> {
  const meminfo = await readFile('/proc/meminfo', 'utf8');
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  const cpu = /^model name\s*:\s*(.+)$/m.exec(await readFile('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const mount = shell('findmnt', ['-no', 'SOURCE,FSTYPE,OPTIONS', '-T', dataDir]);
  const device = path.basename(mount.split(' ')[0] ?? '');
  const rotational = await readFile(`/sys/block/${device}/queue/rotational`, 'utf8').catch(() => '?');
  return [
    `- Date: ${shell('date', ['-u'])}`,
    `- CPU: ${shell('nproc', [])} online CPUs (${cpu}); memory ${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    `- Kernel: ${shell('uname', ['-srm'])}`,
    `- Disk of the data directories: ${mount} (rotational=${rotational.trim()})`,
    `- Node ${process.version}; ${shell('/usr/bin/docker-registry', ['--version'])}; ${shell(skopeoBinary, ['--version'])}`,
  ];
}

/** How long a registry sits without requests after its start before its idle RSS is read. */
const idleAfterStartMs = 2000;

interface Target {
  kind: RegistryKind;
  server: ServerProcess;
  http: HttpClient;
  client: RegistryClient;
  credentials: Credentials | undefined;
  prepared?: Prepared;
}

async function main(): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-'));
  const dirs = { berth: path.join(root, 'berth'), distribution: path.join(root, 'distribution'), bare: path.join(root, 'bare'), logs: path.join(root, 'logs') };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  log(`data and logs in ${root}; ${config.rounds} round(s)${config.quick ? ', quick sizes' : ''}; scenarios ${[...selected].join(',')}`);
  const started: ServerProcess[] = [];
  const clients: Array<{ close(): void }> = [];
  let containers: ContainersEnv | undefined;
  const results: Results = { berth: {}, distribution: {}, machine: {} };
  const notes: string[] = [];
  let commands: string[] = [];
  let berthAuth = 'off';
  const loadBefore = await loadAverage();
  let cpuBefore: CpuSnapshot | undefined;
  let foreign = Number.NaN;
  try {
    await ensureBenchToolsInstalled();
    const berth = await startBerth(dirs.berth, dirs.logs);
    started.push(berth);
    const distribution = await startDistribution(dirs.distribution, dirs.logs);
    started.push(distribution);
    const bare = await startBareServer(dirs.bare, dirs.logs);
    started.push(bare);
    log(`berth pid ${berth.pid} ${berth.url}; distribution pid ${distribution.pid} ${distribution.url}; bare pid ${bare.pid} ${bare.url}`);
    commands = [berth.command, distribution.command, bare.command];
    cpuBefore = await cpuSnapshot();

    const makeTarget = (kind: RegistryKind, server: ServerProcess, auth: Credentials | undefined): Target => {
      const http = new HttpClient(server.url, 128);
      const client = new RegistryClient(kind, http, auth);
      clients.push(client);
      return { kind, server, http, client, credentials: auth };
    };
    const targets = [makeTarget('berth', berth, credentials(berth.credentials)), makeTarget('distribution', distribution, undefined)];
    const bareHttp = new HttpClient(bare.url, 128);
    clients.push(bareHttp);
    const data = new BenchData(config);

    for (const target of targets) {
      const start = performance.now();
      target.prepared = await prepare(target.client, config);
      log(`${target.kind}: setup (${config.tagCount} tags) took ${((performance.now() - start) / 1000).toFixed(1)} s`);
    }
    const berthTarget = targets.find((target) => target.kind === 'berth') as Target;
    let copies: SkopeoCopies | undefined;
    if (selected.has('realClients')) {
      containers = await createContainersEnv([]);
      copies = new SkopeoCopies(containers, path.join(root, 'skopeo'), skopeoShapes, skopeoCopiesPerRound);
    }
    const berthClient = targets[0]?.client;
    berthAuth = berthClient?.authenticated ? (berthClient.tokenRealm ? `on (Bearer token from ${berthClient.tokenRealm.realm})` : 'on (credential sent on every request)') : 'off (anonymous push and pull; no credentials given)';

    for (let round = 0; round < config.rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      const each = async (name: string, run: (target: Target) => Promise<RoundFigures>) => {
        for (const target of order) {
          await target.client.refreshAuthorizations();
          const figures = await run(target);
          record(results[target.kind], figures);
          // The peak so far, so that the log shows which scenario raised a server's peak RSS.
          const peak = (await peakRss(target.server.pid)) / 1e6;
          log(`round ${round + 1} ${name} ${target.kind}: ${Object.entries(figures).map(([k, v]) => `${k}=${formatNumber(v)}`).join(' ')} (VmHWM so far ${formatNumber(peak)} MB)`);
        }
      };
      const digests = new Map<RegistryKind, string>();
      if (selected.has('push') || selected.has('pull')) {
        await each('push whole blob', async (target) => {
          const pushed = await pushWholeBlob(target.client, data);
          digests.set(target.kind, pushed.digest);
          return pushed.figures;
        });
        data.nextBlob();
        record(results.machine, await bareIngest(bareHttp, data.blob, config));
      }
      if (selected.has('pull')) {
        await each('pull', (target) => pull(target.client, digests.get(target.kind) as string, config, target.server.pid));
        record(results.machine, await barePull(bareHttp, config));
      }
      if (selected.has('chunked')) await each('push chunked', (target) => pushChunked(target.client, data));
      if (selected.has('small')) {
        await each('small pushes', (target) => smallPushes(target.client, config, round));
        await berthTarget.client.refreshAuthorizations();
        const figures = await smallPushes(berthTarget.client, config, round, true);
        record(results.berth, figures);
        log(`round ${round + 1} small pushes, single POST, berth: ${Object.entries(figures).map(([k, v]) => `${k}=${formatNumber(v)}`).join(' ')}`);
      }
      if (selected.has('manifestPut')) await each('manifest PUTs', (target) => manifestPuts(target.client, config, target.prepared as Prepared, round));
      if (selected.has('reads')) await each('manifest reads', (target) => manifestReads(target.client, config, target.prepared as Prepared));
      if (selected.has('bigReads')) await each(`manifest GET, ${config.tagCount} tags`, (target) => manifestReads(target.client, config, target.prepared as Prepared, 'big'));
      if (selected.has('tags')) await each('tags lists', (target) => tagsLists(target.client, config));
      if (copies) {
        const figures = await copies.round(order.map((target) => ({ kind: target.kind, url: target.server.url, credentials: target.credentials })), round, log, bare.url);
        for (const kind of ['berth', 'distribution', 'machine'] as const) record(results[kind], figures[kind]);
      }
      const machine: RoundFigures = {
        ...(await clientCeiling(bareHttp, config)),
        ...sha256Rate(data.blob.subarray(0, 256 * MiB)),
        ...(await diskWriteRate(dirs.bare, data.blob.subarray(0, 256 * MiB))),
        ...(await loopbackRate(bare.tcpPort, config.loopbackBytes, data.blob.subarray(0, MiB))),
      };
      record(results.machine, machine);
      log(`round ${round + 1} machine: ${Object.entries(machine).map(([k, v]) => `${k}=${formatNumber(v)}`).join(' ')}`);
    }

    for (const target of targets) record(results[target.kind], { rssPeak: (await peakRss(target.server.pid)) / 1e6 });

    // Berth's own scenarios come after the common ones, so that until here both registries have
    // served the same requests: the peak above compares like with like, and the real clients met
    // registries holding the same data (the scale setup alone pushes some 100,000 tags).
    const berthOnly = async (name: string, run: () => Promise<RoundFigures>) => {
      await berthTarget.client.refreshAuthorizations();
      const figures = await run();
      record(results.berth, figures);
      log(`${name} berth: ${Object.entries(figures).map(([k, v]) => `${k}=${formatNumber(v)}`).join(' ')}`);
    };
    if (selected.has('tokens')) {
      for (let round = 0; round < config.rounds; round++) await berthOnly(`round ${round + 1} token issues`, () => tokenIssues(berthTarget.client, config));
    }
    if (selected.has('scale')) {
      const start = performance.now();
      const setup = await prepareScale(berthTarget.client, config);
      log(`berth: scale setup (${config.scaleTagCount} tags, ${config.scaleRepositoryCount} repositories) took ${((performance.now() - start) / 1000).toFixed(1)} s`);
      for (let round = 0; round < config.rounds; round++) await berthOnly(`round ${round + 1} scale`, () => scale(berthTarget.client, config, berthTarget.prepared as Prepared, setup));
    }
    if (selected.has('tokens') || selected.has('scale')) record(results.berth, { rssPeakBerthOnly: (await peakRss(berthTarget.server.pid)) / 1e6 });
    foreign = foreignShare(cpuBefore, await cpuSnapshot());

    if (selected.has('big')) {
      // On restarted servers (same data), so that the peak is what the transfer itself needs, not
      // heap grown by the scenarios above, which "Peak RSS over the scenarios above" reports.
      for (const target of targets) {
        await stopProcess(target.server);
        const server = target.kind === 'berth' ? await startBerthServer(dirs.berth, dirs.logs) : await startDistribution(dirs.distribution, dirs.logs);
        started.push(server);
        const fresh = makeTarget(target.kind, server, target.kind === 'berth' ? credentials(berth.credentials) : undefined);
        const reset = await resetPeakRss(server.pid);
        if (!reset) notes.push(`Could not reset ${target.kind}'s VmHWM; its big-blob peak RSS includes its start.`);
        const figures = await bigBlob(fresh.client, config);
        figures.bigRss = (await peakRss(server.pid)) / 1e6;
        record(results[target.kind], figures);
        log(`big blob ${target.kind} (restarted, pid ${server.pid}): ${Object.entries(figures).map(([k, v]) => `${k}=${formatNumber(v)}`).join(' ')}`);
      }
    }

    // A start on an existing data directory: each registry started again, alone, on the data the
    // scenarios left; how long until it answers, and its resident memory once it has sat idle.
    for (const server of started) await stopProcess(server);
    // A bare Node server is started the same way, as the platform's share of both figures.
    const starts = {
      berth: () => startBerthServer(dirs.berth, dirs.logs),
      distribution: () => startDistribution(dirs.distribution, dirs.logs),
      machine: () => startBareNodeServer(dirs.logs),
    };
    for (let repeat = 0; repeat < config.startRepeats; repeat++) {
      const kinds: Array<keyof typeof starts> = repeat % 2 === 0 ? ['berth', 'distribution', 'machine'] : ['machine', 'distribution', 'berth'];
      for (const kind of kinds) {
        const server = await starts[kind]();
        started.push(server);
        await new Promise((resolve) => setTimeout(resolve, idleAfterStartMs));
        const ready = server.readyMs;
        const rss = (await residentSetSize(server.pid)) / 1e6;
        await stopProcess(server);
        record(results[kind], kind === 'machine' ? { bareNodeStartReadyMs: ready, bareNodeIdleRss: rss } : { startReadyMs: ready, idleRss: rss });
        log(`start ${repeat + 1} ${server.name} (pid ${server.pid}): startReadyMs=${formatNumber(ready)} idleRss=${formatNumber(rss)}`);
      }
    }
  } finally {
    for (const client of clients) client.close();
    await containers?.cleanup();
    for (const server of started.reverse()) await stopProcess(server).catch((error: unknown) => log(`stopping ${server.name}: ${String(error)}`));
  }

  // Berth's own pages, once both registries are stopped: Distribution has none to compare.
  const pages = selected.has('pages') ? await pagesBench() : undefined;
  const hooks = selected.has('hooks') ? await hooksBench() : undefined;
  const rows = summarize(results);
  const table = resultsTable(rows);
  const header = await machineDescription(root);
  if (process.env.BENCH_KEEP !== '1') await rm(root, { recursive: true, force: true });
  else log(`kept ${root}`);
  const sizes = [
    `blob ${config.blobBytes / MiB} MiB (chunks of ${config.chunkBytes / MiB} MiB)`,
    `${config.smallCount} x ${config.smallBytes / 1024} KiB blobs at c=${config.smallConcurrency}`,
    `${config.manifestCount} manifest PUTs at c=${config.manifestConcurrency}`,
    `manifest reads ${config.readSeconds} s at c=${config.readConcurrency}`,
    `N = ${config.tagCount} tags`,
    `big blob ${config.bigBytes / GiB} GiB`,
  ].join('; ');
  const output = process.env.BENCH_OUTPUT ?? (config.quick || process.env.BENCH_SCENARIOS ? undefined : path.join(repoRoot, 'docs/performance.md'));
  const previous = output ? await readFile(output, 'utf8').catch(() => '') : '';
  const keptByHand = keptByHandSection(previous);
  const markdown = [
    '# Performance',
    '',
    'Berth against CNCF Distribution (Debian `docker-registry`) and the machine\'s own limits, on one',
    'machine over loopback, from `npm run bench` (`scripts/bench/`). Figures are medians over the rounds;',
    'the ratio is Berth/Distribution of the figure shown (for latencies and times, lower is better,',
    'so a ratio below 1 favours Berth). Generated by the bench; do not edit by hand. The last sections,',
    'Berth on PostgreSQL and S3 and garbage collection, come from `npm run bench:scale-out` and `npm run bench:gc`.',
    '',
    '## Run',
    '',
    ...header,
    `- Command: \`${config.quick ? 'BENCH_QUICK=1 ' : ''}${process.env.BENCH_ROUNDS ? `BENCH_ROUNDS=${process.env.BENCH_ROUNDS} ` : ''}npm run bench\` (${config.rounds} rounds, registries alternating which goes first; took ${((performance.now() - runStart) / 1000).toFixed(0)} s)`,
    `- Sizes: ${sizes}${config.quick ? ' (BENCH_QUICK)' : ''}`,
    `- Other load on the machine: load average ${loadBefore} before the run, ${await loadAverage()} after; processes the bench did not start used ${Number.isFinite(foreign) ? Math.round(foreign * 100) : '?'}% of the machine's CPU time during the run (the kernel's interrupt work, charged to no process and here mostly the loopback traffic of the bench, left out)${foreign > 0.1 ? ' (the machine was shared: absolute figures are pessimistic, ratios of the alternating rounds are the fairer reading)' : ''}.`,
    `- Berth authentication: ${berthAuth}. Distribution runs without auth.`,
    '- Servers (started by the bench, stopped by pid):',
    ...commands.map((command) => `  - \`${command}\``),
    '  - Distribution config: filesystem storage in a temp dir, `storage.delete.enabled: true`, `storage.cache.blobdescriptor: inmemory` (as in Debian\'s default config), log level warn, access log off.',
    '- Clients: manifest GET and HEAD are loaded by ApacheBench (`ab -k -c64 -t10`, Debian\'s apache2-utils; a 1 s run first warms up), after one request checked by the bench\'s own client; blob pulls by curl (one process per download, into /dev/null; the rate of a single pull is curl\'s own transfer time, of 8 parallel ones the wall time of all), since a Node client took a whole CPU at pull rates and capped both registries at its own; small pushes, manifest PUTs and upload starts by the bench\'s lean HTTP/1.1 client (`raw-http.ts`: keep-alive sockets, each request written as one buffer, answers parsed only for status, headers and length), since through node:http the bench took 150-180 µs of CPU per manifest PUT (a third of Berth\'s own), this client 65-75 µs; everything else by the bench process over node:http, with one Agent per server (keepAlive, maxSockets 128). All run on the same CPUs as the servers; their ceilings against a bare server are in the machine table.',
    '- Monolithic push: Berth gets `POST /blobs/uploads/?digest=` with the body (one request); Distribution 2.8 has no single-POST upload, so it gets `POST` then `PUT <location>?digest=` with the body. 4 KiB pushes use the same paths. Chunked: `POST`, `PATCH` with `Content-Range` per chunk, `PUT ?digest=` without a body.',
    `- Blob pushes and pulls run ${config.transferRepeats} times per round (a new blob for each push); a round keeps their median.`,
    `- Real clients: skopeo (Debian's, in its own configuration directory) copies OCI image layouts of ${skopeoShapes.map((shape) => shape.label).join('; ')}${config.quick ? '; BENCH_QUICK leaves out the layer of 256 MiB' : ''}.`,
    '  Every copy is a `skopeo copy --preserve-digests` (with `--all` for the index), timed from the start of the process to its exit. A round takes, ' + (skopeoCopiesPerRound === 1 ? 'once' : `${skopeoCopiesPerRound} times over`) + ' for each layout, the floor, skopeo\'s copy of a layout into a new local one (`oci:` to `oci:`, in the machine table); then in turn (each copy starting one place further on) the same push and pull through a bare registry, the bound of these rows (`bare-registry.ts`, in the bare server\'s process: node:http with no authentication and no database, blobs stored as Berth\'s filesystem store does, hashed while appended, flushed behind, fsynced, renamed and their directory fsynced, manifests kept in memory), and for each registry in the round\'s order a push of a new layout to a new repository (`oci:` to `docker://`; Berth with the bench\'s credentials, Distribution with none) and a pull of it into a new local layout (`docker://` to `oci:`)' + (skopeoCopiesPerRound === 1 ? '' : '; a round keeps the median of each kind of copy, since a copy of a second or less scatters by up to 2x from one to the next') + '. Layers are gzip\'d tars (stored, not deflated) of random bytes, new for every copy, so no registry holds a blob before its push and skopeo\'s blob-info cache offers none to mount: both registries receive the same requests. A figure "above the local copy" is the copy\'s time less that round\'s floor (medians both); the targets are on Berth\'s over Distribution\'s: at most 0.5 for pushes, 0.8 for pulls. Where a target is missed and the bare registry\'s own ratio to Distribution misses it too, the verdict gives that ratio (as for the other bounds that are bare servers). This skopeo sends every request on a new connection (`Connection: close`) and pushes from a layout one blob at a time (two HEADs, then POST, one PATCH with the whole blob and PUT `?digest=`), but pulls several blobs at a time: a pull of many small layers can take less than the floor, and its figure above the floor is then negative (no ratio is given when Distribution\'s is; the copies\' own times, in the rows before, then compare the registries, and the bare registry\'s is about its figure plus the floor, the local copy in the machine table).',
    `- Start: once the scenarios have run, each registry is stopped and started ${config.startRepeats} times on the data directory they left, alone, alternating which starts first. Ready is the first answer, polled every 10 ms from the spawn, of \`/healthz\` (Berth, 200) or \`/v2/\` (Distribution, which has no health route outside its debug server); idle RSS is VmRSS ${idleAfterStartMs / 1000} s later, without a request in between. Berth runs with its shebang's node flags, as above, and compiles from the code cache that its first start of the run left beside its bundle (see \`src/cli/bundle-loader.ts\`). A bare Node http server (\`node -e\` with node:http alone, the same flags, answering 200 to any path) is started and measured in the same turns: the bound of these rows, the part of Berth's figures that is Node's own.`,
    '- Peak RSS is VmHWM from /proc/PID/status. The big blob is pushed and pulled after both servers are restarted on their data (their VmHWM reset by clear_refs 5 once they answer), so that its peak is the transfer\'s own; the peak of the long-running servers is the row above it. That peak is taken before Berth\'s own scenarios (token issues, the scale setup and its reads), which run last, so that until then both registries have served the same requests and hold the same data; Berth\'s peak after them has a row of its own.',
    ...notes.map((note) => `- ${note}`),
    '',
    '## Results',
    '',
    table,
    '',
    '## Cost that does not grow with size (Berth)',
    '',
    `The same figure on a small and a large case. Manifest GET: a repository of 10 tags, and one of ${config.scaleTagCount.toLocaleString('en-US')}. Tags page: the last page of a repository of ${config.tagPage * 2} tags, and of the one of ${config.scaleTagCount.toLocaleString('en-US')}. \`_catalog\` page: the last page while the registry held ${config.tagPage * 2} bench/catalog repositories (measured once, during setup), and once it held ${config.scaleRepositoryCount.toLocaleString('en-US')}. Small and large alternate: the GETs three times a round, the tags pages request by request; a figure is the median. Pages have n=${config.tagPage} entries; their time is the median of 101 requests.`,
    '',
    scaleTable(results.berth, { small: 'Small', large: 'Large' }),
    '',
    '## Machine limits for the same work',
    '',
    machineTable(results.machine),
    '',
    '## Every round',
    '',
    roundsTable(results),
    '',
    ...(keptByHand ? [keptByHand] : []),
    ...(pages ? ['## Web pages (Berth)', '', `From \`scripts/bench/pages.ts\` (also \`npm run bench:pages\`): server time through Fastify's \`inject\`, signed in.`, '', pages] : []),
    ...(hooks ? ['', '## Webhooks (Berth)', '', 'From `scripts/bench/hooks.ts` (also `npm run bench:hooks`): manifest PUT on a Berth server with three active webhooks against none; the target is a ratio of at least 0.95 for a burst of pushes. Under sustained load, longer than the deliverer yields to requests (`webhookYield`), the deliveries share the CPUs with the pushes: that row shows their cost.', '', hooks] : []),
  ].join('\n');
  log(`processes the bench did not start used ${Math.round(foreign * 100)}% of the CPU during the run`);
  process.stdout.write(`\n${table}\n\n${scaleTable(results.berth, { small: 'Small', large: 'Large' })}\n\n${machineTable(results.machine)}\n`);
  if (output) {
    await mkdir(path.dirname(output), { recursive: true });
    // The profiles' sections are theirs to rewrite (npm run bench:scale-out, npm run bench:gc).
    const kept = profileSection(previous);
    await writeFile(output, kept ? `${markdown.trimEnd()}\n\n${kept}` : markdown);
    log(`wrote ${output}`);
  } else {
    log('quick or partial run: report not written (set BENCH_OUTPUT=file to write it)');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
