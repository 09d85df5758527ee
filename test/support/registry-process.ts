import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, stopChild } from './child-process.js';

/** Which server a test runs against. Berth is the product; Distribution is the reference used to develop the harness. */
export type RegistryKind = 'berth' | 'distribution';

export interface Credentials {
  username: string;
  password: string;
}

/** A registry running as a child process on loopback. */
export interface RegistryHandle {
  readonly kind: RegistryKind;
  /** `127.0.0.1:PORT`, as used in image references. */
  readonly host: string;
  /** `http://127.0.0.1:PORT` (`https://` when serving TLS). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Credentials for clients, once the server requires them; undefined means anonymous. */
  readonly credentials: Credentials | undefined;
  /** PID of the running server, or undefined while stopped. */
  pid(): number | undefined;
  /** Everything the server wrote to stdout and stderr so far (for failure messages). */
  logs(): string;
  /** Stops the server (SIGTERM) and starts it again on the same port and data dir. */
  restart(): Promise<void>;
  /** Starts a stopped server again on the same port and data dir. */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s. Idempotent. */
  stop(): Promise<void>;
  /** Stops the server and removes the temp dirs this harness created. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Existing data dir to reuse; by default a fresh temp dir that close() removes. */
  dataDir?: string;
  /** Port to listen on; by default a free one. */
  port?: number;
  /** Extra environment for the server. */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds to wait for the server to answer `GET /v2/`; default 10 s. */
  readyTimeoutMs?: number;
  credentials?: Credentials;
  /** Berth only: run with authentication off (`BERTH_AUTH=off`) instead of signing clients in. */
  anonymous?: boolean;
  /**
   * Berth only: start on the data dir as it is, without creating the e2e user first, so that a
   * first start creates the administrator; the handle then has no credentials.
   */
  firstStart?: boolean;
  /** Berth only: serve HTTPS with this certificate and key; `ca` (a PEM file) is what clients trust. */
  tls?: { cert: string; key: string; ca: string };
}

export { freePort };

/**
 * Creates a temp dir under os.tmpdir() with a recognisable prefix. The random part is lowercase
 * hex (unlike mkdtemp's), because podman derives image names from `oci:` paths and image names
 * must be lowercase.
 */
export async function tempDir(prefix: string): Promise<string> {
  const dir = path.join(os.tmpdir(), `berth-e2e-${prefix.toLowerCase()}-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

/** A `tempDir` removed when the test ends. */
export async function testDir(t: TestContext, name: string): Promise<string> {
  const dir = await tempDir(name);
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Walks up from this file to the repository root (the folder holding bin/berth.js). */
export function repoRoot(): string {
  const fromEnv = process.env['BERTH_ROOT'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'bin', 'berth.js')) && existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** Is the Berth server built (bin/berth.js loads dist/bundle/main.cjs)? */
export function berthIsBuilt(): boolean {
  return existsSync(path.join(repoRoot(), 'dist', 'bundle', 'main.cjs'));
}

interface Launch {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * Starts the server; when the port was picked here and another process took it between
 * freePort() and the server's bind, tries again on a new port.
 */
async function startProcess(
  kind: RegistryKind,
  launch: (port: number, dataDir: string) => Promise<Launch>,
  options: StartOptions,
  ownedDirs: string[],
  readyLine?: RegExp,
): Promise<RegistryHandle> {
  let dataDir = options.dataDir;
  if (dataDir === undefined) {
    dataDir = await tempDir(`${kind}-data`);
    ownedDirs.push(dataDir);
  }
  for (let attempt = 1; ; attempt += 1) {
    const port = options.port ?? (await freePort());
    try {
      return await startOnPort(kind, launch, options, ownedDirs, port, dataDir, readyLine);
    } catch (err) {
      const portTaken = err instanceof Error && /EADDRINUSE|address already in use/i.test(err.message);
      if (options.port !== undefined || attempt >= 3 || !portTaken) {
        await Promise.all(ownedDirs.map((dir) => rm(dir, { recursive: true, force: true })));
        throw err;
      }
    }
  }
}

async function startOnPort(
  kind: RegistryKind,
  launch: (port: number, dataDir: string) => Promise<Launch>,
  options: StartOptions,
  ownedDirs: string[],
  port: number,
  dataDir: string,
  readyLine: RegExp | undefined,
): Promise<RegistryHandle> {
  const host = `127.0.0.1:${port}`;
  const url = `${options.tls ? 'https' : 'http'}://${host}`;
  const ca = options.tls && (await readFile(options.tls.ca));
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';
  let closed = false;

  const start = async (): Promise<void> => {
    if (child !== undefined) throw new Error(`${kind} is already running`);
    const { command, args, env } = await launch(port, dataDir);
    // Only this start's output shows that this process is ready: a restart keeps the earlier run's.
    const outputBefore = output.length;
    const proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let exitInfo: string | undefined;
    exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        exitInfo = `exited with ${code ?? signal}`;
        if (child === proc) child = undefined;
        resolve();
      });
      proc.on('error', (err) => {
        exitInfo = `failed to start: ${err.message}`;
        if (child === proc) child = undefined;
        resolve();
      });
    });
    proc.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (exitInfo !== undefined) {
        throw new Error(`${kind} ${exitInfo} before it was ready\n${output.slice(-4000)}`);
      }
      try {
        const status = await probe(`${url}/v2/`, ca);
        // 401 means it is up and asks for a token; both are "ready". The log line proves that
        // it is our process that answered, not another one that got the port.
        if ((status === 200 || status === 401) && (readyLine === undefined || readyLine.test(output.slice(outputBefore)))) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${kind} did not answer GET /v2/ within ${readyTimeoutMs} ms\n${output.slice(-4000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    await stopChild(proc);
    await exited;
    child = undefined;
  };

  const handle: RegistryHandle = {
    kind,
    host,
    url,
    port,
    dataDir,
    credentials: options.credentials,
    pid: () => child?.pid,
    logs: () => output,
    start,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await stop();
      await Promise.all(ownedDirs.map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
  try {
    await start();
  } catch (err) {
    await stop();
    throw err;
  }
  return handle;
}

/** The status of a GET (over HTTPS trusting `ca` when given), within a second. */
function probe(url: string, ca: Buffer | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = (ca ? https : http).get(url, { ca, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('no answer within a second')));
    request.on('error', reject);
  });
}

/** The user the e2e suites push as; every e2e repository lives in its namespace (`e2e/...`). */
export const e2eUser = 'e2e';

/**
 * Starts `node bin/berth.js serve --host 127.0.0.1 --port PORT --data-dir DIR` and waits until
 * `GET /v2/` answers. Authentication stays on, as in production: before the first start the CLI
 * creates the user `e2e` and a personal access token with every package scope, which become the
 * handle's credentials. `anonymous: true` runs with authentication off instead.
 */
export async function startBerth(options: StartOptions = {}): Promise<RegistryHandle> {
  const root = repoRoot();
  const bin = path.join(root, 'bin', 'berth.js');
  if (!berthIsBuilt()) {
    throw new Error(`Berth is not built: ${path.join(root, 'dist/bundle/main.cjs')} is missing (run npm run build)`);
  }
  const ownedDirs: string[] = [];
  let { dataDir, credentials } = options;
  if (dataDir === undefined) {
    dataDir = await tempDir('berth-data');
    ownedDirs.push(dataDir);
  }
  if (!options.anonymous && !options.firstStart && credentials === undefined) {
    credentials = await createE2eCredentials(bin, dataDir, options.env);
  }
  return startProcess(
    'berth',
    async (port, dir) => ({
      command: process.execPath,
      args: [bin, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dir, ...(options.tls ? ['--tls-cert', options.tls.cert, '--tls-key', options.tls.key] : [])],
      env: { ...process.env, ...(options.anonymous ? { BERTH_AUTH: 'off' } : {}), ...options.env },
    }),
    { ...options, dataDir, credentials },
    ownedDirs,
    /"msg":"listening"/,
  );
}

/** Creates (or reuses) the e2e user and mints a token for it with the CLI, on the data dir. */
async function createE2eCredentials(bin: string, dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<Credentials> {
  const run = promisify(execFile);
  const cli = (...args: string[]) => run(process.execPath, [bin, ...args, '--data-dir', dataDir], { timeout: 60_000, env: { ...process.env, ...env } });
  const users = await cli('user', 'list');
  if (!new RegExp(`^${e2eUser}\\b`, 'm').test(users.stdout)) await cli('user', 'create', e2eUser);
  const token = await cli('token', 'create', '--user', e2eUser, '--scopes', 'read:packages,write:packages,delete:packages', '--note', 'e2e');
  return { username: e2eUser, password: token.stdout.trim() };
}

/**
 * Starts Debian's `docker-registry` (CNCF Distribution 2.8) with filesystem storage in a temp dir
 * and deletes enabled. For developing the harness and for comparisons; the product is Berth.
 */
export async function startDistribution(options: StartOptions = {}): Promise<RegistryHandle> {
  const configDir = await tempDir('distribution-config');
  const secret = randomBytes(16).toString('hex');
  return startProcess(
    'distribution',
    async (port, dataDir) => {
      const configPath = path.join(configDir, 'config.yml');
      await writeFile(
        configPath,
        [
          'version: 0.1',
          'log:',
          '  level: warn',
          '  accesslog:',
          '    disabled: true',
          'storage:',
          '  filesystem:',
          `    rootdirectory: ${JSON.stringify(dataDir)}`,
          '  delete:',
          '    enabled: true',
          '  maintenance:',
          '    uploadpurging:',
          '      enabled: false',
          'http:',
          `  addr: 127.0.0.1:${port}`,
          // Upload Locations carry an HMAC'd _state; a fixed secret keeps them valid across restarts.
          `  secret: ${secret}`,
          '',
        ].join('\n'),
      );
      return {
        command: 'docker-registry',
        args: ['serve', configPath],
        env: { ...process.env, ...options.env },
      };
    },
    options,
    [configDir],
  );
}

/** The registry the e2e suite targets: Berth, unless E2E_REGISTRY=distribution. */
export function targetKind(): RegistryKind {
  return process.env['E2E_REGISTRY'] === 'distribution' ? 'distribution' : 'berth';
}

/** Starts the target registry (see {@link targetKind}). */
export async function startRegistry(options: StartOptions = {}): Promise<RegistryHandle> {
  return targetKind() === 'distribution' ? startDistribution(options) : startBerth(options);
}
