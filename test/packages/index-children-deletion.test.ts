import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authApp, basic } from '../auth/helpers.js';
import { pushMultiArch } from './helpers.js';

describe('a platform image of a tagged index stays, on /v2 as on the REST API', () => {
  it('DELETE /v2/<name>/manifests/<digest> of a platform image a tagged index lists answers 403 DENIED naming the index; the REST delete answers 409', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const { arm, index } = await pushMultiArch(app.berth, 'alice/multi', auth, { index: { tag: 'latest' } });

    const res = await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/multi/manifests/${arm.digest}`, headers: { authorization: auth } });
    assert.equal(res.statusCode, 403);
    assert.deepEqual(res.json(), {
      errors: [
        {
          code: 'DENIED',
          message: `manifest ${arm.digest} is part of the tagged index ${index.digest} (latest): delete that index first`,
          detail: { indexes: [index.digest] },
        },
      ],
    });
    const still = await app.berth.app.inject({ method: 'GET', url: `/v2/alice/multi/manifests/${arm.digest}`, headers: { authorization: auth } });
    assert.equal(still.statusCode, 200);

    const versions = (await app.berth.app.inject({ method: 'GET', url: '/api/user/packages/container/multi/versions', headers: { authorization: `Bearer ${alice.token}` } })).json() as Array<{ id: number; name: string }>;
    const armId = versions.find((version) => version.name === arm.digest)?.id;
    const rest = await app.berth.app.inject({ method: 'DELETE', url: `/api/user/packages/container/multi/versions/${armId}`, headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(rest.statusCode, 409);
    assert.equal(rest.json().message, `version ${armId} (${arm.digest}) is part of the tagged index ${index.digest} (latest): delete that index first, or pass force=true to break it`);

    // Without its tag the index no longer holds its platform images.
    assert.equal((await app.berth.app.inject({ method: 'DELETE', url: '/v2/alice/multi/manifests/latest', headers: { authorization: auth } })).statusCode, 202);
    assert.equal((await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/multi/manifests/${arm.digest}`, headers: { authorization: auth } })).statusCode, 202);
  });

  it('DELETE /v2/<name>/manifests/<digest> of a platform image of an untagged index, and of a tagged index itself, answers 202', async (t) => {
    const app = await authApp(t);
    const alice = await app.user('alice');
    const auth = basic('alice', alice.token);
    const untagged = await pushMultiArch(app.berth, 'alice/loose', auth);
    assert.equal((await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/loose/manifests/${untagged.amd.digest}`, headers: { authorization: auth } })).statusCode, 202);
    const tagged = await pushMultiArch(app.berth, 'alice/whole', auth, { index: { tag: 'v1' } });
    assert.equal((await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/whole/manifests/${tagged.index.digest}`, headers: { authorization: auth } })).statusCode, 202);
    assert.equal((await app.berth.app.inject({ method: 'DELETE', url: `/v2/alice/whole/manifests/${tagged.arm.digest}`, headers: { authorization: auth } })).statusCode, 202, 'once the index is gone');
  });
});
