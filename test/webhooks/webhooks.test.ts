import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAccountName } from '../../src/accounts/names.js';
import { type AuthApp, authApp, basic } from '../auth/helpers.js';
import { pushLabelledImage } from '../packages/helpers.js';
import { type ApiMethod, apiRequest } from '../support/api-request.js';
import { runBerth } from '../support/berth-cli.js';
import { putManifest } from '../support/berth-pushes.js';
import { eventually } from '../support/eventually.js';
import { profileCliEnv } from '../support/profile-database.js';
import { type Receiver, receiver } from './helpers.js';

const secret = 'it is a secret to everybody';
/** The site setting that lets hooks reach the test's receivers on loopback. */
const allowLoopback = { webhookAllowedNetworks: '127.0.0.1/32' };

async function api(app: AuthApp, method: ApiMethod, url: string, token: string, body?: object) {
  const response = await apiRequest(app, method, url, token, body);
  return { status: response.statusCode, json: response.body === '' ? undefined : response.json() };
}

async function createHook(app: AuthApp, path: string, token: string, hook: Receiver, extra: { events?: string[]; format?: string } = {}) {
  const created = await api(app, 'POST', path, token, { name: 'web', config: { url: hook.url, content_type: 'json', secret, ...(extra.format ? { format: extra.format } : {}) }, events: extra.events ?? ['package'] });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return created.json as { id: number; url: string };
}

describe('webhooks', () => {
  it('POST/GET/PATCH/DELETE /api/orgs/{org}/hooks: for owners with write:packages, the secret never answered, a signed ping on creation', async (t) => {
    const app = await authApp(t, allowLoopback);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    const readOnly = await app.user('alice', ['read:packages']);
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    await app.berth.accounts.setOrgMember('acme', 'bob', 'member');
    const hook = await receiver(t, secret);

    assert.equal((await api(app, 'GET', '/api/orgs/acme/hooks', bob.token)).status, 404, 'a member who is not an owner does not see them');
    assert.equal((await api(app, 'POST', '/api/orgs/acme/hooks', readOnly.token, { config: { url: hook.url } })).status, 403);
    assert.equal((await api(app, 'POST', '/api/orgs/acme/hooks', alice.token, { config: { url: hook.url, content_type: 'form' } })).status, 422);
    assert.equal((await api(app, 'POST', '/api/orgs/acme/hooks', alice.token, { config: { url: hook.url }, events: ['push'] })).status, 422);

    const created = await createHook(app, '/api/orgs/acme/hooks', alice.token, hook);
    const shown = await api(app, 'GET', `/api/orgs/acme/hooks/${created.id}`, readOnly.token);
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.json.config, { content_type: 'json', insecure_ssl: '0', url: hook.url, format: 'github', secret: '********' });
    assert.equal(shown.json.type, 'Organization');
    assert.equal(shown.json.url, `http://registry.test:5000/api/orgs/acme/hooks/${created.id}`);
    assert.deepEqual(shown.json.events, ['package']);
    assert.doesNotMatch(JSON.stringify((await api(app, 'GET', '/api/orgs/acme/hooks', alice.token)).json), new RegExp(secret));

    const [ping] = await eventually(() => hook.of('ping'), (pings) => pings.length === 1);
    assert.ok(ping, 'the ping arrived');
    assert.equal(ping.signed, true, 'X-Hub-Signature-256 is the HMAC of the body with the secret');
    assert.equal(ping.headers['x-berth-delivery'], ping.guid);
    assert.equal(ping.json.hook_id, created.id);
    assert.equal(ping.json.hook.config.secret, '********');
    assert.equal(ping.json.sender.login, 'alice');

    const patched = await api(app, 'PATCH', `/api/orgs/acme/hooks/${created.id}`, alice.token, { active: false, add_events: ['package.published'], remove_events: ['package'] });
    assert.equal(patched.status, 200, JSON.stringify(patched.json));
    assert.deepEqual([patched.json.active, patched.json.events], [false, ['package.published']]);
    assert.equal((await api(app, 'PATCH', `/api/orgs/acme/hooks/${created.id}`, alice.token, { config: { url: 'http://127.0.0.2:1/' } })).status, 422, 'a new URL is checked as at creation');

    assert.equal((await api(app, 'POST', `/api/orgs/acme/hooks/${created.id}/pings`, alice.token)).status, 204);
    await eventually(() => hook.of('ping'), (pings) => pings.length === 2);
    assert.equal((await api(app, 'DELETE', `/api/orgs/acme/hooks/${created.id}`, readOnly.token)).status, 403);
    assert.equal((await api(app, 'DELETE', `/api/orgs/acme/hooks/${created.id}`, alice.token)).status, 204);
    assert.equal((await api(app, 'GET', `/api/orgs/acme/hooks/${created.id}`, alice.token)).status, 404);
    assert.doesNotMatch(app.logs(), new RegExp(secret), 'the secret is never logged');
  });

  it('a user hook gets each event of a package, in order, in GitHub\'s package event shape', async (t) => {
    const app = await authApp(t, allowLoopback);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const hook = await receiver(t, secret);
    await createHook(app, '/api/user/hooks', alice.token, hook);
    await eventually(() => hook.of('ping'), (pings) => pings.length === 1);

    const v1 = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1', labels: { 'org.opencontainers.image.description': 'an app' } });
    const manifest = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: auth, accept: v1.mediaType } });
    await putManifest(app.berth, 'alice/app', auth, 'stable', JSON.parse(manifest.body) as object);
    const base = '/api/user/packages/container/app';
    const versions = (await api(app, 'GET', `${base}/versions`, alice.token)).json as Array<{ id: number; name: string }>;
    const version = versions.find((each) => each.name === v1.digest)!;
    const v2 = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v2', seed: 'two' });
    assert.equal((await api(app, 'DELETE', `${base}/versions/${version.id}`, alice.token)).status, 204);
    assert.equal((await api(app, 'POST', `${base}/versions/${version.id}/restore`, alice.token)).status, 204);
    assert.equal((await api(app, 'PATCH', base, alice.token, { visibility: 'public' })).status, 200);
    assert.equal((await api(app, 'DELETE', base, alice.token)).status, 204);
    assert.equal((await api(app, 'POST', `${base}/restore`, alice.token)).status, 204);

    const events = await eventually(() => hook.of('package'), (list) => list.length === 8);
    assert.deepEqual(
      events.map((event) => event.json.action),
      ['published', 'updated', 'published', 'version_deleted', 'version_restored', 'visibility_changed', 'deleted', 'restored'],
    );
    assert.ok(events.every((event) => event.signed && event.headers['x-berth-event'] === 'package'));
    assert.equal(new Set(events.map((event) => event.guid)).size, 8, 'each event has a delivery id of its own');
    const [published, updated, second, deleted, restored, visibility] = events.map((event) => event.json);
    assert.equal(published!.package.name, 'app');
    assert.equal(published!.package.namespace, 'alice');
    assert.equal(published!.package.package_type, 'CONTAINER');
    assert.equal(published!.package.owner.login, 'alice');
    assert.equal(published!.package.package_version.name, v1.digest);
    assert.equal(published!.package.package_version.id, version.id);
    assert.deepEqual(published!.package.package_version.container_metadata.tag, { name: 'v1', digest: v1.digest });
    assert.equal(published!.package.package_version.package_url, `registry.test:5000/alice/app:v1`);
    assert.equal(published!.sender.login, 'alice');
    assert.equal(published!.organization, undefined);
    assert.equal(updated!.package.package_version.container_metadata.tag.name, 'stable', 'a tag moved onto the version');
    assert.deepEqual(updated!.package.package_version.metadata.container.tags, ['stable', 'v1']);
    assert.equal(second!.package.package_version.name, v2.digest);
    assert.equal(deleted!.package.package_version.name, v1.digest);
    // The body is made when first sent: the version's state is the one then, its identity the event's.
    assert.equal(restored!.package.package_version.name, v1.digest);
    assert.deepEqual(visibility!.changes, { visibility: { from: 'private' } });
    assert.equal(visibility!.package.visibility, 'public');

    // Outcomes are committed in batches, moments after the answers.
    const hookId = (await api(app, 'GET', '/api/user/hooks', alice.token)).json[0].id;
    const deliveries = await eventually(() => api(app, 'GET', `/api/user/hooks/${hookId}/deliveries?per_page=3`, alice.token), (list) => list.json.every((each: { state: string }) => each.state === 'delivered'));
    assert.equal(deliveries.status, 200);
    assert.equal(deliveries.json.length, 3);
    assert.deepEqual(
      deliveries.json.map((each: { action: string; status_code: number; state: string }) => [each.action, each.status_code, each.state]),
      [['restored', 204, 'delivered'], ['deleted', 204, 'delivered'], ['visibility_changed', 204, 'delivered']],
    );
  });

  it('deliveries wait while the node serves a request, and go as soon as it serves none', async (t) => {
    // A long yield, so that the request below is what holds the delivery back, however slow the machine.
    const app = await authApp(t, { ...allowLoopback, webhookYield: '60s' });
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const hook = await receiver(t, secret);
    await createHook(app, '/api/user/hooks', alice.token, hook);
    await eventually(() => hook.of('ping'), (pings) => pings.length === 1);

    // A request in flight: a chunk of an upload whose body is still coming, on a real socket.
    const base = await app.berth.app.listen({ host: '127.0.0.1', port: 0 });
    const started = await app.berth.app.inject({ method: 'POST', url: '/v2/alice/app/blobs/uploads/', headers: { authorization: auth } });
    const chunk = http.request(new URL(String(started.headers.location), base), {
      method: 'PATCH',
      headers: { authorization: auth, 'content-type': 'application/octet-stream', 'content-length': '22' },
    });
    const answered = new Promise<number>((resolve, reject) => {
      chunk.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      chunk.on('error', reject);
    });
    chunk.write('first ten ');
    await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    await sleep(300);
    assert.deepEqual(hook.of('package'), [], 'the push\'s delivery waits while the upload\'s request is in flight');

    chunk.end('and the rest');
    assert.equal(await answered, 202);
    const [published] = await eventually(() => hook.of('package'), (list) => list.length === 1, 10_000);
    assert.equal(published?.json.action, 'published');
  });

  it('a hook made, changed or turned off counts from the next push, whether through the API or by another process', async (t) => {
    const app = await authApp(t, allowLoopback);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    // A push before any hook: the node has looked and found none for alice/app.
    await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    const hook = await receiver(t, secret);
    const created = await createHook(app, '/api/user/hooks', alice.token, hook);
    await eventually(() => hook.of('ping'), (pings) => pings.length === 1);
    const second = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v2', seed: 'two' });

    const hookPath = `/api/user/hooks/${created.id}`;
    assert.equal((await api(app, 'PATCH', hookPath, alice.token, { active: false })).status, 200);
    await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v3', seed: 'three' });
    assert.equal((await api(app, 'PATCH', hookPath, alice.token, { active: true, events: ['package.updated'] })).status, 200);
    const fourth = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v4', seed: 'four' });
    const manifest = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v4', headers: { authorization: auth, accept: fourth.mediaType } });
    await putManifest(app.berth, 'alice/app', auth, 'stable', JSON.parse(manifest.body) as object);
    // One lane per hook and package, in order: a delivery for v3 (made while the hook was off) or
    // for v4's publishing (which the hook no longer asks for) would come before the tag's.
    const events = await eventually(() => hook.of('package'), (list) => list.length === 2);
    assert.deepEqual(
      events.map((event) => [event.json.action, event.json.package.package_version.name]),
      [['published', second.digest], ['updated', fourth.digest]],
    );

    // A hook made by the CLI, another process on the same data: the node hears of it and the next push counts it.
    const other = await receiver(t, secret);
    const env = { BERTH_DATA_DIR: app.dataDir, BERTH_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32', ...(await profileCliEnv(app.dataDir)) };
    const made = await runBerth(['hook', 'create', 'alice', '--url', other.url], { env });
    assert.equal(made.code, 0, made.stderr);
    await eventually(() => other.of('ping'), (pings) => pings.length === 1);
    const fifth = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v5', seed: 'five' });
    const received = await eventually(() => other.of('package'), (list) => list.length === 1);
    assert.deepEqual(
      received.map((event) => [event.json.action, event.json.package.package_version.name]),
      [['published', fifth.digest]],
      'the hook the CLI made gets the next push',
    );
  });

  it('a package hook in Distribution\'s format gets its notification envelope; an organization\'s package names the organization', async (t) => {
    const app = await authApp(t, allowLoopback);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    await app.berth.accounts.setOrgMember('acme', 'bob', 'member');
    const auth = basic('alice', alice.token);
    const first = await pushLabelledImage(app.berth, 'acme/tool', auth, { tag: 'v1' });
    const hook = await receiver(t, secret);
    const path = '/api/orgs/acme/packages/container/tool/hooks';
    assert.equal((await api(app, 'GET', path, bob.token)).status, 404, 'a member without a role on the package');
    const created = await createHook(app, path, alice.token, hook, { format: 'distribution' });
    assert.equal(created.url, `http://registry.test:5000${path}/${created.id}`);
    const github = await receiver(t, secret);
    await createHook(app, '/api/orgs/acme/hooks', alice.token, github, { events: ['registry_package'] });

    const pushed = await pushLabelledImage(app.berth, 'acme/tool', auth, { tag: 'v2', seed: 'two' });
    const [envelope] = await eventually(() => hook.received.filter((each) => each.event === 'package'), (list) => list.length === 1);
    assert.equal(envelope!.headers['content-type'], 'application/vnd.docker.distribution.events.v1+json');
    assert.equal(envelope!.headers['x-berth-event'], 'distribution');
    assert.equal(envelope!.signed, true);
    const [event] = envelope!.json.events;
    assert.equal(event.id, envelope!.guid);
    assert.equal(event.action, 'push');
    assert.deepEqual(event.target, {
      mediaType: pushed.mediaType,
      digest: pushed.digest,
      size: pushed.total,
      length: pushed.total,
      repository: 'acme/tool',
      url: `http://registry.test:5000/v2/acme/tool/manifests/${pushed.digest}`,
      tag: 'v2',
    });
    assert.equal(event.actor.name, 'alice');
    assert.notEqual(first.digest, pushed.digest);

    const [registryPackage] = await eventually(() => github.of('registry_package'), (list) => list.length === 1);
    assert.equal(registryPackage!.json.registry_package.package_version.name, pushed.digest);
    assert.deepEqual(registryPackage!.json.organization.login, 'acme');
  });

  it('a delivery answered 500, or not answered, is sent again with the same delivery id until it succeeds; the next event of the package waits for it', async (t) => {
    const app = await authApp(t, allowLoopback);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const hook = await receiver(t, secret);
    const created = await createHook(app, '/api/user/hooks', alice.token, hook, { events: ['package.published'] });
    await eventually(() => hook.of('ping'), (pings) => pings.length === 1);

    hook.answers.push(500);
    const first = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    const second = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v2', seed: 'two' });
    const sent = await eventually(() => hook.of('package'), (list) => list.length === 3, 20_000);
    assert.deepEqual(
      sent.map((each) => each.json.package.package_version.name),
      [first.digest, first.digest, second.digest],
      'the failed delivery is retried before the next event is sent',
    );
    assert.equal(sent[0]!.guid, sent[1]!.guid);

    await hook.stop();
    const third = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v3', seed: 'three' });
    const fourth = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v4', seed: 'four' });
    const deliveries = `/api/user/hooks/${created.id}/deliveries`;
    // Newest first: the fourth push's delivery, then the third's, the second's, the first's and the ping.
    const failing = await eventually(async () => (await api(app, 'GET', deliveries, alice.token)).json, (list) => list.length === 5 && list[1]?.attempts >= 1);
    assert.equal(failing[1].state, 'pending');
    assert.match(failing[1].status, /ECONNREFUSED/);
    assert.equal(failing[0].attempts, 0, 'the next event waits');
    await hook.start();
    const all = await eventually(() => hook.of('package'), (list) => list.length === 5, 30_000);
    assert.deepEqual(all.slice(3).map((each) => each.json.package.package_version.name), [third.digest, fourth.digest]);

    const list = (await eventually(() => api(app, 'GET', deliveries, alice.token), (answer) => answer.json.every((each: { state: string }) => each.state === 'delivered'))).json;
    const retried = list.find((each: { guid: string }) => each.guid === sent[0]!.guid);
    assert.deepEqual([retried.attempts, retried.state, retried.status_code, retried.status], [2, 'delivered', 204, 'OK']);
    const detail = await api(app, 'GET', `${deliveries}/${retried.id}`, alice.token);
    assert.equal(detail.json.request.headers['X-Hub-Signature-256'], sent[1]!.headers['x-hub-signature-256']);
    assert.equal(detail.json.request.payload.package.package_version.name, first.digest);
    assert.equal(typeof detail.json.duration, 'number');
  });

  it('POST .../deliveries/{id}/attempts redelivers the body as a new delivery', async (t) => {
    const app = await authApp(t, allowLoopback);
    const alice = await app.user('alice');
    const hook = await receiver(t, secret);
    const created = await createHook(app, '/api/user/hooks', alice.token, hook);
    await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1' });
    const [original] = await eventually(() => hook.of('package'), (list) => list.length === 1);
    const deliveries = `/api/user/hooks/${created.id}/deliveries`;
    const [newest] = (await api(app, 'GET', deliveries, alice.token)).json;
    assert.equal(newest.guid, original!.guid);
    const again = await api(app, 'POST', `${deliveries}/${newest.id}/attempts`, alice.token);
    assert.equal(again.status, 202);
    const both = await eventually(() => hook.of('package'), (list) => list.length === 2);
    assert.equal(both[1]!.body, original!.body);
    assert.notEqual(both[1]!.guid, original!.guid);
    assert.equal(both[1]!.signed, true);
    const [redelivery] = (await eventually(() => api(app, 'GET', deliveries, alice.token), (answer) => answer.json[0]?.state === 'delivered')).json;
    assert.deepEqual([redelivery.redelivery, redelivery.guid], [true, both[1]!.guid]);
  });

  it('a hook URL that resolves to a loopback, private, link-local or metadata address is refused at creation, and at delivery', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    for (const url of ['http://127.0.0.1:9/', 'http://localhost:9/', 'http://169.254.169.254/latest/meta-data/', 'http://10.1.2.3/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://100.64.0.1/', 'ftp://example.com/']) {
      const refused = await api(app, 'POST', '/api/user/hooks', alice.token, { config: { url } });
      assert.equal(refused.status, 422, url);
      assert.match(refused.json.message, /Validation Failed/);
    }

    // Allowed on the site: 127.0.0.1 only. A hook changed behind the API to another loopback
    // address is refused when its delivery is due, before any connection.
    const allowing = await authApp(t, allowLoopback);
    const bob = await allowing.user('bob');
    const allowed = await receiver(t, secret);
    const other = await receiver(t, secret, { host: '127.0.0.2' });
    const created = await createHook(allowing, '/api/user/hooks', bob.token, allowed);
    await eventually(() => allowed.of('ping'), (pings) => pings.length === 1);
    await allowing.berth.db.updateTable('hooks').set({ url: other.url }).where('id', '=', created.id).execute();
    assert.equal((await api(allowing, 'POST', `/api/user/hooks/${created.id}/pings`, bob.token)).status, 204);
    const [refused] = await eventually(async () => (await api(allowing, 'GET', `/api/user/hooks/${created.id}/deliveries`, bob.token)).json, (list) => list[0]?.attempts >= 1);
    assert.match(refused.status, /^refused: .*127\.0\.0\.2/);
    assert.equal(other.received.length, 0);
  });
});
