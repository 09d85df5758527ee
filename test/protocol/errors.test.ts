import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { errorCodes } from '../../src/oci/errors.js';
import { authApp } from '../auth/helpers.js';
import { RawConnection } from '../support/raw-http.js';
import { built, emptyConfig, errorCode, imageManifest, mediaTypes, ociErrorCodes, patternBytes, pushBlob, pushImage, putManifest, sha256, startUpload, testApp, withDigest } from './test-app.js';

describe('the OCI error envelope', () => {
  it('every protocol error answers {"errors":[{code,message}]} as application/json with a code from the spec list', async (t) => {
    const app = await testApp(t);
    await pushImage(app, 'acme/app', { tag: 'v1' });
    const location = await startUpload(app, 'acme/app');
    const cases: Array<[{ method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE'; url: string; payload?: string; headers?: Record<string, string> }, number, string]> = [
      [{ method: 'GET', url: `/v2/acme/app/blobs/${sha256('none')}` }, 404, 'BLOB_UNKNOWN'],
      [{ method: 'GET', url: '/v2/acme/app/blobs/uploads/00000000-0000-4000-8000-000000000000' }, 404, 'BLOB_UPLOAD_UNKNOWN'],
      [{ method: 'PATCH', url: location, payload: 'x', headers: { 'content-range': '5-5' } }, 416, 'BLOB_UPLOAD_INVALID'],
      [{ method: 'PUT', url: withDigest(location, sha256('y')), payload: 'x' }, 400, 'DIGEST_INVALID'],
      [{ method: 'GET', url: '/v2/acme/app/manifests/v2' }, 404, 'MANIFEST_UNKNOWN'],
      [{ method: 'PUT', url: '/v2/acme/app/manifests/v2', payload: 'blablabla', headers: { 'content-type': mediaTypes.ociManifest } }, 400, 'MANIFEST_INVALID'],
      [{ method: 'GET', url: '/v2/nobody/manifests/v1' }, 404, 'NAME_UNKNOWN'],
      [{ method: 'GET', url: '/v2/NoBody/manifests/v1' }, 400, 'NAME_INVALID'],
      [{ method: 'POST', url: '/v2/acme/app/manifests/v1' }, 405, 'UNSUPPORTED'],
    ];
    for (const [request, status, code] of cases) {
      const res = await app.inject(request);
      assert.equal(res.statusCode, status, `${request.method} ${request.url}: ${res.body}`);
      assert.equal(errorCode(res), code);
      const [entry] = res.json().errors;
      assert.deepEqual(Object.keys(entry).filter((key) => !['code', 'message', 'detail'].includes(key)), [], 'only the spec\'s fields');
      assert.equal(typeof entry.message, 'string');
      assert.ok(entry.message.length > 0);
      assert.equal(res.headers['content-length'], String(res.rawPayload.length));
    }
  });

  it('the error catalogue the registry answers from holds only the spec\'s codes', () => {
    // distribution-spec v1.1 "Error Codes", code-1 to code-14, written out from the spec's table.
    const spec = [
      'BLOB_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_BLOB_UNKNOWN', 'MANIFEST_INVALID', 'MANIFEST_UNKNOWN',
      'NAME_INVALID', 'NAME_UNKNOWN', 'SIZE_INVALID', 'UNAUTHORIZED', 'DENIED', 'UNSUPPORTED', 'TOOMANYREQUESTS',
    ];
    assert.deepEqual(Object.keys(errorCodes).filter((code) => !spec.includes(code)), []);
  });

  it('MANIFEST_BLOB_UNKNOWN carries the missing digests in detail', async (t) => {
    const app = await testApp(t);
    const config = { mediaType: mediaTypes.ociConfig, digest: sha256('missing config'), size: 14 };
    const manifest = built(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [] }), mediaTypes.ociManifest);
    const res = await putManifest(app, 'acme/app', 'v1', manifest);
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), {
      errors: [{ code: 'MANIFEST_BLOB_UNKNOWN', message: 'manifest references 1 unknown blob(s)', detail: { digests: [config.digest] } }],
    });
  });

  it('HEAD errors answer the status with no body', async (t) => {
    const app = await testApp(t);
    await pushImage(app, 'acme/app', { tag: 'v1' });
    const res = await app.inject({ method: 'HEAD', url: '/v2/acme/app/manifests/nope' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.rawPayload.length, 0);
  });

  it('a blob whose file was removed from disk answers 404 BLOB_UNKNOWN, not 500', async (t) => {
    const app = await testApp(t, { filesystem: true });
    // Larger than the blobs kept in the metadata, so that it is a file.
    const blob = await pushBlob(app, 'acme/app', patternBytes(100 * 1024));
    const hex = blob.digest.slice('sha256:'.length);
    await rm(path.join(app.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex));
    const res = await app.inject({ method: 'GET', url: `/v2/acme/app/blobs/${blob.digest}` });
    assert.equal(res.statusCode, 404);
    assert.equal(errorCode(res), 'BLOB_UNKNOWN');
  });

  it('a manifest PUT with the body of another format does not answer 500', async (t) => {
    const app = await testApp(t);
    const res = await putManifest(app, 'acme/app', 'v1', built('{"schemaVersion":2,"config":null,"layers":null}', mediaTypes.ociManifest));
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'MANIFEST_INVALID');
  });

  it('a manifest PUT with Content-Type: bogus answers 400 MANIFEST_INVALID, with or without mediaType in the body', async (t) => {
    const app = await testApp(t);
    await pushBlob(app, 'acme/app', emptyConfig.bytes, emptyConfig.mediaType);
    for (const mediaType of [mediaTypes.ociManifest, null]) {
      const manifest = imageManifest({ config: emptyConfig.descriptor(), mediaType });
      const res = await putManifest(app, 'acme/app', 'v1', manifest, 'bogus');
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(errorCode(res), 'MANIFEST_INVALID');
    }
  });

  it('a blob PATCH with Content-Type: bogus is accepted: a blob does not depend on it', async (t) => {
    const app = await testApp(t);
    const location = await startUpload(app, 'acme/app');
    const res = await app.inject({ method: 'PATCH', url: location, headers: { 'content-type': 'bogus' }, payload: 'bytes' });
    assert.equal(res.statusCode, 202, res.body);
  });

  it('a manifest PUT with Content-Type: bogus and no credentials answers 401 before anything else', async (t) => {
    const { berth } = await authApp(t);
    const res = await berth.app.inject({ method: 'PUT', url: '/v2/acme/app/manifests/v1', headers: { 'content-type': 'bogus' }, payload: '{}' });
    assert.equal(res.statusCode, 401);
    assert.equal(errorCode(res), 'UNAUTHORIZED');
  });

  for (const url of ['/v2/alice/%ZZ/manifests/v1', '/v2/alice%ZZ/tags/list', '/v2/alice/app/manifests/%ZZ', '/v2/alice/%E0%A4%A/blobs/uploads/']) {
    it(`GET ${url} (a malformed percent-encoding) answers 400 NAME_INVALID`, async (t) => {
      const app = await testApp(t);
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 400);
      assert.equal(errorCode(res), 'NAME_INVALID');
    });
  }

  it('an /api path with a malformed percent-encoding answers 400 with a message', async (t) => {
    const { berth } = await authApp(t);
    const res = await berth.app.inject({ method: 'GET', url: '/api/users/%ZZ/packages' });
    assert.equal(res.statusCode, 400);
    assert.equal(typeof res.json().message, 'string');
  });

  it('headers over the limit on /v2 answer 431 in the OCI envelope, and under /api with a message', async (t) => {
    const app = await testApp(t);
    const url = await app.listen();
    for (const [path, shape] of [['/v2/acme/app/tags/list', 'oci'], ['/api/user', 'api']] as const) {
      const connection = await RawConnection.open(t, url);
      connection.write(`GET ${path} HTTP/1.1\r\nHost: registry.test\r\nX-Padding: ${'x'.repeat(20 * 1024)}\r\n\r\n`);
      const response = await connection.response();
      assert.equal(response.status, 431);
      assert.equal(response.headers['content-type'], 'application/json');
      const body = JSON.parse(response.body.toString());
      if (shape === 'oci') assert.equal(body.errors[0].code, 'UNSUPPORTED');
      else assert.equal(typeof body.message, 'string');
      await connection.closed();
    }
  });

  it('a malformed request line answers 400 in the OCI envelope and closes', async (t) => {
    const app = await testApp(t);
    const url = await app.listen();
    const connection = await RawConnection.open(t, url);
    connection.write('GET /v2/ HTTP/1.1\r\nHost registry.test\r\n\r\n');
    const response = await connection.response();
    assert.equal(response.status, 400);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.ok(ociErrorCodes.includes(JSON.parse(response.body.toString()).errors[0].code));
    await connection.closed();
  });
});
