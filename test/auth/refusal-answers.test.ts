import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { parseTokenScopes } from '../../src/auth/scopes.js';
import { adminPassword, authApp, basic, publicUrl, registryToken } from './helpers.js';
import { pushLabelledImage } from '../packages/helpers.js';

const realm = `Bearer realm="${publicUrl}/token",service="registry.test:5000"`;

/** The whole answer a refusal gives: status, challenge and body, so that a changed word shows. */
function assertAnswer(res: LightMyRequestResponse, status: number, challenge: string | undefined, body: object): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['www-authenticate'], challenge);
  assert.deepEqual(JSON.parse(res.body), body);
}

/** Each way `/v2` refuses a caller, answered in full by one instance. */
describe('the answers of /v2 refusals', () => {
  it('answers each kind of caller that may not, with its own status, challenge and message', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const bob = await app.user('bob');
    const reader = await app.berth.accessTokens.create(alice.id, parseTokenScopes(['read:packages']));
    await pushLabelledImage(app.berth, 'alice/app', basic('alice', alice.token), { tag: 'v1' });
    await pushLabelledImage(app.berth, 'bob/secret', basic('bob', bob.token), { tag: 'v1' });
    const v2 = (method: 'GET' | 'POST', url: string, authorization?: string) =>
      app.berth.app.inject({ method, url, headers: { ...(authorization !== undefined ? { authorization } : {}), ...(method === 'POST' ? { 'content-length': '0' } : {}) } });
    const tokenFor = async (scope: string, authorization?: string): Promise<string> => `Bearer ${await registryToken(app, scope, authorization)}`;

    await t.test('no credentials: 401, the challenge names the scope', async () => {
      assertAnswer(await v2('GET', '/v2/alice/app/tags/list'), 401, `${realm},scope="repository:alice/app:pull"`, {
        errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }],
      });
    });

    await t.test('an empty Authorization header is no credential: 401 as without one', async () => {
      assertAnswer(await v2('GET', '/v2/alice/app/tags/list', ''), 401, `${realm},scope="repository:alice/app:pull"`, {
        errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }],
      });
    });

    await t.test('the administrator\'s password instead of a personal access token: 401, as on ghcr.io', async () => {
      assertAnswer(await v2('GET', '/v2/alice/app/tags/list', basic('root', adminPassword)), 401, `${realm},scope="repository:alice/app:pull"`, {
        errors: [{ code: 'UNAUTHORIZED', message: 'invalid user name or token' }],
      });
    });

    await t.test('a scheme Berth does not take: 401', async () => {
      assertAnswer(await v2('GET', '/v2/alice/app/tags/list', 'Digest username="alice"'), 401, `${realm},scope="repository:alice/app:pull"`, {
        errors: [{ code: 'UNAUTHORIZED', message: 'unsupported authorization scheme' }],
      });
    });

    await t.test('a wrong personal access token: 401', async () => {
      assertAnswer(await v2('GET', '/v2/alice/app/tags/list', basic('alice', 'berth_pat_wrong')), 401, `${realm},scope="repository:alice/app:pull"`, {
        errors: [{ code: 'UNAUTHORIZED', message: 'invalid user name or token' }],
      });
    });

    await t.test('a registry token for pull, used to push: 401 insufficient_scope, so the client asks again', async () => {
      const pullOnly = await tokenFor('repository:alice/app:pull', basic('alice', alice.token));
      assertAnswer(await v2('POST', '/v2/alice/app/blobs/uploads/', pullOnly), 401, `${realm},scope="repository:alice/app:push",error="insufficient_scope"`, {
        errors: [{ code: 'UNAUTHORIZED', message: 'the token does not grant the requested access' }],
      });
    });

    await t.test('a registry token of a personal access token without write:packages: 401 insufficient_scope', async () => {
      const readOnly = await tokenFor('repository:alice/app:pull,push', basic('alice', reader.token));
      assertAnswer(await v2('POST', '/v2/alice/app/blobs/uploads/', readOnly), 401, `${realm},scope="repository:alice/app:push",error="insufficient_scope"`, {
        errors: [{ code: 'UNAUTHORIZED', message: 'the token does not grant the requested access' }],
      });
    });

    await t.test('an anonymous registry token, used to push: 401 insufficient_scope, asking to sign in', async () => {
      const anonymous = await tokenFor('repository:alice/app:pull,push');
      assertAnswer(await v2('POST', '/v2/alice/app/blobs/uploads/', anonymous), 401, `${realm},scope="repository:alice/app:push",error="insufficient_scope"`, {
        errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }],
      });
    });

    await t.test('a registry token for a repository, used on the catalog: 401 insufficient_scope', async () => {
      const repositoryOnly = await tokenFor('repository:alice/app:pull', basic('alice', alice.token));
      assertAnswer(await v2('GET', '/v2/_catalog', repositoryOnly), 401, `${realm},scope="registry:catalog:*",error="insufficient_scope"`, {
        errors: [{ code: 'UNAUTHORIZED', message: 'the token does not grant the requested access' }],
      });
      const catalog = await tokenFor('registry:catalog:*', basic('alice', alice.token));
      const listed = await v2('GET', '/v2/_catalog', catalog);
      assert.equal(listed.statusCode, 200, listed.body);
      assert.deepEqual(listed.json(), { repositories: ['alice/app'] });
    });

    await t.test('basic credentials without write:packages, pushing to their own package: 403 with the scope it lacks', async () => {
      assertAnswer(await v2('POST', '/v2/alice/app/blobs/uploads/', basic('alice', reader.token)), 403, undefined, {
        errors: [
          {
            code: 'DENIED',
            message: 'permission_denied: the token lacks the write:packages scope',
            detail: { type: 'repository', name: 'alice/app', actions: ['push'] },
          },
        ],
      });
    });

    await t.test('basic credentials on another user\'s private package: a pull finds no name, a push is denied', async () => {
      assertAnswer(await v2('GET', '/v2/bob/secret/tags/list', basic('alice', alice.token)), 404, undefined, {
        errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry', detail: { name: 'bob/secret' } }],
      });
      assertAnswer(await v2('POST', '/v2/bob/secret/blobs/uploads/', basic('alice', alice.token)), 403, undefined, {
        errors: [{ code: 'DENIED', message: 'permission_denied: write_package', detail: { type: 'repository', name: 'bob/secret', actions: ['push'] } }],
      });
    });
  });
});
