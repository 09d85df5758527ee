import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { RequestsInFlight } from './requests-in-flight.js';

describe('RequestsInFlight', () => {
  it('answers when the node was last idle: now while idle, the end of the last idle span while serving', async () => {
    const inFlight = new RequestsInFlight(500);
    const app = Fastify();
    inFlight.track(app);
    let answer: (() => void) | undefined;
    app.get('/slow', () => new Promise<string>((resolve) => (answer = () => resolve('done'))));
    const idle = () => {
      const now = performance.now();
      return inFlight.lastIdleAt(now) === now;
    };
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      assert.ok(idle(), 'idle before any request');
      const beforeRequest = performance.now();
      const response = fetch(`${url}/slow`);
      for (let i = 0; i < 500 && !answer; i += 1) await sleep(2);
      assert.ok(answer, 'the request reached its handler');
      assert.ok(!idle(), 'busy while serving');
      const busyAt = inFlight.lastIdleAt();
      assert.ok(busyAt >= beforeRequest && busyAt < performance.now(), 'serving: idle until the request started');
      await sleep(30);
      assert.equal(inFlight.lastIdleAt(), busyAt, 'still the same burst while the request runs');
      answer();
      assert.equal(await (await response).text(), 'done');
      assert.equal(inFlight.lastIdleAt(), busyAt, 'a lull shorter than quietAfterMs is still the burst');
      await sleep(550);
      assert.ok(idle(), 'idle again once nothing was served for quietAfterMs');
    } finally {
      await app.close();
    }
  });
});
