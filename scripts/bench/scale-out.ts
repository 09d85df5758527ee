/**
 * `npm run bench:scale-out`: the PostgreSQL + S3 profile. On one machine over loopback, with one
 * throwaway PostgreSQL cluster and one S3 server (s3rver with the multipart listing of
 * `s3-server.ts`), it sends the same requests to:
 * - Berth on PostgreSQL + S3 against Distribution on S3 (its S3 driver, another bucket of the same
 *   server): blob push by the clients' flow, blob pull (redirected to S3, and streamed by the
 *   registry), manifest PUT, manifest GET and HEAD;
 * - that Berth against Berth on SQLite + files: manifest GET and HEAD;
 * - two Berth nodes on the same database and bucket against one: manifest GET, with the CPU
 *   each run used.
 * Environment: BENCH_ROUNDS (default 3; 1 with BENCH_QUICK), BENCH_QUICK=1 (small sizes, a few
 * minutes), BENCH_OUTPUT (the file whose scale-out section is written; full runs default to
 * docs/performance.md, quick runs print only), BENCH_KEEP=1 (keep data and logs).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { newDatabase, postgresInstalled, startPostgres, type PostgresHandle } from '../../test/support/postgres-process.js';
import { databaseUrl } from '../../test/support/profile-database.js';
import { benchConfig, type BenchConfig } from './config.js';
import { HttpClient } from './http-client.js';
import { cpuSnapshot, foreignShare, loadAverage, processJiffies } from './load.js';
import { engineMetrics, nodesMetrics, scaleOutMetrics } from './metrics.js';
import { type ServerProcess, ensureBenchToolsInstalled, freePort, repoRoot, startBerth, startBerthServer, startDistribution, startS3Server, stopProcess } from './processes.js';
import { RegistryClient, type Credentials, type RegistryKind } from './registry-client.js';
import { type Figures, type Results, profileHeading, roundsTable, resultsTable, summarize, writeProfileSection } from './report.js';
import { BenchData, type Prepared, type RoundFigures, manifestGetsSpread, manifestPuts, manifestReads, prepare, pull, pushAsClients } from './scenarios.js';
import { MiB, formatNumber } from './stats.js';

/** s3rver's fixed credentials (as in test/support/s3-process.ts). */
const s3Keys = { accessKey: 'S3RVER', secretKey: 'S3RVER' };
const runStart = performance.now();

function log(message: string): void {
  process.stderr.write(`[bench:scale-out ${((performance.now() - runStart) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}

function record(into: Figures, figures: RoundFigures): void {
  for (const [key, value] of Object.entries(figures)) (into[key] ??= []).push(value);
}

function show(figures: RoundFigures): string {
  return Object.entries(figures).map(([key, value]) => `${key}=${formatNumber(value)}`).join(' ');
}

/**
 * The default sizes, with a smaller blob (s3rver writes each part to a file, joins the parts
 * into another and copies that into place, so a push moves the blob through its disk three
 * times) and one tag in the tags repository, which no scenario here reads.
 */
function profileConfig(): BenchConfig {
  const config = benchConfig();
  return { ...config, blobBytes: config.quick ? 16 * MiB : 64 * MiB, tagCount: 1 };
}

interface Target {
  label: string;
  server: ServerProcess;
  client: RegistryClient;
  prepared?: Prepared;
}

function target(kind: RegistryKind, label: string, server: ServerProcess, credentials: Credentials | undefined): Target {
  return { label, server, client: new RegistryClient(kind, new HttpClient(server.url, 128), credentials) };
}

/**
 * CPUs in use while `run` runs: on the whole machine, by the processes `pids`, by everything else
 * the bench started (ab, PostgreSQL, s3rver, the bench itself) and by other processes. Jiffies
 * over the machine's jiffies per CPU, so no clock rate is assumed.
 */
async function cpusDuring(pids: number[], run: () => Promise<RoundFigures>): Promise<RoundFigures> {
  const cpus = os.availableParallelism();
  const jiffies = async () => (await Promise.all(pids.map(processJiffies))).reduce((sum, value) => sum + value, 0);
  const [machineBefore, nodesBefore] = [await cpuSnapshot(), await jiffies()];
  const figures = await run();
  const [machineAfter, nodesAfter] = [await cpuSnapshot(), await jiffies()];
  const perCpu = (machineAfter.total - machineBefore.total) / cpus;
  const busy = (machineAfter.busy - machineBefore.busy) / perCpu;
  const nodes = (nodesAfter - nodesBefore) / perCpu;
  // The snapshot's own count of the bench's process tree.
  const tree = (machineAfter.ours - machineBefore.ours) / perCpu;
  // Interrupt work is charged to no process; on loopback it is mostly the bench's own traffic.
  const interrupts = (machineAfter.interrupts - machineBefore.interrupts) / perCpu;
  return { ...figures, machineBusyCpus: busy, berthCpus: nodes, benchRestCpus: tree - nodes, foreignCpus: Math.max(0, busy - interrupts - tree) };
}

async function main(): Promise<void> {
  const config = profileConfig();
  if (!(await postgresInstalled())) throw new Error('the scale-out profile needs PostgreSQL 15 (Debian package postgresql)');
  await ensureBenchToolsInstalled();
  const root = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-scale-out-'));
  const dirs = { s3: path.join(root, 's3'), nodeA: path.join(root, 'node-a'), nodeB: path.join(root, 'node-b'), sqlite: path.join(root, 'sqlite'), logs: path.join(root, 'logs') };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  log(`data and logs in ${root}; ${config.rounds} round(s)${config.quick ? ', quick sizes' : ''}`);
  const started: ServerProcess[] = [];
  const targets: Target[] = [];
  let postgres: PostgresHandle | undefined;
  const s3Results: Results = { berth: {}, distribution: {}, machine: {} };
  const engineResults: Results = { berth: {}, distribution: {}, machine: {} };
  const nodesResults: Results = { berth: {}, distribution: {}, machine: {} };
  const loadBefore = await loadAverage();
  let commands: string[] = [];
  /** Share of the machine's CPU time used by processes the bench did not start, over the rounds. */
  let foreign = Number.NaN;
  try {
    postgres = await startPostgres();
    const database = databaseUrl(await newDatabase(postgres));
    const s3 = await startS3Server(dirs.s3, dirs.logs, ['berth', 'distribution']);
    started.push(s3);
    // Both nodes as deployed behind one address (docs/deployment.md): the same public URL, so a
    // registry token from either is good on both; here it is node A's, where tokens are fetched.
    const portA = await freePort();
    const shared = {
      BERTH_DATABASE_URL: database,
      BERTH_STORAGE: 's3://berth/registry',
      BERTH_S3_ENDPOINT: s3.url,
      BERTH_S3_REGION: 'us-east-1',
      BERTH_S3_PATH_STYLE: 'on',
      BERTH_PUBLIC_URL: `http://127.0.0.1:${portA}`,
      AWS_ACCESS_KEY_ID: s3Keys.accessKey,
      AWS_SECRET_ACCESS_KEY: s3Keys.secretKey,
    };
    // Node A redirects blob GETs to presigned URLs (the default); node B streams them (the
    // setting for clients that cannot reach the bucket). Manifests never come from S3.
    const nodeA = await startBerth(dirs.nodeA, dirs.logs, { env: { ...shared, BERTH_S3_REDIRECT: 'on' }, port: portA, name: 'berth-a' });
    started.push(nodeA);
    const nodeB = await startBerthServer(dirs.nodeB, dirs.logs, { env: { ...shared, BERTH_S3_REDIRECT: 'off' }, name: 'berth-b' });
    started.push(nodeB);
    const distribution = await startDistribution(root, dirs.logs, { endpoint: s3.url, bucket: 'distribution', ...s3Keys });
    started.push(distribution);
    const distributionStreaming = await startDistribution(root, dirs.logs, { endpoint: s3.url, bucket: 'distribution', ...s3Keys, noRedirect: true }, 'distribution-streaming');
    started.push(distributionStreaming);
    const sqlite = await startBerth(dirs.sqlite, dirs.logs, { name: 'berth-sqlite' });
    started.push(sqlite);
    commands = started.map((server) => server.command);
    log(`s3 pid ${s3.pid}; berth-a pid ${nodeA.pid}, berth-b pid ${nodeB.pid}; distribution pids ${distribution.pid}, ${distributionStreaming.pid}; berth-sqlite pid ${sqlite.pid}`);

    const berth = target('berth', 'berth', nodeA, nodeA.credentials);
    const berthStreaming = target('berth', 'berth-b', nodeB, nodeA.credentials);
    const dist = target('distribution', 'distribution', distribution, undefined);
    const distStreaming = target('distribution', 'distribution-streaming', distributionStreaming, undefined);
    const berthSqlite = target('berth', 'berth-sqlite', sqlite, sqlite.credentials);
    targets.push(berth, berthStreaming, dist, distStreaming, berthSqlite);
    for (const each of [berth, dist, berthSqlite]) {
      const start = performance.now();
      each.prepared = await prepare(each.client, config);
      log(`${each.label}: setup took ${((performance.now() - start) / 1000).toFixed(1)} s`);
    }
    // The same database and bucket: what node A holds, node B serves.
    berthStreaming.prepared = berth.prepared;
    distStreaming.prepared = dist.prepared;
    await berthStreaming.client.authorize('bench/blobs');
    await berthStreaming.client.authorize('bench/read');

    const data = new BenchData(config);
    const before = await cpuSnapshot();
    for (let round = 0; round < config.rounds; round++) {
      // Which registry goes first alternates between rounds, as in `npm run bench`.
      const pair: Array<[Target, Target, Figures]> = [
        [berth, berthStreaming, s3Results.berth],
        [dist, distStreaming, s3Results.distribution],
      ];
      const order = round % 2 === 0 ? pair : [...pair].reverse();
      const each = async (name: string, run: (main: Target, streaming: Target) => Promise<RoundFigures>) => {
        for (const [main, streaming, into] of order) {
          await main.client.refreshAuthorizations();
          await streaming.client.refreshAuthorizations();
          const figures = await run(main, streaming);
          record(into, figures);
          log(`round ${round + 1} ${name} ${main.label}: ${show(figures)}`);
        }
      };
      await each('push', async (main, streaming) => {
        const pushed = await pushAsClients(main.client, data);
        const redirected = await pull(main.client, pushed.digest, config);
        const streamed = await pull(streaming.client, pushed.digest, config);
        return { ...pushed.figures, ...redirected, streamedPullSingle: streamed.pullSingle as number, streamedPullParallel: streamed.pullParallel as number };
      });
      await each('manifest PUTs', (main) => manifestPuts(main.client, config, main.prepared as Prepared, round));
      await each('manifest reads', (main) => manifestReads(main.client, config, main.prepared as Prepared));

      // PostgreSQL + S3 against SQLite + files, alternating too.
      const engines: Array<[Target, Figures]> = [
        [berth, engineResults.berth],
        [berthSqlite, engineResults.distribution],
      ];
      for (const [each, into] of round % 2 === 0 ? engines : [...engines].reverse()) {
        await each.client.refreshAuthorizations();
        const figures = await manifestReads(each.client, config, each.prepared as Prepared);
        record(into, figures);
        log(`round ${round + 1} manifest reads ${each.label}: ${show(figures)}`);
      }

      // One node against two, alternating; the CPU of both nodes is counted in either case.
      const nodes: Array<[Target[], Figures]> = [
        [[berth], nodesResults.distribution],
        [[berth, berthStreaming], nodesResults.berth],
      ];
      for (const [spread, into] of round % 2 === 0 ? nodes : [...nodes].reverse()) {
        for (const node of spread) await node.client.refreshAuthorizations();
        const figures = await cpusDuring([nodeA.pid, nodeB.pid], () => manifestGetsSpread(spread.map((node) => node.client), config, berth.prepared as Prepared));
        record(into, figures);
        log(`round ${round + 1} manifest GETs on ${spread.length} node(s): ${show(figures)}`);
      }
    }
    foreign = foreignShare(before, await cpuSnapshot());
  } finally {
    for (const each of targets) each.client.close();
    for (const server of started.reverse()) await stopProcess(server).catch((error: unknown) => log(`stopping ${server.name}: ${String(error)}`));
    await postgres?.close().catch((error: unknown) => log(`stopping postgres: ${String(error)}`));
    if (process.env.BENCH_KEEP !== '1') await rm(root, { recursive: true, force: true });
    else log(`kept ${root}`);
  }

  const s3Table = resultsTable(summarize(s3Results, scaleOutMetrics), { first: 'Berth PG+S3', second: 'Distribution S3', ratio: 'Berth/Dist' });
  const engineTable = resultsTable(summarize(engineResults, engineMetrics), { first: 'Berth PG+S3', second: 'Berth SQLite+files', ratio: 'PG/SQLite' });
  const nodesTable = resultsTable(summarize(nodesResults, nodesMetrics), { first: 'Two nodes', second: 'One node', ratio: 'Two/one' });
  const rounds = [
    roundsTable(s3Results, scaleOutMetrics, { first: 'Berth PG+S3', second: 'Distribution S3', ratio: '' }),
    roundsTable(engineResults, engineMetrics, { first: 'Berth PG+S3', second: 'Berth SQLite+files', ratio: '' }),
    roundsTable(nodesResults, nodesMetrics, { first: 'Two nodes', second: 'One node', ratio: '' }),
  ].join('\n\n');
  const seconds = ((performance.now() - runStart) / 1000).toFixed(0);
  const section = [
    profileHeading,
    '',
    'From `npm run bench:scale-out` (`scripts/bench/scale-out.ts`); it writes this section and leaves the rest of the file alone, and `npm run bench` keeps it. One PostgreSQL 15 cluster (Debian\'s, in a temp dir, `fsync=off`, reached over its Unix socket) and one S3 server: s3rver from npm (`scripts/bench/s3-server.ts`), in its own process, one bucket per registry.',
    '',
    '- Berth on PostgreSQL + S3 (`BERTH_DATABASE_URL`, `BERTH_STORAGE=s3://berth/registry`, path-style) against Distribution 2.8 with its S3 driver on the same server (`regionendpoint`, `forcepathstyle`, `secure: false`, `v4auth`, `multipartcopythresholdsize: 5368709120`, since at its default of 32 MiB larger blobs are copied into place with UploadPartCopy, which s3rver lacks). Both registries get the same requests; which goes first alternates between rounds. Figures are medians over the rounds.',
    '- Blob push is the clients\' flow: `HEAD` the blob (404), `POST`, one `PATCH` with the whole blob, `PUT ?digest=` without a body; a new blob each time, 3 per round, the median kept. Pulls by curl, as in `npm run bench`, following redirects.',
    '- Blob GETs: Berth redirects them to presigned S3 URLs by default (`s3Redirect`), and so does Distribution (`storage.redirect`); the "redirected" rows use those defaults. The "streamed" rows use a second Berth node with `BERTH_S3_REDIRECT=off` and a second Distribution with `redirect.disable: true`, on the same stores, where the registry itself sends the bytes it reads from S3.',
    '- s3rver lacks ListMultipartUploads, ListParts and AbortMultipartUpload. Distribution 2.8 reopens an upload on every `PATCH` and `PUT` after the `POST` and finds its S3 upload and the parts written so far only by listing them, so without them every blob push to it fails. `s3-server.ts` answers those three calls in s3rver\'s own process, before its router, from a record of the uploads s3rver created and the parts it stored; every other request goes to s3rver unchanged. Berth makes none of these calls. A proxy in front of s3rver for Distribution alone would have added a loopback hop and its CPU to each of Distribution\'s S3 requests.',
    '- Berth on SQLite + files: a third Berth, one node as `npm start` runs it, with the same setup and the same manifest reads, alternating with the Berth on PostgreSQL + S3.',
    '- Two nodes: nodes A and B on the same database and bucket and with the same public URL (node B differs only in `s3Redirect`, which manifests do not touch). One ApacheBench per node, at once, the 64 connections shared between them (a balancer spreading connections), against one ApacheBench at 64 on node A; the rate is the sum. CPUs are counted from /proc over the run of ab: the machine\'s busy time, and the two Berth processes\' own.',
    `- Machine: ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown'}); Node ${process.version}. The load clients, PostgreSQL, s3rver and every registry share these CPUs: on 2 CPUs a second node can only add what one node leaves idle, so the two-node figure is bounded by the machine, not by Berth. Load average ${loadBefore} before the run, ${await loadAverage()} after; processes the bench did not start used ${Number.isFinite(foreign) ? Math.round(foreign * 100) : '?'}% of the machine's CPU time during the rounds${foreign > 0.1 ? ' (the machine was shared: absolute figures are pessimistic, ratios of the alternating runs are the fairer reading)' : ''}.`,
    `- Command: \`${config.quick ? 'BENCH_QUICK=1 ' : ''}${process.env.BENCH_ROUNDS ? `BENCH_ROUNDS=${process.env.BENCH_ROUNDS} ` : ''}npm run bench:scale-out\` (${config.rounds} round${config.rounds === 1 ? '' : 's'}; took ${seconds} s). Sizes: blob ${config.blobBytes / MiB} MiB; ${config.manifestCount} manifest PUTs at c=${config.manifestConcurrency}; manifest reads ${config.readSeconds} s at c=${config.readConcurrency}${config.quick ? ' (BENCH_QUICK)' : ''}.`,
    '- Servers (started by the bench, stopped by pid):',
    ...commands.map((command) => `  - \`${command.replace(root, '$TMP')}\``),
    '',
    '### Berth on PostgreSQL + S3 against Distribution on S3',
    '',
    s3Table,
    '',
    '### Berth on PostgreSQL + S3 against Berth on SQLite + files',
    '',
    engineTable,
    '',
    '### Two Berth nodes against one (PostgreSQL + S3)',
    '',
    nodesTable,
    '',
    '### Every round',
    '',
    rounds,
    '',
  ].join('\n');
  process.stdout.write(`\n${section}\n`);
  const output = process.env.BENCH_OUTPUT ?? (config.quick ? undefined : path.join(repoRoot, 'docs/performance.md'));
  if (output) {
    await writeProfileSection(output, section);
    log(`wrote the scale-out section of ${output}`);
  } else {
    log('quick run: report not written (set BENCH_OUTPUT=file to write its section)');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
