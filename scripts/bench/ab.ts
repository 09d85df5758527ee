import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/** ApacheBench, from Debian's apache2-utils. */
export const abBinary = '/usr/bin/ab';

export interface AbRun {
  url: string;
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  seconds: number;
  connections: number;
}

export interface AbResult {
  rate: number;
  p50: number;
  p99: number;
  requests: number;
}

/**
 * A fixed-concurrency keep-alive load from ApacheBench: one C process on epoll, with far less CPU
 * per request than a Node client, whose own cost capped the read scenarios below what the servers
 * can answer. (wrk and h2load would do as well, but wait for a body after HEAD.) A short run first
 * warms the server up and opens the connections. Answers other than 2xx, or of differing lengths,
 * fail the run, since ab does not look at the bodies.
 */
export async function ab(run: AbRun): Promise<AbResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-ab-'));
  try {
    const percentiles = path.join(dir, 'percentiles.csv');
    const args = (seconds: number) => [
      '-k',
      ...(run.method === 'HEAD' ? ['-i'] : []),
      `-c${run.connections}`,
      `-t${seconds}`,
      '-n10000000',
      '-e',
      percentiles,
      ...Object.entries(run.headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
      run.url,
    ];
    const exec = promisify(execFile);
    await exec(abBinary, args(1), { timeout: 60_000 });
    const { stdout } = await exec(abBinary, args(run.seconds), { timeout: (run.seconds + 60) * 1000, maxBuffer: 1 << 20 });
    return parseAb(stdout, await readFile(percentiles, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads ab's report (`Requests per second`, counts of bad answers) and its `-e` percentile table. */
export function parseAb(report: string, percentiles: string): AbResult {
  const failed = Number(/Failed requests:\s+(\d+)/.exec(report)?.[1] ?? Number.NaN);
  const non2xx = /Non-2xx responses:\s+(\d+)/.exec(report);
  if (failed !== 0 || non2xx) throw new Error(`ab: ${non2xx ? `${non2xx[1]} answers were not 2xx` : `${failed} requests failed`}:\n${report}`);
  const rate = Number(/Requests per second:\s+([\d.]+)/.exec(report)?.[1]);
  const requests = Number(/Complete requests:\s+(\d+)/.exec(report)?.[1]);
  const at = (percent: number) => Number(new RegExp(`^${percent},([\\d.]+)$`, 'm').exec(percentiles)?.[1]);
  const result = { rate, requests, p50: at(50), p99: at(99) };
  if (!Object.values(result).every(Number.isFinite)) throw new Error(`ab: unreadable report:\n${report}`);
  return result;
}
