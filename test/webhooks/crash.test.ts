import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildImage } from '../support/oci-layout.js';
import { profileCliEnv } from '../support/profile-database.js';
import { pushImage } from '../support/registry-http.js';
import { startBerth, tempDir } from '../support/registry-process.js';
import { eventually } from '../support/eventually.js';
import { receiver } from './helpers.js';

const secret = 'crash-test-secret';

describe('webhook deliveries across a crash', () => {
  it('a Berth killed (SIGKILL) after pushes and before their deliveries sends each of them once started again, in order, each with its delivery id', { timeout: 180_000 }, async (t) => {
    const dataDir = await tempDir('webhooks');
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const berth = await startBerth({ dataDir, env: { BERTH_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32', ...(await profileCliEnv(dataDir)) } });
    t.after(() => berth.close());
    const token = berth.credentials!.password;
    const call = async (method: string, path: string, body?: object) => {
      const response = await fetch(`${berth.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: response.status, json: (await response.json()) as any };
    };

    // The receiver is down from the start: every delivery fails until Berth has been killed.
    const hook = await receiver(t, secret);
    await hook.stop();
    const created = await call('POST', '/api/user/hooks', { config: { url: hook.url, secret }, events: ['package.published'] });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const images = ['one', 'two', 'three'].map((name) => buildImage({ layers: [{ name }] }));
    for (const [index, image] of images.entries()) await pushImage(berth, 'e2e/app', image, `v${index + 1}`);
    const deliveries = `/api/user/hooks/${created.json.id}/deliveries`;
    const tried = await eventually(async () => (await call('GET', deliveries)).json as Array<{ event: string; attempts: number }>, (list) => list.some((each) => each.event === 'package' && each.attempts >= 1));
    assert.ok(tried.some((each) => each.attempts >= 1), 'Berth tried to deliver while the receiver was down');

    const pid = berth.pid();
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await eventually(() => berth.pid(), (running) => running === undefined, 10_000);
    await hook.start();
    await berth.start();

    const received = await eventually(() => hook.of('package'), (list) => list.length >= 3, 60_000);
    // Anything sent twice would come within a few retry rounds.
    await sleep(3000);
    const list = (await call('GET', deliveries)).json as Array<{ guid: string; event: string; state: string }>;
    const pushes = list.filter((each) => each.event === 'package');
    assert.equal(pushes.length, 3, 'one delivery per push, none lost');
    assert.ok(pushes.every((each) => each.state === 'delivered'));
    const guids = new Set(pushes.map((each) => each.guid));
    assert.ok(received.every((each) => guids.has(each.guid) && each.signed), 'only the stored deliveries arrive, signed');
    // At least once: a delivery the receiver got just before a crash may come again, with its id.
    const firsts = received.filter((each, index) => received.findIndex((other) => other.guid === each.guid) === index);
    assert.equal(firsts.length, 3);
    assert.deepEqual(
      firsts.map((each) => each.json.package.package_version.name),
      images.map((image) => image.manifest.descriptor.digest),
      'in the order of the pushes',
    );
    assert.equal(received.length, 3, 'and here, where the crash came before any reached the receiver, exactly once');
  });
});
