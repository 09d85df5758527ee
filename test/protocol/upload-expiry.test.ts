import assert from 'node:assert/strict';
import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { inlineBlobBytes } from '../../src/registry/upload-service.js';
import { errorCode, sha256, startUpload, testApp, withDigest } from './test-app.js';

const day = 24 * 60 * 60 * 1000;

describe('abandoned upload expiry', () => {
  it('expire() two days later removes an upload: its status answers 404 BLOB_UPLOAD_UNKNOWN and its file leaves <dataDir>/uploads', async (t) => {
    const app = await testApp(t, { filesystem: true });
    const location = await startUpload(app, 'acme/app');
    const id = location.split('/').pop() as string;
    // More than the metadata holds of an upload, so that its bytes are in the store.
    const partial = Buffer.alloc(inlineBlobBytes + 13, 'p');
    await app.inject({ method: 'PATCH', url: location, payload: partial });
    const file = path.join(app.dataDir, 'uploads', id);
    assert.equal((await stat(file)).size, partial.length);

    const removed = await app.services.uploads.expire(new Date(Date.now() + 2 * day));
    assert.equal(removed, 1);
    await assert.rejects(stat(file), { code: 'ENOENT' });
    assert.deepEqual(await readdir(path.join(app.dataDir, 'uploads')), []);
    const status = await app.inject({ method: 'GET', url: location });
    assert.equal(status.statusCode, 404);
    assert.equal(errorCode(status), 'BLOB_UPLOAD_UNKNOWN');
    const put = await app.inject({ method: 'PUT', url: withDigest(location, sha256(partial)) });
    assert.equal(put.statusCode, 404);
    assert.equal(errorCode(put), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('expire() two days later removes an upload whose few bytes the metadata holds: its status answers 404 BLOB_UPLOAD_UNKNOWN', async (t) => {
    const app = await testApp(t, { filesystem: true });
    const location = await startUpload(app, 'acme/app');
    const patch = await app.inject({ method: 'PATCH', url: location, payload: 'partial bytes' });
    assert.equal(patch.headers.range, '0-12');
    assert.deepEqual(await readdir(path.join(app.dataDir, 'uploads')), []);

    assert.equal(await app.services.uploads.expire(new Date(Date.now() + 2 * day)), 1);
    const status = await app.inject({ method: 'GET', url: location });
    assert.equal(status.statusCode, 404);
    assert.equal(errorCode(status), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('expire() now keeps an upload touched within the expiry period', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    await app.inject({ method: 'PATCH', url: location, payload: 'still going' });
    assert.equal(await app.services.uploads.expire(new Date(Date.now() + day / 2)), 0);
    const status = await app.inject({ method: 'GET', url: location });
    assert.equal(status.statusCode, 204);
    assert.equal(status.headers.range, '0-10');
  });

  it('expire() removes an old upload file that no session owns', async (t) => {
    const app = await testApp(t, { filesystem: true });
    const orphan = path.join(app.dataDir, 'uploads', '11111111-1111-4111-8111-111111111111');
    await writeFile(orphan, 'left behind by a crash');
    const old = new Date(Date.now() - 3 * day);
    await utimes(orphan, old, old);
    assert.equal(await app.services.uploads.expire(), 1);
    await assert.rejects(stat(orphan), { code: 'ENOENT' });
  });

  it('the sweep at start-up removes uploads that expired while the registry was down', async (t) => {
    const first = await testApp(t, { config: { uploadExpiry: '1s' } });
    const location = await startUpload(first, 'acme/app');
    const id = location.split('/').pop() as string;
    await first.close();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await testApp(t, { dataDir: first.dataDir, config: { uploadExpiry: '1s' } });
    await assert.rejects(stat(path.join(second.dataDir, 'uploads', id)), { code: 'ENOENT' });
    assert.equal((await second.inject({ method: 'GET', url: location })).statusCode, 404);
  });
});
