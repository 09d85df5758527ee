import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type TestApp, pushImage, testApp } from './test-app.js';

const names = ['zeta', 'acme/app', 'acme/app/sub', 'beta', 'acme-x', 'acme.io/z'];
const sorted = [...names].sort();

async function seed(app: TestApp): Promise<void> {
  for (const name of names) await pushImage(app, name, { tag: 'v1' });
}

describe('GET /v2/_catalog', () => {
  it('answers 200 {"repositories"} in byte order with Content-Type application/json', async (t) => {
    const app = await testApp(t);
    await seed(app);
    const res = await app.inject({ method: 'GET', url: '/v2/_catalog' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.json(), { repositories: sorted });
    assert.equal(res.headers.link, undefined);
  });

  it('answers {"repositories":[]} on an empty registry', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'GET', url: '/v2/_catalog' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { repositories: [] });
  });

  it('?n=2 answers two names and Link: </v2/_catalog?n=2&last=<encoded second>>; rel="next"', async (t) => {
    const app = await testApp(t);
    await seed(app);
    const res = await app.inject({ method: 'GET', url: '/v2/_catalog?n=2' });
    assert.deepEqual(res.json().repositories, sorted.slice(0, 2));
    assert.equal(res.headers.link, `</v2/_catalog?n=2&last=${encodeURIComponent(sorted[1] as string)}>; rel="next"`);
  });

  it('following Link pages through every repository exactly once', async (t) => {
    const app = await testApp(t);
    await seed(app);
    const seen: string[] = [];
    let url: string | undefined = '/v2/_catalog?n=4';
    while (url) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200);
      seen.push(...(res.json().repositories as string[]));
      const link = res.headers.link as string | undefined;
      url = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
    }
    assert.deepEqual(seen, sorted);
  });

  it('?last= starts strictly after the given name; ?n=0 answers [] and no Link', async (t) => {
    const app = await testApp(t);
    await seed(app);
    const after = await app.inject({ method: 'GET', url: `/v2/_catalog?last=${encodeURIComponent('acme/app')}` });
    assert.deepEqual(after.json().repositories, sorted.filter((name) => name > 'acme/app'));
    const zero = await app.inject({ method: 'GET', url: '/v2/_catalog?n=0' });
    assert.deepEqual(zero.json(), { repositories: [] });
    assert.equal(zero.headers.link, undefined);
  });

  it('?n=abc answers 400', async (t) => {
    const app = await testApp(t);
    const res = await app.inject({ method: 'GET', url: '/v2/_catalog?n=abc' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], 'application/json');
  });
});
