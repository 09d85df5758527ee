import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { tempDatabase } from '../../test/support/temp-database.js';
import { digestOf } from '../oci/digest.js';
import { mediaTypes } from '../oci/media-types.js';
import type { RepositoryName } from '../oci/names.js';
import { parseManifest } from '../oci/manifest.js';
import { FsBlobStore } from '../storage/fs/fs-blob-store.js';
import { newManifest } from './metadata.js';
import type { ManifestEvents, ChangeRecord } from './manifest-events.js';
import { type RegistryServices, createRegistryServices } from './services.js';

const repository = 'acme/app' as RepositoryName;
const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [] }));
const indexDigest = digestOf(index);

async function registry(t: TestContext): Promise<RegistryServices> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'berth-events-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const store = new FsBlobStore(root);
  await store.init();
  return createRegistryServices(await tempDatabase(t), store, { maxBlobBytes: 1 << 20, expiryMs: 86_400_000 });
}

/** A listener that records what it was told in `log`, and can fail at one step. */
function listener(name: string, log: string[], services: RegistryServices, failAt?: 'write' | 'after'): ManifestEvents {
  return {
    async pushing(event): Promise<ChangeRecord> {
      log.push(`${name} pushing ${event.tag}`);
      return {
        async write(trx) {
          // Inside the manifest's transaction, the manifest row is already there.
          const row = await trx.selectFrom('manifests').select('digest').where('digest', '=', event.digest).executeTakeFirst();
          log.push(`${name} write sees manifest: ${row !== undefined}`);
          if (failAt === 'write') throw new Error(`${name} write failed`);
        },
        async after() {
          const stored = await services.metadata.manifestByDigest(repository, event.digest);
          log.push(`${name} after sees manifest: ${stored !== undefined}`);
          if (failAt === 'after') throw new Error(`${name} after failed`);
        },
      };
    },
    async deleting(name_, digest) {
      log.push(`${name} deleting ${name_} ${digest === indexDigest}`);
      return {
        async write(trx) {
          // Inside the deletion's transaction, the manifest row is already gone.
          const row = await trx.selectFrom('manifests').select('digest').where('digest', '=', digest).executeTakeFirst();
          log.push(`${name} delete write sees manifest: ${row !== undefined}`);
          if (failAt === 'write') throw new Error(`${name} delete write failed`);
        },
        async after() {
          log.push(`${name} delete after`);
        },
      };
    },
    async tagDeleting(name_, tag) {
      log.push(`${name} tag deleting ${name_} ${tag}`);
    },
    downloaded(name_, digest) {
      log.push(`${name} downloaded ${name_} ${digest === indexDigest}`);
    },
  };
}

/** A registry with listeners subscribed in the order given, each named and failing at its step, if any, and their shared log. */
async function listening(t: TestContext, ...listeners: Array<[name: string, failAt?: 'write' | 'after']>): Promise<{ services: RegistryServices; log: string[] }> {
  const services = await registry(t);
  const log: string[] = [];
  for (const [name, failAt] of listeners) services.events.subscribe(listener(name, log, services, failAt));
  return { services, log };
}

describe('ManifestListeners', () => {
  it('hands a push to every listener in order: each write in the manifest\'s transaction, each after once committed', async (t) => {
    const { services, log } = await listening(t, ['first'], ['second']);

    await services.manifests.push(repository, 'v1', index, mediaTypes.ociIndex);
    assert.deepEqual(log, [
      'first pushing v1',
      'second pushing v1',
      'first write sees manifest: true',
      'second write sees manifest: true',
      'first after sees manifest: true',
      'second after sees manifest: true',
    ]);
  });

  it('stores nothing when a listener\'s write fails', async (t) => {
    const { services, log } = await listening(t, ['first'], ['second', 'write']);

    await assert.rejects(services.manifests.push(repository, 'v1', index, mediaTypes.ociIndex), /second write failed/);
    assert.equal(await services.metadata.manifestByDigest(repository, indexDigest), undefined);
    assert.equal(await services.metadata.manifestByTag(repository, 'v1'), undefined);
    assert.ok(!log.some((line) => line.includes('after')), 'no after runs for a push that did not commit');
  });

  it('runs every after even when an earlier one fails, then reports the failure', async (t) => {
    const { services, log } = await listening(t, ['first', 'after'], ['second']);

    await assert.rejects(services.manifests.push(repository, 'v1', index, mediaTypes.ociIndex), /first after failed/);
    assert.ok(log.includes('second after sees manifest: true'));
    assert.notEqual(await services.metadata.manifestByTag(repository, 'v1'), undefined, 'the push itself committed');
  });

  it('tells every listener of deletions and downloads', async (t) => {
    const { services, log } = await listening(t, ['first'], ['second']);
    await services.manifests.push(repository, indexDigest, index, mediaTypes.ociIndex);
    log.length = 0;

    services.manifests.downloaded(repository, indexDigest);
    await services.manifests.delete(repository, indexDigest);
    assert.deepEqual(log, [
      `first downloaded ${repository} true`,
      `second downloaded ${repository} true`,
      `first deleting ${repository} true`,
      `second deleting ${repository} true`,
      'first delete write sees manifest: false',
      'second delete write sees manifest: false',
      'first delete after',
      'second delete after',
    ]);
  });

  it('keeps the manifest when a listener\'s write for its deletion fails', async (t) => {
    const { services, log } = await listening(t, ['first', 'write']);
    await services.metadata.putManifest(repository, newManifest(indexDigest, index, parseManifest(index, mediaTypes.ociIndex)), 'v1');

    await assert.rejects(services.manifests.delete(repository, indexDigest), /first delete write failed/);
    assert.equal((await services.metadata.manifestByTag(repository, 'v1'))?.digest, indexDigest);
    assert.ok(!log.includes('first delete after'));
  });

  it('stores a push with no listener at all', async (t) => {
    const services = await registry(t);
    await services.manifests.push(repository, 'v1', index, mediaTypes.ociIndex);
    assert.equal((await services.metadata.manifestByTag(repository, 'v1'))?.digest, indexDigest);
  });
});
