import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExecResult, exec } from './exec.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/berth.js');

/**
 * Runs the built `berth ARGS` command in a child process, with `env` over this process's
 * environment and `input` on its stdin; resolves whatever the exit code.
 */
export function runBerth(args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<ExecResult> {
  return exec(process.execPath, [bin, ...args], { env: { ...process.env, ...options.env }, input: options.input, timeoutMs: 30_000 });
}
