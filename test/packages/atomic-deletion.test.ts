import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { dialectOf } from '../../src/db/dialect.js';
import type { Database } from '../../src/db/schema.js';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName } from '../../src/oci/names.js';
import { authApp, basic } from '../auth/helpers.js';
import { pushIndex, pushLabelledImage } from './helpers.js';

/** The repository every case pushes to. */
const repository = 'alice/app' as RepositoryName;

/**
 * Makes the database refuse one kind of write (`event`: `update of COLUMN on TABLE`), as a crash
 * or a full disk would, at that statement; answers how to allow it again.
 */
async function failing(db: Database, name: string, event: string): Promise<() => Promise<void>> {
  if (dialectOf(db).name === 'sqlite') {
    await sql.raw(`create trigger ${name} before ${event} begin select raise(abort, 'injected failure'); end`).execute(db);
    return async () => {
      await sql.raw(`drop trigger ${name}`).execute(db);
    };
  }
  const table = event.split(' on ')[1];
  await sql.raw(`create function ${name}() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`).execute(db);
  await sql.raw(`create trigger ${name} before ${event} for each row execute function ${name}()`).execute(db);
  return async () => {
    await sql.raw(`drop trigger ${name} on ${table}`).execute(db);
    await sql.raw(`drop function ${name}()`).execute(db);
  };
}

/**
 * A soft deletion or restore changes version rows, manifests, tags and the package row: all of
 * them commit together or none does. Each case makes the last statement of one fail and checks
 * that nothing of the earlier ones is left.
 */
describe('package deletion and restore are atomic', () => {
  it('deleting a package whose last write fails leaves every manifest, tag and version as it was', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const amd = await pushLabelledImage(app.berth, 'alice/app', auth, { seed: 'amd64' });
    const arm = await pushLabelledImage(app.berth, 'alice/app', auth, { seed: 'arm64', arch: 'arm64' });
    const index = await pushIndex(app.berth, 'alice/app', auth, [
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64' } },
    ], { tag: 'v1' });
    const pkg = await app.berth.packages.require('alice/app');

    const restoreWrites = await failing(app.berth.db, 'no_package_deletion', 'update of deleted_at on packages');
    await assert.rejects(app.berth.packages.deletePackage(pkg), /injected failure/);
    await restoreWrites();

    const pulled = await app.berth.app.inject({ method: 'GET', url: '/v2/alice/app/manifests/v1', headers: { authorization: auth } });
    assert.equal(pulled.statusCode, 200);
    assert.equal(pulled.headers['docker-content-digest'], index.digest);
    for (const child of [amd, arm]) {
      const res = await app.berth.app.inject({ method: 'HEAD', url: `/v2/alice/app/manifests/${child.digest}`, headers: { authorization: auth } });
      assert.equal(res.statusCode, 200, child.digest);
    }
    assert.equal((await app.berth.packages.versions(pkg, 'active', 30, 0)).total, 3);
    assert.equal((await app.berth.packages.versions(pkg, 'deleted', 30, 0)).total, 0);
    assert.equal((await app.berth.packages.get('alice/app'))?.id, pkg.id);
  });

  it('restoring a package whose last write fails leaves it deleted, with no manifest back', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const image = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    const pkg = await app.berth.packages.require('alice/app');
    await app.berth.packages.deletePackage(pkg);

    const restoreWrites = await failing(app.berth.db, 'no_package_restore', 'update of deleted_at on packages');
    await assert.rejects(app.berth.packages.restorePackage('alice/app'), /injected failure/);
    await restoreWrites();

    assert.equal(await app.berth.packages.get('alice/app'), undefined);
    assert.equal(await app.berth.services.metadata.manifestByDigest(repository, image.digest as Digest), undefined);
    assert.equal(await app.berth.services.metadata.manifestByTag(repository, 'v1'), undefined);
    assert.equal((await app.berth.packages.versions(pkg, 'deleted', 30, 0)).total, 1);

    await app.berth.packages.restorePackage('alice/app');
    assert.equal((await app.berth.services.metadata.manifestByTag(repository, 'v1'))?.digest, image.digest);
  });

  it('deleting or restoring a version whose version write fails leaves its manifest as it was', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const image = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    const pkg = await app.berth.packages.require('alice/app');
    const [version] = (await app.berth.packages.versions(pkg, 'active', 30, 0)).items;

    let restoreWrites = await failing(app.berth.db, 'no_version_deletion', 'update of deleted_at on package_versions');
    await assert.rejects(app.berth.packages.deleteVersion(pkg, version!.id), /injected failure/);
    const viaRegistry = await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/app/manifests/${image.digest}`, headers: { authorization: auth } });
    assert.equal(viaRegistry.statusCode, 500, viaRegistry.body);
    await restoreWrites();
    assert.equal((await app.berth.services.metadata.manifestByTag(repository, 'v1'))?.digest, image.digest);
    assert.equal((await app.berth.packages.versions(pkg, 'active', 30, 0)).total, 1);

    await app.berth.packages.deleteVersion(pkg, version!.id);
    restoreWrites = await failing(app.berth.db, 'no_version_restore', 'update of deleted_at on package_versions');
    await assert.rejects(app.berth.packages.restoreVersion(pkg, version!.id), /injected failure/);
    await restoreWrites();
    assert.equal(await app.berth.services.metadata.manifestByDigest(repository, image.digest as Digest), undefined);
    assert.equal((await app.berth.packages.versions(pkg, 'deleted', 30, 0)).total, 1);
  });

  it('a registry DELETE whose manifest deletion fails leaves its version live', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const image = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    const pkg = await app.berth.packages.require('alice/app');

    const restoreWrites = await failing(app.berth.db, 'no_manifest_deletion', 'delete on manifests');
    const res = await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/app/manifests/${image.digest}`, headers: { authorization: auth } });
    assert.equal(res.statusCode, 500, res.body);
    await restoreWrites();

    assert.equal((await app.berth.services.metadata.manifestByTag(repository, 'v1'))?.digest, image.digest);
    assert.equal((await app.berth.packages.versions(pkg, 'active', 30, 0)).total, 1);
    assert.equal((await app.berth.packages.versions(pkg, 'deleted', 30, 0)).total, 0);
  });
});
