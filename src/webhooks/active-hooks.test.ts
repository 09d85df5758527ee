import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultExternalCheckMs } from '../db/sqlite/data-version.js';
import type { Database, HookFormat } from '../db/schema.js';
import { tempDatabase, twoConnections } from '../../test/support/temp-database.js';
import { insertUser } from '../../test/support/user-rows.js';
import { ActiveHooks } from './active-hooks.js';

const at = new Date('2026-01-02T03:04:05.000Z');

/** A hook row written directly, as another writer than `HookService` would: nobody is told. */
async function insertHook(db: Database, owner: { accountId?: number; packageId?: number }, events: string[], format: HookFormat = 'github'): Promise<number> {
  const row = await db
    .insertInto('hooks')
    .values({
      account_id: owner.accountId ?? null,
      package_id: owner.packageId ?? null,
      url: 'https://hooks.example/receive',
      secret: '',
      events: JSON.stringify(events),
      format,
      insecure_ssl: 0,
      active: 1,
      created_at: at.toISOString(),
      updated_at: at.toISOString(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function insertPackage(db: Database, ownerId: number, name: string): Promise<number> {
  const row = await db
    .insertInto('packages')
    .values({ name, owner_id: ownerId, visibility: 'private', source_repository_id: null, metadata: null, created_at: at.toISOString(), updated_at: at.toISOString(), deleted_at: null, published_at: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

function ids(targets: string | undefined): number[] {
  return targets === undefined ? [] : (JSON.parse(targets) as Array<{ id: number }>).map((target) => target.id);
}

describe('ActiveHooks', () => {
  it('answers the targets of an action from what it read, until told that a hook changed', async (t) => {
    const engine = await tempDatabase(t);
    const { db } = engine;
    const owner = await insertUser(db, 'alice', at);
    const app = await insertPackage(db, owner, 'alice/app');
    const tool = await insertPackage(db, owner, 'alice/tool');
    const hooks = new ActiveHooks(engine.dataVersion);
    assert.equal(await hooks.targetsOf(db, owner, app, 'published'), undefined, 'no hook: nothing to record');

    const github = await insertHook(db, { accountId: owner }, ['registry_package']);
    assert.equal(await hooks.targetsOf(db, owner, app, 'published'), undefined, 'kept: a row nobody announced is not seen');
    hooks.changed();
    assert.deepEqual(JSON.parse((await hooks.targetsOf(db, owner, app, 'published'))!), [{ id: github, format: 'github', event: 'registry_package' }]);

    const distribution = await insertHook(db, { packageId: app }, ['package.published'], 'distribution');
    await insertHook(db, { packageId: tool }, ['package']);
    hooks.changed();
    assert.deepEqual(ids(await hooks.targetsOf(db, owner, app, 'published')), [github, distribution], 'the owner\'s and the package\'s, not another package\'s');
    assert.deepEqual(ids(await hooks.targetsOf(db, owner, app, 'updated')), [github], 'only the hooks that ask for the action');
    assert.deepEqual(ids(await hooks.targetsOf(db, owner, app, 'restored')), [github], 'Distribution\'s format has no restore');

    await db.updateTable('hooks').set({ active: 0 }).where('id', '=', github).execute();
    hooks.changed();
    assert.deepEqual(ids(await hooks.targetsOf(db, owner, app, 'published')), [distribution], 'an inactive hook is left out');
  });

  it('hears a hook changed by another connection to the database, within the interval it looks', async (t) => {
    const [server, command] = await twoConnections(t);
    const owner = await insertUser(server.db, 'alice', at);
    const app = await insertPackage(server.db, owner, 'alice/app');
    const hooks = new ActiveHooks(server.dataVersion);
    assert.equal(await hooks.targetsOf(server.db, owner, app, 'published'), undefined);

    const made = await insertHook(command.db, { accountId: owner }, ['package']);
    await sleep(defaultExternalCheckMs * 3);
    assert.deepEqual(ids(await hooks.targetsOf(server.db, owner, app, 'published')), [made]);
  });

  it('keeps at most its limit of packages, forgetting the one kept longest', async (t) => {
    const engine = await tempDatabase(t);
    const { db } = engine;
    const owner = await insertUser(db, 'alice', at);
    const packages = [await insertPackage(db, owner, 'alice/one'), await insertPackage(db, owner, 'alice/two'), await insertPackage(db, owner, 'alice/three')];
    const [one, , three] = packages as [number, number, number];
    const hooks = new ActiveHooks(engine.dataVersion, 2);
    for (const packageId of packages) assert.equal(await hooks.targetsOf(db, owner, packageId, 'published'), undefined);

    const first = await insertHook(db, { packageId: one }, ['package']);
    await insertHook(db, { packageId: three }, ['package']);
    assert.deepEqual(ids(await hooks.targetsOf(db, owner, one, 'published')), [first], 'the first package was forgotten, so read again');
    assert.equal(await hooks.targetsOf(db, owner, three, 'published'), undefined, 'the third is still kept');
  });
});
