import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorCode, pushBlob, sha256, testApp } from './test-app.js';

const uploadLocation = (name: string) => new RegExp(`^/v2/${name}/blobs/uploads/[0-9a-f-]{36}$`);

describe('cross-repository blob mount', () => {
  it('POST ?mount=<digest>&from=<repo> of a blob in <repo> answers 201 with Location exactly /v2/<to>/blobs/<digest>', async (t) => {
    const app = await testApp(t);
    const blob = await pushBlob(app, 'team/source', 'mounted content');
    const res = await app.inject({ method: 'POST', url: `/v2/team/target/blobs/uploads/?mount=${blob.digest}&from=team/source` });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers.location, `/v2/team/target/blobs/${blob.digest}`);
    assert.equal(res.headers['docker-content-digest'], blob.digest);
    const get = await app.inject({ method: 'GET', url: String(res.headers.location) });
    assert.equal(get.statusCode, 200);
    assert.equal(get.body, 'mounted content');
  });

  it('a blob is 404 in repository B until it is mounted from A, then 200', async (t) => {
    const app = await testApp(t);
    const blob = await pushBlob(app, 'team/a', 'visible after mount');
    await pushBlob(app, 'team/b', 'b has something');
    assert.equal((await app.inject({ method: 'HEAD', url: `/v2/team/b/blobs/${blob.digest}` })).statusCode, 404);
    const mount = await app.inject({ method: 'POST', url: `/v2/team/b/blobs/uploads/?mount=${blob.digest}&from=team%2Fa` });
    assert.equal(mount.statusCode, 201);
    const head = await app.inject({ method: 'HEAD', url: `/v2/team/b/blobs/${blob.digest}` });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], String(blob.size));
  });

  it('mount of a blob the source repository does not have answers 202 with an upload Location', async (t) => {
    const app = await testApp(t);
    await pushBlob(app, 'team/source', 'other');
    const missing = sha256('hello world');
    const res = await app.inject({ method: 'POST', url: `/v2/team/target/blobs/uploads/?mount=${missing}&from=team/source` });
    assert.equal(res.statusCode, 202);
    assert.match(String(res.headers.location), uploadLocation('team/target'));
    assert.equal(res.headers.range, '0-0');
    assert.equal((await app.inject({ method: 'GET', url: `/v2/team/target/blobs/${missing}` })).statusCode, 404);
    // The fallback session works.
    assert.equal((await app.inject({ method: 'GET', url: String(res.headers.location) })).statusCode, 204);
  });

  it('mount from a repository that does not exist answers 202 with an upload Location', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'POST', url: `/v2/team/target/blobs/uploads/?mount=${sha256('x')}&from=no/such/repo` });
    assert.equal(res.statusCode, 202);
    assert.match(String(res.headers.location), uploadLocation('team/target'));
  });

  it('mount without from answers 202 with an upload Location, even when another repository has the blob', async (t) => {
    const app = await testApp(t);
    const blob = await pushBlob(app, 'team/source', 'not auto-mounted');
    for (const digest of [sha256('hello world'), blob.digest]) {
      const res = await app.inject({ method: 'POST', url: `/v2/team/target/blobs/uploads/?mount=${digest}` });
      assert.equal(res.statusCode, 202);
      assert.match(String(res.headers.location), uploadLocation('team/target'));
    }
    assert.equal((await app.inject({ method: 'HEAD', url: `/v2/team/target/blobs/${blob.digest}` })).statusCode, 404);
  });

  it('mount with a malformed digest answers 400 DIGEST_INVALID', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'POST', url: '/v2/team/target/blobs/uploads/?mount=sha256:nope&from=team/source' });
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'DIGEST_INVALID');
  });

  it('mount from an invalid repository name answers 400 NAME_INVALID', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'POST', url: `/v2/team/target/blobs/uploads/?mount=${sha256('x')}&from=Team/Source` });
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), 'NAME_INVALID');
  });

  it('a mounted blob stays readable in the target after it is deleted from the source', async (t) => {
    const app = await testApp(t);
    const blob = await pushBlob(app, 'team/a', 'shared');
    assert.equal((await app.inject({ method: 'POST', url: `/v2/team/b/blobs/uploads/?mount=${blob.digest}&from=team/a` })).statusCode, 201);
    assert.equal((await app.inject({ method: 'DELETE', url: `/v2/team/a/blobs/${blob.digest}` })).statusCode, 202);
    const get = await app.inject({ method: 'GET', url: `/v2/team/b/blobs/${blob.digest}` });
    assert.equal(get.statusCode, 200);
    assert.equal(get.body, 'shared');
  });
});
