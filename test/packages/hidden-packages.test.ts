import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { parseAccountName } from '../../src/accounts/names.js';
import { authApp, basic, jwtPayload, registryToken, sha256 } from '../auth/helpers.js';
import { pushBlob, putManifest } from './helpers.js';

/** Headers that differ between any two answers, whatever they say. */
const perResponse = new Set(['x-request-id', 'date']);

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

function answer(res: LightMyRequestResponse): Answer {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !perResponse.has(name)));
  return { status: res.statusCode, headers, body: res.rawPayload.toString('base64') };
}

describe('a private package looks exactly like a name that does not exist to whoever may not read it', () => {
  it('manifests, blobs, tags and referrers answer byte for byte as for the same name before it existed', async (t) => {
    const app = await authApp(t);
    const boss = await app.user('boss');
    const outsider = await app.user('outsider');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
    const repo = 'acme/secret';

    // The image and its referrer, built before the name exists so that the same URLs can be asked before and after.
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { secret: 'yes' } } });
    const layer = 'the layer of a private image';
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: Buffer.byteLength(config) },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: Buffer.byteLength(layer) }],
    };
    const manifestDigest = sha256(JSON.stringify(manifest));
    const empty = '{}';
    const referrer = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.sbom',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 }],
      subject: { mediaType: manifest.mediaType, digest: manifestDigest, size: Buffer.byteLength(JSON.stringify(manifest)) },
    };

    const requests: Array<{ method: 'GET' | 'HEAD' | 'POST' | 'DELETE'; url: string }> = [
      { method: 'GET', url: `/v2/${repo}/manifests/v1` },
      { method: 'HEAD', url: `/v2/${repo}/manifests/v1` },
      { method: 'GET', url: `/v2/${repo}/manifests/${manifestDigest}` },
      { method: 'HEAD', url: `/v2/${repo}/manifests/${manifestDigest}` },
      { method: 'GET', url: `/v2/${repo}/blobs/${sha256(layer)}` },
      { method: 'HEAD', url: `/v2/${repo}/blobs/${sha256(layer)}` },
      { method: 'GET', url: `/v2/${repo}/blobs/${sha256(config)}` },
      { method: 'GET', url: `/v2/${repo}/tags/list` },
      { method: 'GET', url: `/v2/${repo}/tags/list?n=1` },
      { method: 'GET', url: `/v2/${repo}/referrers/${manifestDigest}` },
      { method: 'GET', url: `/v2/${repo}/referrers/${manifestDigest}?artifactType=application%2Fvnd.example.sbom` },
      { method: 'POST', url: `/v2/${repo}/blobs/uploads/` },
      { method: 'DELETE', url: `/v2/${repo}/manifests/${manifestDigest}` },
    ];
    const tokenFor = (user: string, token: string) => registryToken(app, `repository:${repo}:pull,push,delete`, basic(user, token));
    // Not an org member: members may create packages in the org, so a free name is theirs to take
    // and its answers rightly differ from those for a package they may not touch.
    const callers = async (): Promise<Record<string, string | undefined>> => ({
      'outsider (Basic)': basic('outsider', outsider.token),
      'outsider (Bearer)': `Bearer ${await tokenFor('outsider', outsider.token)}`,
      anonymous: undefined,
    });
    const ask = async () => {
      const answers = new Map<string, Answer>();
      const grants = new Map<string, unknown>();
      for (const [who, authorization] of Object.entries(await callers())) {
        if (authorization?.startsWith('Bearer ')) grants.set(who, jwtPayload(authorization.slice(7)).access);
        for (const request of requests) {
          const res = await app.berth.app.inject({ ...request, headers: authorization ? { authorization } : {} });
          answers.set(`${who}: ${request.method} ${request.url}`, answer(res));
        }
      }
      return { answers, grants };
    };

    const unknown = await ask();
    const bossAuth = basic('boss', boss.token);
    for (const blob of [config, layer, empty]) await pushBlob(app.berth, repo, bossAuth, blob);
    await putManifest(app.berth, repo, bossAuth, 'v1', manifest);
    await putManifest(app.berth, repo, bossAuth, sha256(JSON.stringify(referrer)), referrer);
    const owner = await app.berth.app.inject({ method: 'GET', url: `/v2/${repo}/referrers/${manifestDigest}`, headers: { authorization: bossAuth } });
    assert.equal(owner.json().manifests.length, 1, 'the owner sees the referrer, so there is something to hide');
    const hidden = await ask();

    assert.deepEqual(hidden.grants, unknown.grants, 'registry tokens grant the same on both');
    assert.equal(hidden.answers.size, requests.length * 3);
    for (const [label, before] of unknown.answers) {
      assert.deepEqual(hidden.answers.get(label), before, label);
    }
  });
});
