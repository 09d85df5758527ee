import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { authApp, basic, jwtPayload, pushImage, registryToken, sha256 } from './helpers.js';

const all = ['read:packages', 'write:packages', 'delete:packages'];
const scopeSets: Record<string, string[]> = {
  read: ['read:packages'],
  write: ['write:packages'],
  delete: ['delete:packages'],
  all,
};
/** What a PAT with these scopes grants where the user has rights (write includes read). */
const grantedByScopes: Record<string, string[]> = {
  read: ['pull'],
  write: ['pull', 'push'],
  delete: ['delete'],
  all: ['pull', 'push', 'delete'],
};
const memberships = [
  { who: 'own namespace', user: 'alice', repo: 'alice/app', hasRights: true },
  { who: 'org member', user: 'bob', repo: 'acme/app', hasRights: true },
  { who: 'outsider', user: 'carol', repo: 'acme/app', hasRights: false },
  { who: 'anonymous', user: undefined, repo: 'acme/app', hasRights: false },
] as const;

/** Alice, Bob (member of acme), Carol (outsider), with images in alice/app and acme/app. */
async function world(t: Parameters<typeof authApp>[0]) {
  const app = await authApp(t);
  const alice = await app.user('alice', all);
  const bob = await app.user('bob', all);
  const carol = await app.user('carol', all);
  const root = await app.berth.accounts.find('root');
  await app.berth.accounts.createOrg(parseAccountName('acme'), 'root');
  await app.berth.accounts.setOrgMember('acme', 'bob', 'member');
  assert.ok(root);
  const aliceImage = await pushImage(app.berth, 'alice/app', basic('alice', alice.token));
  const acmeImage = await pushImage(app.berth, 'acme/app', basic('bob', bob.token), 'acme secret layer');
  await pushImage(app.berth, 'carol/app', basic('carol', carol.token));
  return { app, alice, bob, carol, aliceImage, acmeImage };
}

describe('authorization: PAT scope x membership x action', () => {
  it('grants the intersection of scopes and rights, via /token and via Basic on /v2', async (t) => {
    const { app, acmeImage, aliceImage } = await world(t);
    for (const membership of memberships) {
      for (const [scopeName, scopes] of Object.entries(scopeSets)) {
        const label = `${membership.who} with ${scopeName} on ${membership.repo}`;
        const credentials = membership.user === undefined ? undefined : await app.user(membership.user, scopes);
        const authorization = credentials && basic(credentials.name, credentials.token);
        const expected = membership.hasRights ? grantedByScopes[scopeName]! : [];

        const tokenRes = await app.berth.app.inject({
          method: 'GET',
          url: `/token?service=registry.test:5000&scope=repository:${membership.repo}:pull,push,delete`,
          headers: authorization ? { authorization } : {},
        });
        assert.equal(tokenRes.statusCode, 200, label);
        assert.deepEqual(jwtPayload(tokenRes.json().token).access[0]?.actions, expected, `${label}: token actions`);

        const manifest = membership.repo === 'alice/app' ? aliceImage.manifestDigest : acmeImage.manifestDigest;
        const denied = authorization ? 403 : 401;
        const pull = await app.berth.app.inject({
          method: 'HEAD',
          url: `/v2/${membership.repo}/manifests/${manifest}`,
          headers: authorization ? { authorization } : {},
        });
        // Nobody learns that a package they cannot read exists: 404 as for an unknown name.
        const refusedPull = !authorization ? 401 : membership.hasRights ? 403 : 404;
        assert.equal(pull.statusCode, expected.includes('pull') ? 200 : refusedPull, `${label}: pull`);
        const push = await app.berth.app.inject({
          method: 'POST',
          url: `/v2/${membership.repo}/blobs/uploads/`,
          headers: authorization ? { authorization } : {},
        });
        assert.equal(push.statusCode, expected.includes('push') ? 202 : denied, `${label}: push`);
        // Deleting an unknown digest: 404 when allowed, so the images stay for the next rows.
        const del = await app.berth.app.inject({
          method: 'DELETE',
          url: `/v2/${membership.repo}/manifests/${sha256('nothing')}`,
          headers: authorization ? { authorization } : {},
        });
        assert.equal(del.statusCode, expected.includes('delete') ? 404 : denied, `${label}: delete`);
        if (!expected.includes('delete')) {
          assert.equal(del.json().errors[0].code, authorization ? 'DENIED' : 'UNAUTHORIZED', `${label}: delete code`);
        }
      }
    }
  });

  it('a bearer token without the action answers 401 with error="insufficient_scope"', async (t) => {
    const { app } = await world(t);
    const reader = await app.user('alice', ['read:packages']);
    const token = await registryToken(app, 'repository:alice/app:pull,push', basic('alice', reader.token));
    const res = await app.berth.app.inject({
      method: 'POST',
      url: '/v2/alice/app/blobs/uploads/',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().errors[0].code, 'UNAUTHORIZED');
    assert.equal(
      res.headers['www-authenticate'],
      'Bearer realm="http://registry.test:5000/token",service="registry.test:5000",scope="repository:alice/app:push",error="insufficient_scope"',
    );
  });

  it('POST mount from a repository the caller cannot read falls back to 202 and does not leak the blob', async (t) => {
    const { app, carol, bob, acmeImage } = await world(t);
    const url = `/v2/carol/app/blobs/uploads/?mount=${acmeImage.layerDigest}&from=acme/app`;
    const res = await app.berth.app.inject({ method: 'POST', url, headers: { authorization: basic('carol', carol.token) } });
    assert.equal(res.statusCode, 202);
    const probe = await app.berth.app.inject({
      method: 'HEAD',
      url: `/v2/carol/app/blobs/${acmeImage.layerDigest}`,
      headers: { authorization: basic('carol', carol.token) },
    });
    assert.equal(probe.statusCode, 404);
    // The same with a registry token that asked for pull on the source.
    const tokenRes = await app.berth.app.inject({
      method: 'GET',
      url: `/token?scope=${encodeURIComponent('repository:carol/app:pull,push repository:acme/app:pull')}`,
      headers: { authorization: basic('carol', carol.token) },
    });
    const viaToken = await app.berth.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${tokenRes.json().token}` } });
    assert.equal(viaToken.statusCode, 202);
    // A member may mount from the organization's repository into their own.
    const mounted = await app.berth.app.inject({
      method: 'POST',
      url: `/v2/bob/app/blobs/uploads/?mount=${acmeImage.layerDigest}&from=acme/app`,
      headers: { authorization: basic('bob', bob.token) },
    });
    assert.equal(mounted.statusCode, 201);
  });

  it('GET /v2/_catalog lists only repositories the caller can pull', async (t) => {
    const { app, alice, bob, carol } = await world(t);
    const list = async (authorization: string) =>
      (await app.berth.app.inject({ method: 'GET', url: '/v2/_catalog', headers: { authorization } })).json().repositories;
    assert.deepEqual(await list(basic('alice', alice.token)), ['alice/app']);
    assert.deepEqual(await list(basic('bob', bob.token)), ['acme/app']);
    assert.deepEqual(await list(basic('carol', carol.token)), ['carol/app']);
    const noRead = await app.user('bob', ['delete:packages']);
    assert.deepEqual(await list(basic('bob', noRead.token)), []);
    // Paging still fills pages from the repositories the caller may see.
    const page = await app.berth.app.inject({ method: 'GET', url: '/v2/_catalog?n=1', headers: { authorization: basic('carol', carol.token) } });
    assert.deepEqual(page.json().repositories, ['carol/app']);

    const anonymous = await app.berth.app.inject({ method: 'GET', url: '/v2/_catalog' });
    assert.equal(anonymous.statusCode, 401);
    assert.match(anonymous.headers['www-authenticate'] as string, /scope="registry:catalog:\*"/);
    const token = async (scope: string) =>
      (
        await app.berth.app.inject({
          method: 'GET',
          url: `/token?scope=${encodeURIComponent(scope)}`,
          headers: { authorization: basic('bob', bob.token) },
        })
      ).json().token as string;
    const withoutCatalog = await app.berth.app.inject({
      method: 'GET',
      url: '/v2/_catalog',
      headers: { authorization: `Bearer ${await token('repository:acme/app:pull')}` },
    });
    assert.equal(withoutCatalog.statusCode, 401);
    assert.match(withoutCatalog.headers['www-authenticate'] as string, /error="insufficient_scope"/);
    assert.deepEqual(await list(`Bearer ${await token('registry:catalog:*')}`), ['acme/app']);
  });
});
