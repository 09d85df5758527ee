import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pushImage, sha256, startUpload, testApp, withDigest } from './test-app.js';

describe('state across a restart', () => {
  it('a chunked upload survives a restart: GET answers 204 with its Range, the next chunk and PUT succeed', async (t) => {
    const data = Buffer.from('first half of the blob|second half of the blob');
    const split = 23;
    const first = await testApp(t);
    const location = await startUpload(first, 'acme/app');
    const patch = await first.inject({ method: 'PATCH', url: location, headers: { 'content-range': `0-${split - 1}` }, payload: data.subarray(0, split) });
    assert.equal(patch.statusCode, 202);
    await first.close();

    const second = await testApp(t, { dataDir: first.dataDir });
    const status = await second.inject({ method: 'GET', url: location });
    assert.equal(status.statusCode, 204);
    assert.equal(status.headers.range, `0-${split - 1}`);
    assert.equal(status.headers.location, location);
    const next = await second.inject({
      method: 'PATCH',
      url: location,
      headers: { 'content-range': `${split}-${data.length - 1}` },
      payload: data.subarray(split),
    });
    assert.equal(next.statusCode, 202);
    assert.equal(next.headers.range, `0-${data.length - 1}`);
    const put = await second.inject({ method: 'PUT', url: withDigest(location, sha256(data)) });
    assert.equal(put.statusCode, 201);
    const get = await second.inject({ method: 'GET', url: `/v2/acme/app/blobs/${sha256(data)}` });
    assert.deepEqual(get.rawPayload, data);
  });

  it('a streamed upload survives a restart and PUT with the wrong digest is still refused', async (t) => {
    const first = await testApp(t);
    const location = await startUpload(first, 'acme/app');
    await first.inject({ method: 'PATCH', url: location, payload: 'abc' });
    await first.close();
    const second = await testApp(t, { dataDir: first.dataDir });
    const wrong = await second.inject({ method: 'PUT', url: withDigest(location, sha256('abd')) });
    assert.equal(wrong.statusCode, 400);
    const right = await second.inject({ method: 'PUT', url: withDigest(location, sha256('abc')) });
    assert.equal(right.statusCode, 201);
  });

  it('manifests, tags and blobs are served after a restart', async (t) => {
    const first = await testApp(t);
    const manifest = await pushImage(first, 'acme/app', { tag: 'v1' });
    await first.close();
    const second = await testApp(t, { dataDir: first.dataDir });
    const res = await second.inject({ method: 'GET', url: '/v2/acme/app/manifests/v1' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.rawPayload, manifest.bytes);
    const config = res.json().config as { digest: string; size: number };
    const blob = await second.inject({ method: 'HEAD', url: `/v2/acme/app/blobs/${config.digest}` });
    assert.equal(blob.statusCode, 200);
    assert.equal(blob.headers['content-length'], String(config.size));
    assert.deepEqual((await second.inject({ method: 'GET', url: '/v2/acme/app/tags/list' })).json(), { name: 'acme/app', tags: ['v1'] });
  });
});
