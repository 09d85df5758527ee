import { recordAudit } from '../audit/audit-log.js';
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
    const row = await this.db.transaction().execute(async (trx) => {
      const row = await trx
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
      await recordAudit(trx, { action: 'token.create', ...(await tokenSubject(trx, row)), details: { ...tokenDetails(row), scopes, expires_at: row.expires_at } });
      return row;
    });
    return { token, info: toInfo(row) };
  }

  async list(userId: number): Promise<AccessTokenInfo[]> {
    const rows = await this.db.selectFrom('access_tokens').selectAll().where('user_id', '=', userId).orderBy('id').execute();
    return rows.map(toInfo);
  }

  /** Revokes one of the user's tokens; effective for the next request, registry tokens included. */
  async revoke(userId: number, id: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('access_tokens')
        .set({ revoked_at: new Date().toISOString() })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .returning(['id', 'user_id', 'hint', 'note'])
        .executeTakeFirst();
      if (!row) throw new AccessTokenNotFoundError(id);
      await recordAudit(trx, { action: 'token.revoke', ...(await tokenSubject(trx, row)), details: tokenDetails(row) });
    });
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
    if (!row.last_used_at) {
      await this.firstUse(row.id, now);
    } else if (now.getTime() - Date.parse(row.last_used_at) > lastUsedResolutionMs) {
      await this.db.updateTable('access_tokens').set({ last_used_at: now.toISOString() }).where('id', '=', row.id).execute();
    }
    return { tokenId: row.id, userId: row.user_id, userName: row.name, scopes: splitScopes(row.scopes) };
  }

  /**
   * The first use of a token is in the audit log, with the client that used it: a token used from
   * somewhere unexpected before its owner used it is a leak. Only the request that sets
   * `last_used_at` from null records it, so concurrent first uses make one entry.
   */
  private async firstUse(id: number, now: Date): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('access_tokens')
        .set({ last_used_at: now.toISOString() })
        .where('id', '=', id)
        .where('last_used_at', 'is', null)
        .returning(['id', 'user_id', 'hint', 'note'])
        .executeTakeFirst();
      if (!row) return;
      // Called while the token is being checked, before the request knows whom it acts for.
      const subject = await tokenSubject(trx, row);
      await recordAudit(trx, { action: 'token.first_use', actor: { kind: 'user', ...subject.owner }, ...subject, details: tokenDetails(row) }, now);
    });
  }

  /**
   * Records the expiry of tokens that have expired since the last sweep, once each (a flag on the
   * token says it is recorded). An expired token is refused from its expiry on, whether or not the
   * sweep ran; this only writes it down, as Berth itself, within a sweep interval of the expiry.
   */
  async recordExpired(now = new Date()): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .updateTable('access_tokens')
        .set({ expiry_recorded: 1 })
        .where('expires_at', '<=', now.toISOString())
        .where('expiry_recorded', '=', 0)
        .where('revoked_at', 'is', null)
        .returning(['id', 'user_id', 'hint', 'note', 'expires_at'])
        .execute();
      for (const row of rows) {
        await recordAudit(trx, { action: 'token.expire', actor: { kind: 'system', name: 'sweep' }, ...(await tokenSubject(trx, row)), details: { ...tokenDetails(row), expires_at: row.expires_at } }, now);
      }
      return rows.length;
    });
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

/** What the audit log says of a token: its id, hint and note, never the token nor its hash. */
function tokenDetails(row: { id: number; hint: string; note: string | null }): Record<string, unknown> {
  return { kind: 'personal_access_token', token_id: row.id, hint: row.hint, ...(row.note !== null && { note: row.note }) };
}

/** A token's entries belong to its user. */
async function tokenSubject(db: Database, row: { id: number; user_id: number }): Promise<{ owner: { id: number; name: string }; target: string }> {
  const user = await db.selectFrom('accounts').select(['id', 'name']).where('id', '=', row.user_id).executeTakeFirstOrThrow();
  return { owner: user, target: `${user.name}: personal access token ${row.id}` };
}

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
