import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdleGate } from './idle-gate.js';

/** A gate over a node the test makes busy or idle, and a clock the test moves. */
function gate(maxWaitMs: number) {
  const state = { busy: false, now: 0, idleEndedAt: Number.NEGATIVE_INFINITY };
  const activity = { lastIdleAt: () => (state.busy ? state.idleEndedAt : state.now) };
  return { state, gate: new IdleGate(activity, maxWaitMs, () => state.now, 1) };
}

/** Whether `promise` has settled after the gate had a few polls. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await sleep(20);
  return done;
}

describe('IdleGate', () => {
  it('lets work pass at once while the node is idle', async () => {
    const { gate: idle } = gate(1000);
    assert.equal(await settled(idle.pass()), true);
  });

  it('holds work while the node is busy, and lets it pass once the node is idle', async () => {
    const { state, gate: held } = gate(1000);
    state.busy = true;
    const passing = held.pass();
    assert.equal(await settled(passing), false);
    state.busy = false;
    assert.equal(await settled(passing), true);
  });

  it('lets work pass after it was held back for maxWaitMs in a row, and everything after until the node is next idle', async () => {
    const { state, gate: held } = gate(1000);
    state.busy = true;
    const first = held.pass();
    state.now = 999;
    assert.equal(await settled(first), false);
    state.now = 1000;
    assert.equal(await settled(first), true);
    assert.equal(await settled(held.pass()), true, 'still busy, but the wait is over');
    state.busy = false;
    await held.pass();
    state.busy = true;
    const next = held.pass();
    assert.equal(await settled(next), false, 'after an idle moment the next burst holds work again');
    state.busy = false;
    await next;
  });

  it('holds work again in a burst that follows an idle moment no work was waiting in', async () => {
    const { state, gate: held } = gate(1000);
    state.busy = true;
    const first = held.pass();
    state.now = 1000;
    await first;
    // The node was idle from 1500 to 1600, while no work asked to pass.
    state.now = 1700;
    state.idleEndedAt = 1600;
    const next = held.pass();
    assert.equal(await settled(next), false, 'a new burst: the earlier wait is over');
    state.now = 2699;
    assert.equal(await settled(next), false);
    state.now = 2700;
    assert.equal(await settled(next), true, 'held for maxWaitMs from when this burst first held it');
  });

  it('lets work pass at once when it is released (stopping)', async () => {
    const { state, gate: held } = gate(1000);
    state.busy = true;
    let released = false;
    const passing = held.pass(() => released);
    assert.equal(await settled(passing), false);
    released = true;
    assert.equal(await settled(passing), true);
  });
});
