import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sha256 } from '../../test/support/digests.js';
import { tempDatabase } from '../../test/support/temp-database.js';
import { insertUser } from '../../test/support/user-rows.js';
import { RestorableBlobs } from './restorable-blobs.js';

const now = '2026-01-01T00:00:00.000Z';
const digest = (n: number) => sha256(`blob ${n}`);

it('a collection\'s restorable blobs follow versions deleted, restored and purged between its batches', async (t) => {
  const { db } = await tempDatabase(t);
  const owner = await insertUser(db, 'alice', new Date(now));
  const repository = await db.insertInto('repositories').values({ name: 'alice/app', created_at: now }).returning('id').executeTakeFirstOrThrow();
  const pkg = await db
    .insertInto('packages')
    .values({ name: 'alice/app', owner_id: owner, visibility: 'private', created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  const version = async (manifestDigest: string) =>
    (
      await db
        .insertInto('package_versions')
        .values({ package_id: pkg.id, digest: manifestDigest, media_type: 'application/vnd.oci.image.manifest.v1+json', size: 1, created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const content = (layers: string[]) => Buffer.from(JSON.stringify({ schemaVersion: 2, layers: layers.map((layer) => ({ digest: layer })) }));
  const remove = (id: number, layers: string[]) => db.updateTable('package_versions').set({ deleted_at: now, content: content(layers) }).where('id', '=', id).execute();
  const restore = (id: number) => db.updateTable('package_versions').set({ deleted_at: null, content: null }).where('id', '=', id).execute();
  const first = await version(digest(1));
  const second = await version(digest(3));
  const restorable = new RestorableBlobs();
  const of = () => db.transaction().execute((trx) => restorable.of(trx, repository.id));

  assert.deepEqual(await of(), new Set([]));
  await remove(first, [digest(2)]);
  assert.deepEqual(await of(), new Set([digest(2)]));
  await remove(second, [digest(4)]);
  assert.deepEqual(await of(), new Set([digest(2), digest(4)]), 'a version deleted after the first batch counts from the next');
  await restore(first);
  assert.deepEqual(await of(), new Set([digest(4)]), 'a restored version no longer keeps its blobs here: its manifest does');
  await db.deleteFrom('package_versions').where('id', '=', second).execute();
  assert.deepEqual(await of(), new Set([]), 'nor does a purged one');
});
