import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultExternalCheckMs } from '../db/sqlite/data-version.js';
import { type Digest, digestOf } from '../oci/digest.js';
import { mediaTypes } from '../oci/media-types.js';
import type { RepositoryName } from '../oci/names.js';
import { twoConnections } from '../../test/support/temp-database.js';
import { type NewManifest, RegistryMetadata } from './metadata.js';

const repository = 'acme/app' as RepositoryName;

function manifest(label: string): NewManifest {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, annotations: { label } }));
  return { digest: digestOf(content), mediaType: mediaTypes.ociManifest, artifactType: undefined, subject: undefined, content, annotations: {}, blobs: [], manifests: [] };
}


describe('manifest reads remembered while the data is unchanged', () => {
  it('a tag moved by this server is read anew', async (t) => {
    const [db] = await twoConnections(t);
    const metadata = new RegistryMetadata(db);
    const first = manifest('one');
    const second = manifest('two');
    await metadata.putManifest(repository, first, 'latest');
    assert.equal((await metadata.manifestByTag(repository, 'latest'))?.digest, first.digest);
    assert.equal((await metadata.manifestByTag(repository, 'latest'))?.digest, first.digest);
    await metadata.putManifest(repository, second, 'latest');
    assert.equal((await metadata.manifestByTag(repository, 'latest'))?.digest, second.digest);
  });

  it('a manifest deleted by another process (the CLI) is gone at the first read after the external check interval', async (t) => {
    const [server, cli] = await twoConnections(t);
    const metadata = new RegistryMetadata(server);
    const pushed = manifest('one');
    await metadata.putManifest(repository, pushed, 'latest');
    assert.equal((await metadata.manifestByDigest(repository, pushed.digest))?.digest, pushed.digest);
    assert.equal((await metadata.manifestByTag(repository, 'latest'))?.digest, pushed.digest);
    await cli.db.deleteFrom('manifests').where('digest', '=', pushed.digest).execute();
    // Another process's commits are looked for at most once per interval.
    await sleep(defaultExternalCheckMs + 5);
    assert.equal(await metadata.manifestByDigest(repository, pushed.digest), undefined);
    assert.equal(await metadata.manifestByTag(repository, 'latest'), undefined);
  });

  it('a miss is not remembered: a manifest pushed after a 404 is found', async (t) => {
    const [db] = await twoConnections(t);
    const metadata = new RegistryMetadata(db);
    const pushed = manifest('later');
    assert.equal(await metadata.manifestByDigest(repository, pushed.digest as Digest), undefined);
    await metadata.putManifest(repository, pushed, undefined);
    assert.equal((await metadata.manifestByDigest(repository, pushed.digest))?.digest, pushed.digest);
  });
});
