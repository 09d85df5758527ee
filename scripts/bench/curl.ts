import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** curl, from Debian's curl package. */
export const curlBinary = '/usr/bin/curl';

export interface Download {
  status: number;
  bytes: number;
  seconds: number;
}

/**
 * Downloads `url` into /dev/null with curl: one C process, where a Node client with its 64 KiB reads
 * took a whole CPU at 1.5 GiB/s (measured: 1.59 s of CPU for 1.64 s of pulls) and so capped both
 * registries' pulls at its own rate. `seconds` is curl's own transfer time, without its start-up.
 * A redirect (a registry on S3 sends the client to a presigned URL) is followed, as clients do, and
 * counted in that time; curl sends the `Authorization` header only to the registry's host and port.
 */
export async function curlDownload(url: string, headers: Record<string, string> = {}): Promise<Download> {
  const args = ['-s', '-L', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]), url];
  const { stdout } = await promisify(execFile)(curlBinary, args, { timeout: 600_000 });
  return parseCurl(stdout);
}

/** Reads curl's `-w '%{http_code} %{size_download} %{time_total}'` line. */
export function parseCurl(output: string): Download {
  const [status, bytes, seconds] = output.trim().split(/\s+/).map(Number);
  const download = { status: status ?? Number.NaN, bytes: bytes ?? Number.NaN, seconds: seconds ?? Number.NaN };
  if (!Object.values(download).every(Number.isFinite) || download.seconds <= 0) throw new Error(`curl: unreadable report "${output.slice(0, 200)}"`);
  return download;
}

/** A download that must answer 200 with exactly `bytes` bytes. */
export async function expectDownload(url: string, headers: Record<string, string>, bytes: number): Promise<Download> {
  const download = await curlDownload(url, headers);
  if (download.status !== 200 || download.bytes !== bytes) {
    throw new Error(`GET ${url.slice(0, 160)}: expected 200 with ${bytes} bytes, got ${download.status} with ${download.bytes}`);
  }
  return download;
}
