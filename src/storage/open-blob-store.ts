import type { Config } from '../config.js';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs/fs-blob-store.js';

export type BlobStoreSettings = Pick<Config, 'dataDir' | 'storage' | 's3Endpoint' | 's3Region' | 's3PathStyle' | 's3Redirect'>;

/**
 * Opens the blob store the settings name: an S3 bucket for `storage: s3://bucket/prefix`, else
 * the data directory's files. The one way the server reaches one. S3 credentials come from the
 * SDK's usual places (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance role).
 */
export async function openBlobStore(settings: BlobStoreSettings): Promise<BlobStore> {
  if (settings.storage) {
    // Loaded only here, so that an installation on files never loads the AWS SDK.
    const [{ S3Client }, { S3BlobStore }] = await Promise.all([import('@aws-sdk/client-s3'), import('./s3/s3-blob-store.js')]);
    const { bucket, prefix } = parseS3Location(settings.storage);
    const client = new S3Client({
      ...(settings.s3Endpoint ? { endpoint: settings.s3Endpoint } : {}),
      ...(settings.s3Region ? { region: settings.s3Region } : {}),
      forcePathStyle: settings.s3PathStyle,
      // Checksums only where S3 requires them: S3-compatible servers do not all know the newer ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    return new S3BlobStore({ client, bucket, prefix, redirect: settings.s3Redirect });
  }
  const store = new FsBlobStore(settings.dataDir);
  await store.init();
  return store;
}

/** `s3://bucket/some/prefix` as the bucket and the key prefix `some/prefix/` (empty for none). */
export function parseS3Location(location: string): { bucket: string; prefix: string } {
  const url = new URL(location);
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  return { bucket: url.hostname, prefix: path ? `${path}/` : '' };
}
