import type { Database } from '../db/schema.js';
import { generateToken, hashesEqual, hashToken, isWellFormedToken, tokenHint } from './personal-access-token-format.js';
import type { TokenScope } from './scopes.js';

export interface AccessTokenInfo {
  id: number;
  hint: string;
  scopes: TokenScope[];
  note: string | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

/** Who a valid token belongs to and what it may do. */
export interface TokenOwner {
  tokenId: number;
  userId: number;
  userName: string;
  scopes: TokenScope[];
}

export class AccessTokenNotFoundError extends Error {
  constructor(id: number) {
    super(`token ${id} not found`);
    this.name = 'AccessTokenNotFoundError';
  }
}

/** last-used is written at most this often per token, to keep reads read-only. */
const lastUsedResolutionMs = 60_000;

/** Personal access tokens: shown once at creation, stored as a sha256 hash. */
export class PersonalAccessTokenService {
  /** Token ids found active, with when: see isActive. */
  private readonly recentlyActive = new Map<number, number>();

  constructor(private readonly db: Database) {}

  async create(userId: number, scopes: TokenScope[], options: { expiresAt?: Date; note?: string } = {}): Promise<{ token: string; info: AccessTokenInfo }> {
    const token = generateToken();
    const row = await this.db
      .insertInto('access_tokens')
      .values({
        user_id: userId,
        token_hash: hashToken(token),
        hint: tokenHint(token),
        scopes: scopes.join(' '),
        note: options.note ?? null,
        expires_at: options.expiresAt?.toISOString() ?? null,
        created_at: new Date().toISOString(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { token, info: toInfo(row) };
  }

  async list(userId: number): Promise<AccessTokenInfo[]> {
    const rows = await this.db.selectFrom('access_tokens').selectAll().where('user_id', '=', userId).orderBy('id').execute();
    return rows.map(toInfo);
  }

  /** Revokes one of the user's tokens; effective for the next request, registry tokens included. */
  async revoke(userId: number, id: number): Promise<void> {
    const result = await this.db
      .updateTable('access_tokens')
      .set({ revoked_at: new Date().toISOString() })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw new AccessTokenNotFoundError(id);
    this.recentlyActive.delete(id);
  }

  /**
   * The owner of a token presented with a user name, or undefined when the token is malformed,
   * unknown, revoked, expired, or belongs to someone other than `userName` (when given). Records the last use.
   */
  async verify(userName: string | undefined, token: string, now = new Date()): Promise<TokenOwner | undefined> {
    if (!isWellFormedToken(token)) return undefined;
    const hash = hashToken(token);
    const row = await this.db
      .selectFrom('access_tokens')
      .innerJoin('accounts', 'accounts.id', 'access_tokens.user_id')
      .select([
        'access_tokens.id',
        'access_tokens.token_hash',
        'access_tokens.scopes',
        'access_tokens.expires_at',
        'access_tokens.revoked_at',
        'access_tokens.last_used_at',
        'accounts.id as user_id',
        'accounts.name',
        'accounts.name_key',
      ])
      .where('access_tokens.token_hash', '=', hash)
      .where('accounts.suspended_at', 'is', null)
      .executeTakeFirst();
    // The lookup is by hash, so the comparison below is the constant-time confirmation.
    if (!row || !hashesEqual(row.token_hash, hash)) return undefined;
    if (userName !== undefined && row.name_key !== userName.toLowerCase()) return undefined;
    if (!isActive(row, now)) return undefined;
    if (!row.last_used_at || now.getTime() - Date.parse(row.last_used_at) > lastUsedResolutionMs) {
      await this.db.updateTable('access_tokens').set({ last_used_at: now.toISOString() }).where('id', '=', row.id).execute();
    }
    return { tokenId: row.id, userId: row.user_id, userName: row.name, scopes: splitScopes(row.scopes) };
  }

  /**
   * Whether a token is still usable: registry tokens carry its id and are checked against this on
   * every request. The answer is reused for at most a second, so a revocation (also one made by
   * the CLI in another process) takes effect within a second without a query per request.
   */
  async isActive(tokenId: number, now = new Date()): Promise<boolean> {
    const known = this.recentlyActive.get(tokenId);
    if (known !== undefined && now.getTime() - known < activeCheckReuseMs) return true;
    const row = await this.db
      .selectFrom('access_tokens')
      .innerJoin('accounts', 'accounts.id', 'access_tokens.user_id')
      .select(['access_tokens.expires_at', 'access_tokens.revoked_at'])
      .where('access_tokens.id', '=', tokenId)
      .where('accounts.suspended_at', 'is', null)
      .executeTakeFirst();
    const active = row !== undefined && isActive(row, now);
    if (active) {
      if (this.recentlyActive.size >= 10_000) this.recentlyActive.clear();
      this.recentlyActive.set(tokenId, now.getTime());
    } else {
      this.recentlyActive.delete(tokenId);
    }
    return active;
  }
}

const activeCheckReuseMs = 1000;

function isActive(row: { expires_at: string | null; revoked_at: string | null }, now: Date): boolean {
  if (row.revoked_at !== null) return false;
  return row.expires_at === null || Date.parse(row.expires_at) > now.getTime();
}

function splitScopes(text: string): TokenScope[] {
  return text.split(' ').filter(Boolean) as TokenScope[];
}

function toInfo(row: {
  id: number;
  hint: string;
  scopes: string;
  note: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  created_at: string;
}): AccessTokenInfo {
  return {
    id: row.id,
    hint: row.hint,
    scopes: splitScopes(row.scopes),
    note: row.note,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    createdAt: row.created_at,
  };
}
