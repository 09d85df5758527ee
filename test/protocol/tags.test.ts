import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type TestApp, errorCode, pushImage, pushManifest, startUpload, testApp } from './test-app.js';

async function tagAll(app: TestApp, name: string, tags: string[]): Promise<void> {
  const manifest = await pushImage(app, name);
  for (const tag of tags) await pushManifest(app, name, tag, manifest);
}

async function listTags(app: TestApp, name: string, query = '') {
  return app.inject({ method: 'GET', url: `/v2/${name}/tags/list${query}` });
}

const tags = ['v1', 'A', 'latest', '1.0', '_x', 'B', 'a-b', 'a.b', 'a_b', 'Z9'];
/** The same tags in byte order, as Go's sort.Strings and Distribution list them: digits, capitals, '_', small letters; '-' < '.' < '_'. */
const sorted = ['1.0', 'A', 'B', 'Z9', '_x', 'a-b', 'a.b', 'a_b', 'latest', 'v1'];

describe('GET /v2/<name>/tags/list', () => {
  it('answers 200 {"name","tags"} in byte order with Content-Type application/json and no Link', async (t) => {
    const app = await testApp(t);
    await tagAll(app, 'acme/app', tags);
    const res = await listTags(app, 'acme/app');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.json(), { name: 'acme/app', tags: sorted });
    assert.equal(res.headers.link, undefined);
  });

  it('?n=3 answers exactly 3 tags and Link: </v2/<name>/tags/list?n=3&last=<third>>; rel="next"', async (t) => {
    const app = await testApp(t);
    await tagAll(app, 'acme/app', tags);
    const res = await listTags(app, 'acme/app', '?n=3');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().tags, sorted.slice(0, 3));
    assert.equal(res.headers.link, `</v2/acme/app/tags/list?n=3&last=${sorted[2]}>; rel="next"`);
  });

  it('following Link pages through every tag exactly once', async (t) => {
    const app = await testApp(t);
    await tagAll(app, 'acme/app', tags);
    const seen: string[] = [];
    let url: string | undefined = '/v2/acme/app/tags/list?n=4';
    let pages = 0;
    while (url) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200);
      seen.push(...(res.json().tags as string[]));
      const link = res.headers.link as string | undefined;
      url = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
      pages++;
    }
    assert.deepEqual(seen, sorted);
    assert.equal(pages, 3);
  });

  it('?n=<count> answers every tag without a Link', async (t) => {
    const app = await testApp(t);
    await tagAll(app, 'acme/app', tags);
    const res = await listTags(app, 'acme/app', `?n=${tags.length}`);
    assert.deepEqual(res.json().tags, sorted);
    assert.equal(res.headers.link, undefined);
  });

  it('a large ?n=1000000 answers every tag without a Link', async (t) => {
    const app = await testApp(t);
    await tagAll(app, 'acme/app', tags);
    const res = await listTags(app, 'acme/app', '?n=1000000');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().tags, sorted);
    assert.equal(res.headers.link, undefined);
  });

  it('?last=<tag> starts strictly after that tag, with or without n', async (t) => {
    const app = await testApp(t);
    await tagAll(app, 'acme/app', tags);
    const last = sorted[3] as string;
    assert.deepEqual((await listTags(app, 'acme/app', `?last=${last}`)).json().tags, sorted.slice(4));
    const res = await listTags(app, 'acme/app', `?n=2&last=${last}`);
    assert.deepEqual(res.json().tags, sorted.slice(4, 6));
    assert.equal(res.headers.link, `</v2/acme/app/tags/list?n=2&last=${sorted[5]}>; rel="next"`);
    // `last` need not be an existing tag: it is a position in the order.
    assert.deepEqual((await listTags(app, 'acme/app', '?last=a')).json().tags, sorted.filter((tag) => tag > 'a'));
    assert.deepEqual((await listTags(app, 'acme/app', '?last=zzz')).json().tags, []);
  });

  it('?n=0 answers an empty list and no Link', async (t) => {
    const app = await testApp(t);
    await tagAll(app, 'acme/app', tags);
    const res = await listTags(app, 'acme/app', '?n=0');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { name: 'acme/app', tags: [] });
    assert.equal(res.headers.link, undefined);
  });

  for (const n of ['-1', 'abc', '1.5', '1e3', '%2B5']) {
    it(`?n=${n} answers 400 with an error envelope`, async (t) => {
      const app = await testApp(t);
      await tagAll(app, 'acme/app', ['v1']);
      const res = await listTags(app, 'acme/app', `?n=${n}`);
      assert.equal(res.statusCode, 400);
      assert.match(res.json().errors[0].message, /n must be a non-negative integer/);
      errorCode(res);
    });
  }

  it('answers 200 with [] once every tag is deleted', async (t) => {
    const app = await testApp(t);
    const manifest = await pushImage(app, 'acme/app', { tag: 'tagtest0' });
    await pushManifest(app, 'acme/app', 'other', manifest);
    assert.equal((await app.inject({ method: 'DELETE', url: '/v2/acme/app/manifests/tagtest0' })).statusCode, 202);
    assert.equal((await app.inject({ method: 'DELETE', url: `/v2/acme/app/manifests/${manifest.digest}` })).statusCode, 202);
    const res = await listTags(app, 'acme/app');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { name: 'acme/app', tags: [] });
  });

  it('answers 200 with [] for a repository with only untagged content', async (t) => {
    const app = await testApp(t);
    await pushImage(app, 'acme/app');
    assert.deepEqual((await listTags(app, 'acme/app')).json(), { name: 'acme/app', tags: [] });
  });

  it('for a repository that does not exist answers 404 NAME_UNKNOWN', async (t) => {
    const app = await testApp(t);
    await tagAll(app, 'acme/app', ['v1']);
    for (const query of ['', '?n=0', '?n=5&last=a']) {
      const res = await listTags(app, 'acme/other', query);
      assert.equal(res.statusCode, 404, query);
      assert.equal(errorCode(res), 'NAME_UNKNOWN');
    }
  });

  it('does not list tags of another repository, nor of a parent or child path', async (t) => {
    const app = await testApp(t);
    await tagAll(app, 'acme', ['parent']);
    await tagAll(app, 'acme/app', ['mine']);
    await tagAll(app, 'acme/app/sub', ['child']);
    assert.deepEqual((await listTags(app, 'acme/app')).json(), { name: 'acme/app', tags: ['mine'] });
    assert.deepEqual((await listTags(app, 'acme')).json(), { name: 'acme', tags: ['parent'] });
  });

  it('a repository where only an upload was started is still unknown: 404 NAME_UNKNOWN', async (t) => {
    const app = await testApp(t);
    await startUpload(app, 'acme/new');
    const res = await listTags(app, 'acme/new');
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().errors[0].code, 'NAME_UNKNOWN');
    const catalog = await app.inject({ method: 'GET', url: '/v2/_catalog' });
    assert.deepEqual(catalog.json().repositories, []);
  });
});
