import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';

/** Result of a finished child process. */
export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Milliseconds before the child is killed with SIGKILL; default 120 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Data written to the child's stdin, which is then closed. */
  input?: string | Buffer;
}

export class ExecError extends Error {
  readonly result: ExecResult;
  constructor(command: string, result: ExecResult) {
    super(
      `${command} exited with ${result.code ?? result.signal}\n--- stdout ---\n${tail(result.stdout)}\n--- stderr ---\n${tail(result.stderr)}`,
    );
    this.name = 'ExecError';
    this.result = result;
  }
}

function tail(text: string, max = 4000): string {
  return text.length > max ? `...${text.slice(-max)}` : text;
}

/**
 * Runs a command to completion, with a hard timeout so a hung client cannot hang the suite.
 * Resolves with the output whatever the exit code; see {@link execOk} for the checked variant.
 */
export function exec(command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: ExecResult = {
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8') + (timedOut ? `\n[killed after ${timeoutMs} ms]` : ''),
      };
      resolve(result);
    });
    child.stdin.on('error', () => {
      /* the child may exit without reading its input */
    });
    child.stdin.end(options.input);
  });
}

/** Like {@link exec}, but rejects with an {@link ExecError} unless the exit code is 0. */
export async function execOk(command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const result = await exec(command, args, options);
  if (result.code !== 0) {
    throw new ExecError([command, ...args].join(' '), result);
  }
  return result;
}

/** Finds an executable on PATH, or returns undefined when it is not installed. */
export async function which(name: string): Promise<string | undefined> {
  const dirs = (process.env['PATH'] ?? '').split(path.delimiter).concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** Returns the names among `names` that are not installed. */
export async function missingTools(names: readonly string[]): Promise<string[]> {
  const found = await Promise.all(names.map(async (name) => ((await which(name)) === undefined ? name : undefined)));
  return found.filter((name): name is string => name !== undefined);
}
