import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { alteredSecret } from '../../test/support/altered-secret.js';
import { tempDatabase } from '../../test/support/temp-database.js';
import { insertUser } from '../../test/support/user-rows.js';
import type { PackageRole } from '../db/schema.js';
import { PersonalAccessTokenService } from './personal-access-tokens.js';
import { RepositoryTokenService } from './repository-tokens.js';
import { allScopes } from './scopes.js';

const t0 = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const hour = 3_600_000;

/** A user who owns a source repository, a personal access token of theirs, and the two services. */
async function setUp(t: TestContext) {
  const { db } = await tempDatabase(t);
  const userId = await insertUser(db, 'alice', t0);
  const repository = await db.insertInto('source_repositories').values({ owner_id: userId, name: 'app', name_key: 'app', created_at: t0.toISOString() }).returning('id').executeTakeFirstOrThrow();
  let role: PackageRole | undefined = 'admin';
  const personal = new PersonalAccessTokenService(db);
  const tokens = new RepositoryTokenService(db, async () => role);
  const minted = async (scopes: string[], options: { patExpiresAt?: Date } = {}) => {
    const pat = await personal.create(userId, scopes as never, { expiresAt: options.patExpiresAt });
    const made = await tokens.create(repository.id, hour, t0, { userId, accessTokenId: pat.info.id, scopes });
    return { ...made, patId: pat.info.id };
  };
  return { db, personal, tokens, userId, repositoryId: repository.id, minted, setRole: (next: PackageRole | undefined) => (role = next) };
}

describe('RepositoryTokenService', () => {
  it('a token minted with a personal access token acts with its scopes until it expires', async (t) => {
    const { tokens, repositoryId, minted } = await setUp(t);
    const { id, token } = await minted(['read:packages', 'write:packages']);
    assert.deepEqual(await tokens.verify(token, t0), { repositoryId, repository: 'alice/app', tokenId: id, scopes: ['read:packages', 'write:packages'] });
    assert.equal(await tokens.isActive(id, at(hour - 1)), true);
    assert.equal(await tokens.verify(token, at(hour)), undefined);
    assert.equal(await tokens.isActive(id, at(hour)), false);
  });

  it('ends when the personal access token that minted it is revoked', async (t) => {
    const { personal, tokens, userId, minted } = await setUp(t);
    const { id, token, patId } = await minted(['read:packages']);
    await personal.revoke(userId, patId);
    assert.equal(await tokens.verify(token, t0), undefined);
    assert.equal(await tokens.isActive(id, t0), false);
  });

  it('ends when the personal access token that minted it expires, from that moment', async (t) => {
    const { tokens, minted } = await setUp(t);
    const { id, token } = await minted(['read:packages'], { patExpiresAt: at(60_000) });
    assert.notEqual(await tokens.verify(token, at(59_999)), undefined);
    assert.equal(await tokens.verify(token, at(60_000)), undefined);
    assert.equal(await tokens.isActive(id, at(60_000)), false);
  });

  it('ends when its minter is no longer an admin of the repository', async (t) => {
    const { tokens, minted, setRole } = await setUp(t);
    const { id, token } = await minted(['read:packages']);
    setRole('write');
    assert.equal(await tokens.verify(token, t0), undefined);
    assert.equal(await tokens.isActive(id, t0), false);
    setRole('admin');
    assert.equal(await tokens.isActive(id, t0), true);
  });

  it('keeps only the scopes the minting token still has', async (t) => {
    const { db, tokens, minted } = await setUp(t);
    const { token, patId } = await minted(['read:packages', 'write:packages']);
    await db.updateTable('access_tokens').set({ scopes: 'read:packages' }).where('id', '=', patId).execute();
    assert.deepEqual((await tokens.verify(token, t0))?.scopes, ['read:packages']);
  });

  it('a token made by an operator, with no minter, has every scope and only its own expiry', async (t) => {
    const { tokens, repositoryId, setRole } = await setUp(t);
    const { id, token } = await tokens.create(repositoryId, hour, t0);
    setRole(undefined);
    assert.deepEqual((await tokens.verify(token, t0))?.scopes, allScopes);
    assert.equal(await tokens.isActive(id, at(hour - 1)), true);
    assert.equal(await tokens.isActive(id, at(hour)), false);
    assert.equal(await tokens.isActive(id + 100, t0), false, 'an unknown id');
  });

  it('refuses what is not one of its tokens', async (t) => {
    const { tokens, minted } = await setUp(t);
    const { token } = await minted(['read:packages']);
    assert.equal(await tokens.verify(alteredSecret(token), t0), undefined);
    assert.equal(await tokens.verify('berth_pat_not_a_repository_token', t0), undefined);
  });
});
