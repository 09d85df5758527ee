import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openPostgres } from '../../src/db/postgres/engine.js';
import { type PostgresHandle, newDatabase, postgresInstalled, startPostgres } from '../support/postgres-process.js';
import { requiredTools } from '../support/required-tools.js';

describe('jobs that run on one node at a time (PostgreSQL advisory locks)', { skip: requiredTools((await postgresInstalled()) ? [] : ['postgresql']) }, () => {
  let server: PostgresHandle;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.close();
  });

  it('a second node skips a job another node is running, runs it once that one is done, and runs other jobs meanwhile', async (t) => {
    const database = await newDatabase(server);
    const [nodeA, nodeB] = await Promise.all([openPostgres(database), openPostgres(database)]);
    t.after(() => Promise.all([nodeA.close(), nodeB.close()]));
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const first = nodeA.exclusively('sweep', async () => {
      started();
      await held;
      return 'a';
    });
    await running;
    assert.equal(await nodeB.exclusively('sweep', async () => 'b'), undefined, 'skipped while node A runs it');
    assert.equal(await nodeB.exclusively('another job', async () => 'b'), 'b');
    release();
    assert.equal(await first, 'a');
    assert.equal(await nodeB.exclusively('sweep', async () => 'b'), 'b', 'runs once node A is done');
  });

  it('a node whose connection dies lets go of the job, though its job had not finished', async (t) => {
    const database = await newDatabase(server);
    const [nodeA, nodeB] = await Promise.all([openPostgres(database), openPostgres(database)]);
    t.after(() => Promise.all([nodeA.close(), nodeB.close()]));
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const cutOff = nodeA.exclusively('sweep', async () => {
      started();
      await held;
    });
    await running;
    assert.equal(await nodeB.exclusively('sweep', async () => 'b'), undefined);
    // The connection holding the lock ends, as a killed node's does (waiting until it has).
    await sql`select pg_terminate_backend(pid, 5000) from pg_locks where locktype = 'advisory' and granted`.execute(nodeB.db);
    assert.equal(await nodeB.exclusively('sweep', async () => 'b'), 'b');
    release();
    await assert.rejects(cutOff, 'node A learns at its commit that its connection was ended');
  });
});
