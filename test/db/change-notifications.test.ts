import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import type { DatabaseEngine } from '../../src/db/engine.js';
import { digestOf } from '../../src/oci/digest.js';
import { mediaTypes } from '../../src/oci/media-types.js';
import type { RepositoryName } from '../../src/oci/names.js';
import { type NewManifest, RegistryMetadata } from '../../src/registry/metadata.js';
import { eventually } from '../support/eventually.js';
import { postgresSuite, skipWithoutPostgres } from '../support/postgres-suite.js';

const app = 'acme/app' as RepositoryName;

function manifest(label: string): NewManifest {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, annotations: { label } }));
  return { digest: digestOf(content), mediaType: mediaTypes.ociManifest, artifactType: undefined, subject: undefined, content, annotations: { label }, blobs: [], manifests: [] };
}

/** Whether the version stays put across two calls with no change between them: caching is on. */
function caching(node: DatabaseEngine): boolean {
  return node.dataVersion.current() === node.dataVersion.current();
}

/**
 * PostgreSQL nodes keep their caches of query results while no client of the database changes
 * anything: every committed change is announced by the tables' triggers, and a node whose
 * listening connection is lost stops caching until it listens again.
 */
describe('data versions on PostgreSQL, moved by change notifications', { skip: await skipWithoutPostgres() }, () => {
  const postgres = postgresSuite();

  it('keeps the version while nothing changes, moves it at once for a write of its own, and soon for a write of another node', async (t) => {
    const { nodes } = await postgres.twoNodes(t);
    const [nodeA, nodeB] = nodes;
    assert.ok(caching(nodeA) && caching(nodeB));
    await nodeA.db.selectFrom('repositories').selectAll().execute();
    const quiet = nodeA.dataVersion.current();
    assert.equal(nodeA.dataVersion.current(), quiet, 'a read does not move it');

    const beforeB = nodeB.dataVersion.current();
    const externalA = nodeA.dataVersion.external();
    const externalB = nodeB.dataVersion.external();
    await nodeA.db.insertInto('repositories').values({ name: 'acme/one', created_at: new Date().toISOString() }).execute();
    assert.notEqual(nodeA.dataVersion.current(), quiet, 'its own write moved it before the call returned');
    assert.notEqual(await eventually(() => nodeB.dataVersion.current(), (version) => version !== beforeB), beforeB);
    assert.notEqual(nodeB.dataVersion.external(), externalB, 'a write of another node is external');

    // Notifications reach a listener in commit order: once node B's own write is heard on node A,
    // node A has heard its own, which must not count as external.
    await nodeB.db.insertInto('repositories').values({ name: 'acme/two', created_at: new Date().toISOString() }).execute();
    assert.equal(await eventually(() => nodeA.dataVersion.external(), (external) => external !== externalA), externalA + 1);
  });

  it('moves the version for a change made outside Berth, in a transaction committed by another client', async (t) => {
    const { database, nodes } = await postgres.twoNodes(t);
    const client = new pg.Client(database);
    await client.connect();
    t.after(() => client.end());
    const before = nodes[0].dataVersion.current();
    await client.query('begin');
    await client.query(`insert into repositories (name, created_at) values ('acme/psql', 'now')`);
    await client.query('commit');
    assert.notEqual(await eventually(() => nodes[0].dataVersion.current(), (version) => version !== before), before);
  });

  it('serves a tag moved on another node from its cache no longer once the change is announced', async (t) => {
    const { nodes } = await postgres.twoNodes(t);
    const [writer, reader] = nodes.map((node) => new RegistryMetadata(node));
    const [first, second] = [manifest('first'), manifest('second')];
    await writer!.putManifest(app, first, 'latest');
    assert.equal((await reader!.manifestByTag(app, 'latest'))?.digest, first.digest);
    assert.equal((await reader!.manifestByTag(app, 'latest'))?.digest, first.digest, 'the cached answer');
    await writer!.putManifest(app, second, 'latest');
    const moved = await eventually(
      () => reader!.manifestByTag(app, 'latest'),
      (found) => found?.digest === second.digest,
    );
    assert.equal(moved?.digest, second.digest);
    // The writer's own cache knew at once.
    assert.equal((await writer!.manifestByTag(app, 'latest'))?.digest, second.digest);
  });

  it('stops caching while its listening connection is lost, and caches again once it listens anew', async (t) => {
    const { database, nodes } = await postgres.twoNodes(t);
    const [node] = nodes;
    const admin = new pg.Client(database);
    await admin.connect();
    t.after(() => admin.end());
    const listeners = async () =>
      (await admin.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and query ilike 'listen %'`)).rows;
    const before = await listeners();
    assert.equal(before.length, 2, 'one listening connection per node');
    // End both nodes' listeners, as a server restart or an administrator would.
    for (const { pid } of before) await admin.query('select pg_terminate_backend($1)', [pid]);
    assert.equal(await eventually(() => caching(node), (on) => !on), false, 'caching off without a listener');
    assert.equal(await eventually(() => caching(node), (on) => on), true, 'caching on again once it listens');
    assert.equal((await eventually(listeners, (rows) => rows.length === 2)).length, 2, 'both nodes listen again');
    await sql`select 1`.execute(node.db);
    assert.ok(caching(node), 'a read does not turn it off');
  });
});
