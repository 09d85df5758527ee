import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorCode, ociErrorCodes, pushImage, testApp } from './test-app.js';

describe('API base and service endpoints', () => {
  it('GET /v2/ answers 200 with Docker-Distribution-API-Version: registry/2.0 and a JSON body', async (t) => {
    const app = await testApp(t);
    for (const url of ['/v2/', '/v2']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
      assert.equal(res.headers['content-type'], 'application/json');
      assert.deepEqual(res.json(), {});
    }
  });

  it('every /v2 response, errors included, carries Docker-Distribution-API-Version', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'GET', url: '/v2/nothing/here/manifests/latest' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
  });

  it('GET /healthz answers 200 {"status":"ok"}', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  it('GET /metrics counts requests in berth_http_requests_total by route, method and status', async (t) => {
    const app = await testApp(t);
    const image = await pushImage(app, 'acme/metrics', { tag: 'v1' });
    assert.equal((await app.inject({ method: 'GET', url: '/v2/acme/metrics/manifests/v1' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'HEAD', url: `/v2/acme/metrics/manifests/${image.digest}` })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/v2/acme/metrics/manifests/v2' })).statusCode, 404);

    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const lines = res.body.split('\n');
    const sample = (labels: string[]) =>
      lines.find((line) => line.startsWith('berth_http_requests_total{') && labels.every((label) => line.includes(label)));
    assert.match(sample(['route="manifest_get"', 'method="GET"', 'status="200"']) ?? '', / 1$/);
    assert.match(sample(['route="manifest_head"', 'method="HEAD"', 'status="200"']) ?? '', / 1$/);
    assert.match(sample(['route="manifest_get"', 'method="GET"', 'status="404"']) ?? '', / 1$/);
    assert.match(sample(['route="manifest_put"', 'method="PUT"', 'status="201"']) ?? '', / 1$/);
    assert.match(res.body, /^berth_http_request_duration_seconds_bucket\{.*route="manifest_get"/m);
    assert.match(res.body, /^berth_uploads_in_progress 0$/m);
  });

  it('GET of a path outside the API answers 404 with an OCI error envelope', async (t) => {
    const app = await testApp(t);
    for (const url of ['/nope', '/v2/acme/app/nothing/here', '/v2/acme/app/blobs', '/v3/']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.ok(ociErrorCodes.includes(errorCode(res)), url);
      assert.match(res.json().errors[0].message, /no endpoint/);
    }
  });

  it('a method the endpoint lacks answers 405 UNSUPPORTED with Allow', async (t) => {
    const app = await testApp(t);
    const cases: Array<[string, string, string]> = [
      ['POST', '/v2/acme/app/tags/list', 'GET'],
      ['DELETE', '/v2/', 'GET'],
      ['PUT', '/v2/acme/app/blobs/sha256:' + 'a'.repeat(64), 'GET, HEAD, DELETE'],
      ['PATCH', '/v2/acme/app/manifests/latest', 'GET, HEAD, PUT, DELETE'],
      ['GET', '/v2/acme/app/blobs/uploads/', 'POST'],
      ['POST', '/v2/acme/app/referrers/sha256:' + 'a'.repeat(64), 'GET'],
    ];
    for (const [method, url, allow] of cases) {
      const res = await app.inject({ method: method as 'GET', url });
      assert.equal(res.statusCode, 405, `${method} ${url}`);
      assert.equal(errorCode(res), 'UNSUPPORTED');
      assert.equal(res.headers.allow, allow);
    }
  });

  it('a request gets an X-Request-Id', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'GET', url: '/v2/' });
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });
});
