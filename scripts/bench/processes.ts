import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, stopChild } from '../../test/support/child-process.js';
import type { Credentials } from './registry-client.js';
import { abBinary } from './ab.js';
import { curlBinary } from './curl.js';
import { skopeoBinary } from './real-clients.js';

/** The repository root (this file runs from dist-test/scripts/bench/). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export const distributionBinary = '/usr/bin/docker-registry';

/**
 * Installs what the bench runs that may be missing, from Debian: docker-registry (CNCF
 * Distribution), ApacheBench (apache2-utils, the read scenarios' load), curl (the pulls') and
 * skopeo (the real-client scenario's). The bench runs as root.
 */
export async function ensureBenchToolsInstalled(): Promise<void> {
  const missing = [
    ['docker-registry', distributionBinary],
    ['apache2-utils', abBinary],
    ['curl', curlBinary],
    ['skopeo', skopeoBinary],
  ].flatMap(([pkg, binary]) => (existsSync(binary as string) ? [] : [pkg as string]));
  if (missing.length === 0) return;
  const run = promisify(execFile);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env, timeout: 600_000 });
  await run('apt-get', ['install', '-y', ...missing], { env, timeout: 600_000 });
}

/** A server process the bench started; stopped by its pid only. */
export interface ServerProcess {
  name: string;
  pid: number;
  url: string;
  child: ChildProcess;
  command: string;
  /** Milliseconds from its spawn to the first answer of its readiness URL (helpers: until it printed its ports). */
  readyMs: number;
}

export { freePort };

function launch(name: string, file: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.on('error', (error) => log.write(`spawn error: ${String(error)}\n`));
  if (child.pid === undefined) throw new Error(`${name}: could not start ${file}`);
  return child;
}

/**
 * Polls `url` every 10 ms until it answers 200 or 401, for at most `timeoutMs`; answers the
 * milliseconds from `spawnedAt` (a `performance.now()`) to that answer.
 */
async function waitReady(child: ChildProcess, name: string, url: string, logFile: string, spawnedAt: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`${name} exited with ${child.exitCode}; see ${logFile}:\n${await readFile(logFile, 'utf8').catch(() => '')}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200 || response.status === 401) return performance.now() - spawnedAt;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${name} did not answer ${url} within ${timeoutMs} ms; see ${logFile}`);
}

/**
 * Where a Berth keeps its metadata and blobs when not in its data directory, and how it is
 * started otherwise than by default: the `BERTH_*` and `AWS_*` variables of an operator's
 * deployment (see docs/deployment.md), a fixed port, a name for its log.
 */
export interface BerthOptions {
  env?: NodeJS.ProcessEnv;
  port?: number;
  name?: string;
  /** The root of a built checkout of Berth to run instead of this one (to compare two builds). */
  checkout?: string;
}

/**
 * Berth on loopback, its data in `dataDir`, logging at warn (like Distribution here), with
 * authentication on as deployed: the CLI first creates the user `bench` and a personal access
 * token for it, which the bench signs in with (registry repositories are under `bench/`).
 */
export async function startBerth(dataDir: string, logDir: string, options: BerthOptions = {}): Promise<ServerProcess & { credentials: Credentials }> {
  const token = await createBenchUser(dataDir, options.env, options.checkout);
  return { ...(await startBerthServer(dataDir, logDir, options)), credentials: { user: 'bench', token } };
}

/** Creates the user `bench` and a personal access token for it, with the CLI; returns the token. */
export async function createBenchUser(dataDir: string, env: NodeJS.ProcessEnv = {}, checkout = repoRoot): Promise<string> {
  await berthCliOf(checkout, dataDir, env, 'user', 'create', 'bench');
  return berthCliOf(checkout, dataDir, env, 'token', 'create', '--user', 'bench', '--scopes', 'read:packages,write:packages,delete:packages', '--note', 'bench');
}

/** Runs a `berth` CLI command on a data directory, as an operator would; returns what it printed. */
export function berthCli(dataDir: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  return berthCliOf(repoRoot, dataDir, env, ...args);
}

/** The same, with the CLI of the checkout at `checkout`. */
async function berthCliOf(checkout: string, dataDir: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const bin = path.join(checkout, 'bin/berth.js');
  const { stdout } = await promisify(execFile)(process.execPath, [bin, ...args, '--data-dir', dataDir], { timeout: 60_000, env: { ...process.env, ...env } });
  return stdout.trim();
}

/** `berth serve` on a data directory that already has the bench's account (a start or a restart). */
export async function startBerthServer(dataDir: string, logDir: string, options: BerthOptions = {}): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const name = options.name ?? 'berth';
  const bin = path.join(options.checkout ?? repoRoot, 'bin/berth.js');
  const args = [bin, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir];
  const logFile = path.join(logDir, `${name}-${port}.log`);
  // With the node flags of its shebang, as an operator runs it, and any extra ones (a profile).
  const nodeArgs = [...(await shebangNodeFlags(bin)), ...(process.env.BENCH_BERTH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const env = { BERTH_LOG_LEVEL: process.env.BERTH_LOG_LEVEL ?? 'warn', ...options.env };
  const spawnedAt = performance.now();
  const child = launch(name, process.execPath, [...nodeArgs, ...args], logFile, { ...process.env, ...env });
  const url = `http://127.0.0.1:${port}`;
  // Its liveness route, which answers 200 once the whole app listens.
  const readyMs = await waitReady(child, name, `${url}/healthz`, logFile, spawnedAt);
  // Secrets (AWS keys) are not written to the report.
  const shown = Object.entries(env).filter(([key]) => !/SECRET|KEY_ID/.test(key));
  return {
    name,
    pid: child.pid as number,
    url,
    child,
    command: `${shown.map(([key, value]) => `${key}=${String(value)}`).join(' ')} node ${[...nodeArgs, ...args].join(' ')}`,
    readyMs,
  };
}

/** The node flags in a script's `#!/usr/bin/env -S node <flags>` line. */
async function shebangNodeFlags(script: string): Promise<string[]> {
  const first = (await readFile(script, 'utf8')).split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env(?: -S)? node(.*)$/.exec(first);
  return match?.[1]?.split(' ').filter(Boolean) ?? [];
}

/** Distribution's S3 driver settings (`storage.s3`), for a bucket on a loopback S3 server. */
export interface DistributionS3 {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  /** `storage.redirect.disable`: blob GETs streamed by Distribution instead of redirected to S3. */
  noRedirect?: boolean;
}

/**
 * CNCF Distribution (Debian's docker-registry) with deletes enabled, and the in-memory blob
 * descriptor cache that Debian's default config.yml enables. Its storage is the filesystem in
 * `dataDir`, or with `s3` its S3 driver (then `dataDir` holds nothing).
 */
export async function startDistribution(dataDir: string, logDir: string, s3?: DistributionS3, name = 'distribution'): Promise<ServerProcess> {
  const port = await freePort();
  const storage = s3
    ? [
        '  s3:',
        `    regionendpoint: ${s3.endpoint}`,
        '    region: us-east-1',
        `    bucket: ${s3.bucket}`,
        `    accesskey: ${s3.accessKey}`,
        `    secretkey: ${s3.secretKey}`,
        '    forcepathstyle: true',
        '    secure: false',
        '    v4auth: true',
        // Its default (32 MiB) copies larger blobs into place part by part (UploadPartCopy),
        // which s3rver lacks; at the maximum (5 GiB) a blob of the bench is one CopyObject.
        '    multipartcopythresholdsize: 5368709120',
        ...(s3.noRedirect ? ['  redirect:', '    disable: true'] : []),
      ]
    : ['  filesystem:', `    rootdirectory: ${dataDir}`];
  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  cache:',
    '    blobdescriptor: inmemory',
    ...storage,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
  const configFile = path.join(logDir, `${name}.yml`);
  await writeFile(configFile, config);
  const logFile = path.join(logDir, `${name}-${port}.log`);
  // Its S3 driver panics at start when AWS_CA_BUNDLE is set (to anything).
  const { AWS_CA_BUNDLE: _caBundle, ...env } = process.env;
  const spawnedAt = performance.now();
  const child = launch(name, distributionBinary, ['serve', configFile], logFile, env);
  const url = `http://127.0.0.1:${port}`;
  // Its API base (it has no health route outside its debug server, which is off).
  const readyMs = await waitReady(child, name, `${url}/v2/`, logFile, spawnedAt);
  return { name, pid: child.pid as number, url, child, command: `${distributionBinary} serve ${configFile}`, readyMs };
}

/**
 * The least a Node server is: node:http answering 200, nothing else loaded, started with Berth's
 * node flags and polled as Berth is. Its start to ready and idle memory are the platform's share of
 * Berth's.
 */
export async function startBareNodeServer(logDir: string): Promise<ServerProcess> {
  const port = await freePort();
  const nodeArgs = await shebangNodeFlags(path.join(repoRoot, 'bin/berth.js'));
  const script = `require('node:http').createServer((request, response) => response.end()).listen(${port}, '127.0.0.1')`;
  const logFile = path.join(logDir, `bare-node-${port}.log`);
  const spawnedAt = performance.now();
  const child = launch('bare node', process.execPath, [...nodeArgs, '-e', script], logFile);
  const url = `http://127.0.0.1:${port}`;
  const readyMs = await waitReady(child, 'bare node', `${url}/healthz`, logFile, spawnedAt);
  return { name: 'bare-node', pid: child.pid as number, url, child, command: `node ${nodeArgs.join(' ')} -e "${script}"`, readyMs };
}

/** A bare Node server (scripts/bench/bare-server.ts) in its own process, like the registries. */
export async function startBareServer(dataDir: string, logDir: string): Promise<ServerProcess & { tcpPort: number }> {
  const script = fileURLToPath(new URL('./bare-server.js', import.meta.url));
  const { child, ready, readyMs } = await startHelper<{ http: number; tcp: number }>('bare server', script, [dataDir], path.join(logDir, 'bare-server.log'), 10_000);
  return { name: 'bare', pid: child.pid as number, url: `http://127.0.0.1:${ready.http}`, tcpPort: ready.tcp, child, command: `node ${script} ${dataDir}`, readyMs };
}

/**
 * The scale-out profile's S3 server (scripts/bench/s3-server.ts: s3rver with the multipart listing
 * Distribution needs) in its own process, its objects in `dataDir`, with `buckets` created.
 */
export async function startS3Server(dataDir: string, logDir: string, buckets: string[]): Promise<ServerProcess> {
  const script = fileURLToPath(new URL('./s3-server.js', import.meta.url));
  const { child, ready, readyMs } = await startHelper<{ port: number }>('s3 server', script, [dataDir, buckets.join(',')], path.join(logDir, 's3-server.log'), 30_000);
  return { name: 's3', pid: child.pid as number, url: `http://127.0.0.1:${ready.port}`, child, command: `node ${script} ${dataDir} ${buckets.join(',')}`, readyMs };
}

/**
 * Runs one of the bench's helper scripts in its own process, its stderr into `logFile`, and
 * resolves with the JSON line it prints on stdout once it listens.
 */
async function startHelper<Ready>(name: string, script: string, args: string[], logFile: string, timeoutMs: number): Promise<{ child: ChildProcess; ready: Ready; readyMs: number }> {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.pipe(createWriteStream(logFile));
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start; see ${logFile}`)), timeoutMs);
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n')[0];
      if (text.includes('\n') && line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Ready);
      }
    });
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}; see ${logFile}`)));
  });
  return { child, ready, readyMs: performance.now() - spawnedAt };
}

/** Peak resident set size (VmHWM) of a process, in bytes. */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** Resident set size (VmRSS) of a process now, in bytes. */
export async function residentSetSize(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** Resets the peak RSS of a process we own (Linux: writing 5 to clear_refs). */
export async function resetPeakRss(pid: number): Promise<boolean> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Stops a process we started: SIGTERM, then SIGKILL after `graceMs`. */
export function stopProcess(server: { child: ChildProcess }, graceMs = 10_000): Promise<void> {
  return stopChild(server.child, graceMs);
}
