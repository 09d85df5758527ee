import { createHash } from 'node:crypto';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { S3BlobStore } from '../../src/storage/s3/s3-blob-store.js';
import { s3Client } from './s3-process.js';

/**
 * The variable that puts the blobs of every Berth the in-process suites make in an S3 bucket
 * instead of the data directory: `{"endpoint": …, "bucket": …}` of a server `scripts/test-on-postgres.ts`
 * starts. With PostgreSQL (`profile-database.ts`) it is the profile of several nodes.
 */
export const s3ProfileVariable = 'BERTH_TEST_S3';

/**
 * For a Berth made on `dataDir` by a test: a store in the profile's bucket, under a prefix named
 * after the data directory (so a Berth started again on the same directory finds its blobs), or
 * undefined for the data directory's own store.
 */
export function profileBlobStore(dataDir: string): BlobStore | undefined {
  const settings = process.env[s3ProfileVariable];
  if (!settings) return undefined;
  const { endpoint, bucket } = JSON.parse(settings) as { endpoint: string; bucket: string };
  const prefix = `${createHash('sha256').update(dataDir).digest('hex').slice(0, 24)}/`;
  return new S3BlobStore({ client: s3Client(endpoint), bucket, prefix, redirect: false });
}
