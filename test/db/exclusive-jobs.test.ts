import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import type { DatabaseEngine } from '../../src/db/engine.js';
import { postgresSuite, skipWithoutPostgres } from '../support/postgres-suite.js';

describe('jobs that run on one node at a time (PostgreSQL advisory locks)', { skip: await skipWithoutPostgres() }, () => {
  const postgres = postgresSuite();

  /** Starts the job `sweep` on a node and answers once it runs; it ends when released. */
  async function runningJob(node: DatabaseEngine, name = 'sweep'): Promise<{ done: Promise<string | undefined>; release: () => void }> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const done = node.exclusively(name, async () => {
      started();
      await held;
      return 'a';
    });
    await running;
    return { done, release };
  }

  it('a second node skips a job another node is running, runs it once that one is done, and runs other jobs meanwhile', async (t) => {
    const { nodes: [nodeA, nodeB] } = await postgres.twoNodes(t);
    const job = await runningJob(nodeA);
    assert.equal(await nodeB.exclusively('sweep', async () => 'b'), undefined, 'skipped while node A runs it');
    assert.equal(await nodeB.exclusively('another job', async () => 'b'), 'b');
    job.release();
    assert.equal(await job.done, 'a');
    assert.equal(await nodeB.exclusively('sweep', async () => 'b'), 'b', 'runs once node A is done');
  });

  it('a node whose connection dies lets go of the job, though its job had not finished', async (t) => {
    const { nodes: [nodeA, nodeB] } = await postgres.twoNodes(t);
    const job = await runningJob(nodeA);
    assert.equal(await nodeB.exclusively('sweep', async () => 'b'), undefined);
    // The connection holding the lock ends, as a killed node's does (waiting until it has).
    await sql`select pg_terminate_backend(pid, 5000) from pg_locks where locktype = 'advisory' and granted`.execute(nodeB.db);
    assert.equal(await nodeB.exclusively('sweep', async () => 'b'), 'b');
    job.release();
    assert.equal(await job.done, 'a', 'the run that lost its lock still ends');
    assert.equal(await nodeA.exclusively('sweep', async () => 'a again'), 'a again', 'node A connects again for its next run');
  });

  it('a node runs a name once at a time itself, and a run of any length keeps no pooled connection', { timeout: 60_000 }, async (t) => {
    const { nodes: [nodeA] } = await postgres.twoNodes(t);
    const jobs = await Promise.all(Array.from({ length: 12 }, (_, index) => runningJob(nodeA, `upload ${index}`)));
    assert.equal(await nodeA.exclusively('upload 0', async () => 'again'), undefined, 'a second run of the same name on the same node');
    // More runs hold their locks than the pool has connections (10), and queries still get one.
    assert.equal((await sql<{ n: number }>`select 1 as n`.execute(nodeA.db)).rows[0]?.n, 1);
    for (const job of jobs) job.release();
    assert.deepEqual(await Promise.all(jobs.map((job) => job.done)), jobs.map(() => 'a'));
  });
});
