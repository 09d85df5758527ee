import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { type AuditContext, auditContextsOpen, currentAuditContext, jobAuditContext, runHandlersInAuditContext, withAuditContext } from './audit-context.js';

describe('audit context', () => {
  it('each job sees its own context across awaits, and none is open once they have settled', async () => {
    const seen = async (name: string) =>
      withAuditContext(jobAuditContext({ kind: 'system', name }), async () => {
        await tick();
        const outer = currentAuditContext()?.actor;
        const inner = await withAuditContext({ clientAddress: '192.0.2.1', requestId: `${name}-inner`, actor: undefined }, async () => {
          await tick();
          return currentAuditContext()?.requestId;
        });
        await tick();
        return [outer?.name, inner, currentAuditContext()?.actor?.name, auditContextsOpen() > 0];
      });
    assert.deepEqual(await Promise.all([seen('one'), seen('two')]), [
      ['one', 'one-inner', 'one', true],
      ['two', 'two-inner', 'two', true],
    ]);
    assert.equal(auditContextsOpen(), 0);
    assert.equal(currentAuditContext(), undefined);
    await assert.rejects(withAuditContext(jobAuditContext({ kind: 'system', name: 'failing' }), async () => Promise.reject(new Error('refused'))), /refused/);
    assert.equal(auditContextsOpen(), 0, 'a failed job closes its context');
  });

  it('handlers outside /v2 run in their request\'s context; the registry API opens none', async (t) => {
    const app = Fastify();
    t.after(() => app.close());
    app.addHook('onRoute', runHandlersInAuditContext);
    const report = async () => {
      await tick();
      const context: AuditContext | undefined = currentAuditContext();
      return { open: auditContextsOpen(), address: context?.clientAddress ?? null };
    };
    app.get('/api/thing', report);
    app.get('/v2/*', report);
    app.get('/v2', report);
    const answer = async (url: string) => (await app.inject({ method: 'GET', url, remoteAddress: '198.51.100.5' })).json();
    assert.deepEqual(await answer('/api/thing'), { open: 1, address: '198.51.100.5' });
    assert.deepEqual(await answer('/v2/acme/app/manifests/latest'), { open: 0, address: null });
    assert.deepEqual(await answer('/v2'), { open: 0, address: null });
    assert.equal(auditContextsOpen(), 0);
  });
});
