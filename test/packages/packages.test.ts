import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { authApp, basic } from '../auth/helpers.js';
import { pushIndex, pushLabelledImage } from './helpers.js';

const description = 'Ein Bild für Grüße 🚢 — 容器镜像';

describe('packages: created by the first push, one version per manifest', () => {
  it('PUT manifest creates a private package owned by the namespace, with the pusher as admin', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    await app.berth.accounts.setOrgMember('acme', 'bob', 'member');

    const own = await pushLabelledImage(app.berth, 'alice/tool', basic('alice', alice.token), { tag: 'v1' });
    const pkg = await app.berth.packages.require('alice/tool');
    assert.equal(pkg.visibility, 'private');
    assert.equal(pkg.owner.login, 'alice');
    assert.equal(pkg.name, 'tool');
    assert.equal(pkg.versionCount, 1);
    const { items } = await app.berth.packages.versions(pkg, 'active', 30, 0);
    assert.equal(items[0]?.digest, own.digest);
    assert.deepEqual(items[0]?.tags, ['v1']);
    assert.equal(items[0]?.size, own.total);

    await pushLabelledImage(app.berth, 'acme/app/release', basic('bob', bob.token), { tag: 'latest' });
    const orgPkg = await app.berth.packages.require('acme/app/release');
    assert.equal(orgPkg.name, 'app/release');
    assert.equal(orgPkg.owner.kind, 'org');
    assert.deepEqual(
      (await app.berth.packages.roles(orgPkg)).map((grant) => [grant.kind, grant.name, grant.role]),
      [['user', 'bob', 'admin']],
    );
  });

  it('an organization that keeps package creation to owners refuses members: DENIED permission_denied: write_package', async (t) => {
    const app = await authApp(t);
    await app.user('alice');
    const bob = await app.user('bob');
    const org = await app.berth.accounts.createOrg(parseAccountName('acme'), 'alice');
    await app.berth.accounts.setOrgMember('acme', 'bob', 'member');
    await app.berth.packages.setOrgSettings(org.id, { membersCanCreate: false, visibilities: ['private', 'internal', 'public'] });
    const res = await app.berth.app.inject({ method: 'POST', url: '/v2/acme/app/blobs/uploads/', headers: { authorization: basic('bob', bob.token) } });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().errors[0].code, 'DENIED');
    assert.equal(res.json().errors[0].message, 'permission_denied: write_package');
  });

  it('metadata of an image: manifest annotations first, then config labels; cut at 512 characters, not bytes', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const long = '🚢'.repeat(600);
    await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), {
      tag: 'v1',
      labels: {
        'org.opencontainers.image.description': long,
        'org.opencontainers.image.licenses': 'Apache-2.0',
        'org.opencontainers.image.source': 'https://example.com/alice/app.git',
      },
      annotations: { 'org.opencontainers.image.licenses': 'MIT', 'org.opencontainers.image.title': 'Grüße' },
    });
    const pkg = await app.berth.packages.require('alice/app');
    assert.equal(pkg.metadata.description, '🚢'.repeat(512));
    assert.equal(pkg.metadata.licenses, 'MIT', 'annotations win over labels');
    assert.equal(pkg.metadata.title, 'Grüße');
    assert.equal(pkg.metadata.source, 'https://example.com/alice/app.git');
  });

  it('metadata of a multi-arch index: index annotations first, then its platform images; platforms and sizes recorded', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const amd = await pushLabelledImage(app.berth, 'alice/multi', auth, {
      arch: 'amd64',
      labels: { 'org.opencontainers.image.licenses': 'BSD-3-Clause', 'org.opencontainers.image.description': 'from the image' },
    });
    const arm = await pushLabelledImage(app.berth, 'alice/multi', auth, { arch: 'arm64' });
    const index = await pushIndex(
      app.berth,
      'alice/multi',
      auth,
      [
        { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
        { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
      { tag: 'latest', annotations: { 'org.opencontainers.image.description': description }, attestationFor: amd },
    );
    const pkg = await app.berth.packages.require('alice/multi');
    assert.equal(pkg.metadata.description, description);
    assert.equal(pkg.metadata.licenses, 'BSD-3-Clause', 'falls back to the platform image');
    const { items, total } = await app.berth.packages.versions(pkg, 'active', 30, 0);
    assert.equal(total, 4, 'two platform images, an attestation and the index');
    const top = items.find((item) => item.digest === index.digest);
    assert.deepEqual(top?.platforms, ['linux/amd64', 'linux/arm64/v8']);
    assert.deepEqual(top?.tags, ['latest']);
    assert.equal(top?.size, index.total);
    assert.deepEqual(items.find((item) => item.digest === arm.digest)?.parents, [index.digest]);
  });

  it('GET manifest counts a download, HEAD does not; counts are written in batches', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const image = await pushLabelledImage(app.berth, 'alice/app', auth, { tag: 'v1' });
    for (const method of ['GET', 'GET', 'HEAD', 'GET'] as const) {
      const res = await app.berth.app.inject({ method, url: '/v2/alice/app/manifests/v1', headers: { authorization: auth } });
      assert.equal(res.statusCode, 200);
    }
    const before = await app.berth.packages.require('alice/app');
    assert.equal(before.downloadCount, 0, 'nothing written on the pull path');
    await app.berth.downloads.flush();
    const after = await app.berth.packages.require('alice/app');
    assert.equal(after.downloadCount, 3);
    const version = (await app.berth.packages.versions(after, 'active', 30, 0)).items[0];
    assert.equal(version?.digest, image.digest);
    assert.equal(version?.downloadCount, 3);
  });
});
