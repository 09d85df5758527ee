import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { type DaemonHandle, startDaemon } from './daemon-process.js';
import { freePort } from './registry-process.js';

/** s3rver's fixed credentials. */
export const s3rverCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3Handle {
  /** `http://127.0.0.1:PORT`: path-style requests only. */
  readonly endpoint: string;
  /** The bucket created at start. */
  readonly bucket: string;
  /** A client for the server, as Berth configures its own. */
  client(): S3Client;
  close(): Promise<void>;
}

/**
 * An S3-compatible server (s3rver, from npm) in its own process on loopback, keeping its objects
 * in a temp dir, with one bucket.
 */
export async function startS3(bucket = 'berth'): Promise<S3Handle> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-s3-'));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const bin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  const daemon: DaemonHandle = await startDaemon({
    command: process.execPath,
    args: [bin, '--directory', dir, '--address', '127.0.0.1', '--port', String(port), '--silent', '--no-vhost-buckets', '--configure-bucket', bucket],
    dir,
    ready: () => fetch(`${endpoint}/`).then(
      (res) => res.status < 500,
      () => false,
    ),
    timeoutMs: 30_000,
    killAfterMs: 5_000,
  });
  return {
    endpoint,
    bucket,
    client: () => s3Client(endpoint),
    close: () => daemon.close(),
  };
}

export function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3rverCredentials,
    // s3rver predates the SDK's default checksums and refuses what it does not know.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
