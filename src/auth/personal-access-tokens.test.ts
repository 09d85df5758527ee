import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { alteredSecret } from '../../test/support/altered-secret.js';
import { tempDatabase } from '../../test/support/temp-database.js';
import { insertUser } from '../../test/support/user-rows.js';
import type { Database } from '../db/schema.js';
import { PersonalAccessTokenService } from './personal-access-tokens.js';

const t0 = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

async function setUp(t: TestContext): Promise<{ db: Database; tokens: PersonalAccessTokenService; userId: number }> {
  const { db } = await tempDatabase(t);
  return { db, tokens: new PersonalAccessTokenService(db), userId: await insertUser(db, 'alice', t0) };
}

/** A revocation written by another process (the CLI), which this service's memo cannot see. */
async function revokeBehindTheService(db: Database, id: number): Promise<void> {
  await sql`update access_tokens set revoked_at = ${t0.toISOString()} where id = ${id}`.execute(db);
}

describe('PersonalAccessTokenService.isActive (checked on every request made with a registry token)', () => {
  it('answers false at once after a revocation through the service', async (t) => {
    const { tokens, userId } = await setUp(t);
    const { info } = await tokens.create(userId, ['read:packages']);
    assert.equal(await tokens.isActive(info.id, t0), true);
    await tokens.revoke(userId, info.id);
    assert.equal(await tokens.isActive(info.id, t0), false);
  });

  it('sees a revocation made by another process once its one-second memo has passed', async (t) => {
    const { db, tokens, userId } = await setUp(t);
    const { info } = await tokens.create(userId, ['read:packages']);
    assert.equal(await tokens.isActive(info.id, t0), true);
    await revokeBehindTheService(db, info.id);
    assert.equal(await tokens.isActive(info.id, at(999)), true, 'the memo answers within its second');
    assert.equal(await tokens.isActive(info.id, at(1000)), false);
    assert.equal(await tokens.isActive(info.id, at(1001)), false, 'and stays false');
  });

  it('does not remember a token found inactive, nor one never seen', async (t) => {
    const { db, tokens, userId } = await setUp(t);
    assert.equal(await tokens.isActive(987_654, t0), false);
    assert.equal(await tokens.isActive(987_654, t0), false);
    const { info } = await tokens.create(userId, ['read:packages']);
    await revokeBehindTheService(db, info.id);
    assert.equal(await tokens.isActive(info.id, t0), false);
    await sql`update access_tokens set revoked_at = null where id = ${info.id}`.execute(db);
    assert.equal(await tokens.isActive(info.id, t0), true, 'a refusal is not memoised either');
  });

  it('answers false from the moment a token expires', async (t) => {
    const { db, tokens, userId } = await setUp(t);
    const { info } = await tokens.create(userId, ['read:packages'], { expiresAt: at(60_000) });
    assert.equal(await tokens.isActive(info.id, at(59_999)), true);
    const fresh = new PersonalAccessTokenService(db);
    assert.equal(await fresh.isActive(info.id, at(60_000)), false);
    assert.equal(await tokens.isActive(info.id, at(61_000)), false, 'once the memo has passed');
  });
});

describe('PersonalAccessTokenService.verify', () => {
  it('answers the owner of a live token, only for its own user name, in any case', async (t) => {
    const { tokens, userId } = await setUp(t);
    const { token, info } = await tokens.create(userId, ['read:packages', 'write:packages']);
    assert.deepEqual(await tokens.verify('alice', token, t0), { tokenId: info.id, userId, userName: 'alice', scopes: ['read:packages', 'write:packages'] });
    assert.equal((await tokens.verify('ALICE', token, t0))?.userId, userId);
    assert.equal((await tokens.verify(undefined, token, t0))?.userId, userId);
    assert.equal(await tokens.verify('bob', token, t0), undefined);
    // Another last character: a token may end in any one of them.
    assert.equal(await tokens.verify('alice', alteredSecret(token), t0), undefined);
  });

  it('refuses revoked and expired tokens', async (t) => {
    const { tokens, userId } = await setUp(t);
    const revoked = await tokens.create(userId, ['read:packages']);
    await tokens.revoke(userId, revoked.info.id);
    assert.equal(await tokens.verify('alice', revoked.token, t0), undefined);
    const expiring = await tokens.create(userId, ['read:packages'], { expiresAt: at(1000) });
    assert.notEqual(await tokens.verify('alice', expiring.token, at(999)), undefined);
    assert.equal(await tokens.verify('alice', expiring.token, at(1000)), undefined);
  });

  it('records the last use at most once a minute', async (t) => {
    const { tokens, userId } = await setUp(t);
    const { token, info } = await tokens.create(userId, ['read:packages'], { note: 'ci' });
    const lastUsed = async () => (await tokens.list(userId)).find((item) => item.id === info.id)?.lastUsedAt;
    assert.equal(await lastUsed(), null);
    await tokens.verify('alice', token, t0);
    assert.equal(await lastUsed(), t0.toISOString());
    await tokens.verify('alice', token, at(60_000));
    assert.equal(await lastUsed(), t0.toISOString());
    await tokens.verify('alice', token, at(60_001));
    assert.equal(await lastUsed(), at(60_001).toISOString());
    assert.equal((await tokens.list(userId))[0]?.note, 'ci');
  });

  it('refuses to revoke a token twice, or another user\'s', async (t) => {
    const { tokens, userId } = await setUp(t);
    const { info } = await tokens.create(userId, ['read:packages']);
    await assert.rejects(tokens.revoke(userId + 1, info.id), { name: 'AccessTokenNotFoundError', message: `token ${info.id} not found` });
    await tokens.revoke(userId, info.id);
    await assert.rejects(tokens.revoke(userId, info.id), { name: 'AccessTokenNotFoundError' });
  });
});
