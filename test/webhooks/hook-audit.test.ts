import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authApp } from '../auth/helpers.js';
import { apiRequest } from '../support/api-request.js';
import { receiver } from './helpers.js';

const secret = 'a receiver secret that must stay out of the log';

/** A hook's creation, change and deletion are in the audit log, with who did it, and no secret. */
describe('webhooks in the audit log', () => {
  it('records hook.create, hook.update and hook.delete by the user, naming the URL without its query', async (t) => {
    const app = await authApp(t, { webhookAllowedNetworks: '127.0.0.1/32' });
    const alice = await app.user('alice');
    const hook = await receiver(t, secret);
    const call = (method: 'POST' | 'PATCH' | 'DELETE', url: string, body?: object) => apiRequest(app, method, url, alice.token, body);
    const created = await call('POST', '/api/user/hooks', { config: { url: `${hook.url}?token=receiver-token`, content_type: 'json', secret }, events: ['package'] });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id as number;
    assert.equal((await call('PATCH', `/api/user/hooks/${id}`, { active: false, config: { secret: `${secret} 2` } })).statusCode, 200);
    assert.equal((await call('DELETE', `/api/user/hooks/${id}`)).statusCode, 204);

    const entries = await app.berth.db.selectFrom('audit_log').selectAll().where('action', 'like', 'hook.%').orderBy('id').execute();
    assert.deepEqual(
      entries.map((entry) => [entry.action, entry.actor_name, entry.owner_name, entry.target]),
      [
        ['hook.create', 'alice', 'alice', `hook ${id}`],
        ['hook.update', 'alice', 'alice', `hook ${id}`],
        ['hook.delete', 'alice', 'alice', `hook ${id}`],
      ],
    );
    assert.equal(JSON.parse(entries[0]!.details!).url, new URL(hook.url).origin + new URL(hook.url).pathname);
    assert.deepEqual(JSON.parse(entries[1]!.details!).changed.sort(), ['active', 'secret']);
    const everything = JSON.stringify(await app.berth.db.selectFrom('audit_log').selectAll().execute());
    for (const hidden of [secret, 'receiver-token', alice.token]) assert.equal(everything.includes(hidden), false, `${hidden} is not in the audit log`);
  });
});
