import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { stopChild } from './child-process.js';

/** A daemon started for a test, with everything it writes in one temp dir. */
export interface DaemonHandle {
  readonly dir: string;
  /** Everything the daemon wrote to stdout and stderr so far. */
  logs(): string;
  /** SIGTERM (SIGKILL after `killAfterMs`) and removal of the temp dir. Idempotent. */
  close(): Promise<void>;
}

export interface DaemonOptions {
  command: string;
  args: readonly string[];
  /** The temp dir the daemon writes in; removed by close(). */
  dir: string;
  /** Answers true once the daemon serves; polled until it does or `timeoutMs` passes. */
  ready: () => Promise<boolean>;
  timeoutMs: number;
  killAfterMs: number;
  /** The user and group to run the daemon as (a root test starting a daemon that refuses root). */
  user?: { uid: number; gid: number };
}

/** Starts a daemon and waits until `ready` answers true; a daemon that exits or never gets ready fails with its output. */
export async function startDaemon(options: DaemonOptions): Promise<DaemonHandle> {
  const { command, dir } = options;
  const child = spawn(command, options.args, { stdio: ['ignore', 'pipe', 'pipe'], ...options.user });
  let output = '';
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = `exited with ${code ?? signal}`;
      resolve();
    });
    child.on('error', (err) => {
      exitInfo = `failed to start: ${err.message}`;
      resolve();
    });
  });
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let closed = false;
  const handle: DaemonHandle = {
    dir,
    logs: () => output,
    close: async () => {
      if (closed) return;
      closed = true;
      if (exitInfo === undefined) {
        await stopChild(child, options.killAfterMs);
        await exited;
      }
      // Snapshotters and storage drivers leave read-only dirs behind; retries cover slow unmounts.
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (exitInfo !== undefined) {
      await handle.close();
      throw new Error(`${command} ${exitInfo}\n${output.slice(-4000)}`);
    }
    if (await options.ready()) return handle;
    if (Date.now() > deadline) {
      await handle.close();
      throw new Error(`${command} did not answer within ${options.timeoutMs} ms\n${output.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
