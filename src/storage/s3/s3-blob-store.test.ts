import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { digestOf } from '../../oci/digest.js';
import { blobStoreContract } from '../../../test/storage/blob-store-contract.js';
import { type S3Handle, startS3 } from '../../../test/support/s3-process.js';
import { S3BlobStore } from './s3-blob-store.js';

let s3: S3Handle;
let stores = 0;
before(async () => {
  s3 = await startS3();
});
after(async () => {
  await s3?.close();
});

// Each store gets a prefix of its own in one bucket, as several registries could share one.
blobStoreContract('S3', async () => new S3BlobStore({ client: s3.client(), bucket: s3.bucket, prefix: `store-${(stores += 1)}/`, redirect: true }));

// The same contract with a copy limit of 4 bytes, so the streamed join that uploads over S3's
// 5 GiB copy limit take runs on every blob of the suite.
blobStoreContract('S3 joining uploads by streaming', async () =>
  new S3BlobStore({ client: s3.client(), bucket: s3.bucket, prefix: `small-${(stores += 1)}/`, redirect: false, maxCopyBytes: 4 }),
);

describe('S3 blob store', () => {
  it('streams an append larger than a part as a multipart upload, and commits it by copy', async () => {
    const store = new S3BlobStore({ client: s3.client(), bucket: s3.bucket, prefix: 'multipart/', redirect: false });
    const bytes = randomBytes(11 * 1024 * 1024 + 3);
    await store.createUpload('m1');
    const chunks = Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, index) => bytes.subarray(index * 65_536, (index + 1) * 65_536));
    assert.equal(await store.appendUpload('m1', 0, Readable.from(chunks)), bytes.length);
    const digest = digestOf(bytes);
    await store.commitUpload('m1', digest);
    assert.ok((await buffer(await store.read(digest))).equals(bytes));
    assert.deepEqual(await store.listUploads(), []);
  });

  it('answers a presigned URL that serves the blob without credentials, and none when redirects are off', async () => {
    const store = new S3BlobStore({ client: s3.client(), bucket: s3.bucket, prefix: 'redirect/', redirect: true, redirectSeconds: 60 });
    await store.createUpload('r1');
    await store.appendUpload('r1', 0, Readable.from([Buffer.from('fetched from the bucket')]));
    const digest = digestOf('fetched from the bucket');
    await store.commitUpload('r1', digest);
    const url = (await store.redirectUrl(digest)) ?? assert.fail('no redirect URL');
    assert.ok(url.startsWith(`${s3.endpoint}/${s3.bucket}/redirect/blobs/sha256/`), url);
    assert.match(url, /X-Amz-Expires=60&.*X-Amz-Signature=[0-9a-f]{64}/);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'fetched from the bucket');
    const off = new S3BlobStore({ client: s3.client(), bucket: s3.bucket, prefix: 'redirect/', redirect: false });
    assert.equal(await off.redirectUrl(digest), undefined);
  });

  it('keeps an object that is not a blob out of the blob listing', async () => {
    const client = s3.client();
    const store = new S3BlobStore({ client, bucket: s3.bucket, prefix: 'stray/', redirect: false });
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'stray/blobs/sha256/zz/not-a-digest', Body: 'x' }));
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `stray/blobs/sha256/00/${'a'.repeat(64)}`, Body: 'x' }));
    const listed = [];
    for await (const blob of store.listBlobs()) listed.push(blob);
    assert.deepEqual(listed, []);
  });
});
