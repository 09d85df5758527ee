import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountName } from '../../src/accounts/names.js';
import { type AuthApp, authApp, basic, jwtPayload, pushImage } from '../auth/helpers.js';

const digest = `sha256:${'0'.repeat(64)}`;

/** Every answer that could tell whether `acme/<name>` exists, as [request, status, code or message]. */
async function answers(app: AuthApp, user: { name: string; token: string } | undefined, name: string): Promise<Array<[string, number, string]>> {
  const inject = (method: 'GET' | 'HEAD' | 'POST' | 'DELETE', url: string) => {
    // The registry takes the token as a password, the API as Bearer.
    const authorization = user && (url.startsWith('/api/') ? `Bearer ${user.token}` : basic(user.name, user.token));
    return app.berth.app.inject({ method, url, headers: authorization ? { authorization } : {} });
  };
  const result: Array<[string, number, string]> = [];
  const record = async (label: string, method: 'GET' | 'HEAD' | 'POST' | 'DELETE', url: string) => {
    const res = await inject(method, url);
    const body = res.body === '' ? {} : res.json();
    result.push([label, res.statusCode, body.errors?.[0] ? `${body.errors[0].code} ${body.errors[0].message}` : (body.message ?? '')]);
  };
  await record('GET manifest', 'GET', `/v2/acme/${name}/manifests/latest`);
  await record('GET blob', 'GET', `/v2/acme/${name}/blobs/${digest}`);
  await record('GET tags', 'GET', `/v2/acme/${name}/tags/list`);
  await record('POST upload', 'POST', `/v2/acme/${name}/blobs/uploads/`);
  await record('DELETE manifest', 'DELETE', `/v2/acme/${name}/manifests/${digest}`);
  await record('GET package', 'GET', `/api/orgs/acme/packages/container/${name}`);
  const token = await inject('GET', `/token?scope=${encodeURIComponent(`repository:acme/${name}:pull,push,delete`)}`);
  result.push(['token', token.statusCode, token.statusCode === 200 ? jwtPayload(token.json().token).access[0]?.actions.join(',') ?? '' : '']);
  return result;
}

describe('what a name tells those who may not read the package', () => {
  it('an outsider gets the same answers for an existing private name and a free one; a member, who may create packages, learns from push, delete and blob GET answers that it exists', async (t) => {
    const app = await authApp(t);
    const boss = await app.user('boss');
    const mallory = await app.user('mallory');
    const eve = await app.user('eve');
    await app.berth.accounts.createOrg(parseAccountName('acme'), 'boss');
    await app.berth.accounts.setOrgMember('acme', 'mallory', 'member');
    await pushImage(app.berth, 'acme/secret', basic('boss', boss.token));

    const hidden = 'NAME_UNKNOWN repository name not known to registry';
    const refusedPush = 'DENIED permission_denied: write_package';
    const refusedDelete = 'DENIED permission_denied: delete_package';
    // The answers to anyone who may not read the package: as for a name that does not exist.
    const unreadable = [
      ['GET manifest', 404, hidden],
      ['GET blob', 404, hidden],
      ['GET tags', 404, hidden],
      ['POST upload', 403, refusedPush],
      ['DELETE manifest', 403, refusedDelete],
      ['GET package', 404, 'Package not found.'],
      ['token', 200, ''],
    ];
    const outsider = eve;
    assert.deepEqual(await answers(app, outsider, 'secret'), await answers(app, outsider, 'free'));
    assert.deepEqual(await answers(app, outsider, 'secret'), unreadable);
    const anonymous = await answers(app, undefined, 'secret');
    assert.deepEqual(anonymous, await answers(app, undefined, 'free'));

    // A member may create packages: a free name is theirs to push to, an existing one is refused,
    // as on ghcr.io. Reads still say nothing.
    const member = mallory;
    assert.deepEqual(await answers(app, member, 'secret'), unreadable);
    const free = await answers(app, member, 'free');
    assert.deepEqual(
      free.filter(([label]) => label !== 'POST upload'),
      [
        ['GET manifest', 404, hidden],
        ['GET blob', 404, 'BLOB_UNKNOWN blob unknown to registry'],
        ['GET tags', 404, hidden],
        ['DELETE manifest', 404, hidden],
        ['GET package', 404, 'Package not found.'],
        ['token', 200, 'pull,push,delete'],
      ],
    );
    assert.equal(free.find(([label]) => label === 'POST upload')?.[1], 202);
  });
});
