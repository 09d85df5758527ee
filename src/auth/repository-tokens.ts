import { randomBytes } from 'node:crypto';
import { recordAudit } from '../audit/audit-log.js';
import type { Database, PackageRole } from '../db/schema.js';
import { hashToken, hashesEqual } from './personal-access-token-format.js';
import { allScopes } from './scopes.js';
import { parseTokenLifetime } from './token-lifetime.js';

/**
 * Repository tokens, the analogue of a workflow's GITHUB_TOKEN: short-lived, minted for one source
 * repository, usable as the password of any user name. `berth_rpt_` + 32 base64url characters.
 */
export const repositoryTokenPrefix = 'berth_rpt_';
/** Repository tokens are short-lived, like a workflow's token. */
export const maxRepositoryTokenTtl = 24 * 60 * 60 * 1000;

/** A repository token's lifetime (`1h`): at least a second, at most a day. */
export function parseRepositoryTokenLifetime(text: string): number {
  return parseTokenLifetime(text, maxRepositoryTokenTtl, '24h');
}
const shape = /^berth_rpt_[A-Za-z0-9_-]{32}$/;

export function isRepositoryToken(text: string): boolean {
  return shape.test(text);
}

/** Who holds a valid repository token. */
export interface RepositoryIdentity {
  repositoryId: number;
  /** `OWNER/REPO`, for logs and the registry token's subject. */
  repository: string;
  tokenId: number;
  /** What the token may do: the scopes of the personal access token that minted it (all for one made with the CLI). */
  scopes: readonly string[];
}

/** The user and personal access token a repository token is minted with, through the API. */
export interface TokenMinter {
  userId: number;
  accessTokenId: number;
  scopes: readonly string[];
}

/** A repository token as listed: never the token itself. */
export interface RepositoryTokenInfo {
  id: number;
  hint: string;
  /** null for a token made with the CLI, which has every scope. */
  scopes: string[] | null;
  /** The user who minted it; null for a token made with the CLI. */
  createdBy: string | null;
  createdAt: string;
  expiresAt: string;
}

/** A user's role on a source repository (see PackageAccess.repositoryRole). */
export type RepositoryRoleOf = (userId: number, repositoryId: number) => Promise<PackageRole | undefined>;

/** Minting a token needs admin on the repository; the token lasts only while its minter keeps it. */
const mintingRole: PackageRole = 'admin';

export class RepositoryTokenNotFoundError extends Error {
  constructor(id: number) {
    super(`repository token ${id} not found`);
    this.name = 'RepositoryTokenNotFoundError';
  }
}

type TokenRow = {
  id: number;
  token_hash: string;
  expires_at: string;
  repository_id: number;
  name: string;
  owner: string;
  user_id: number | null;
  access_token_id: number | null;
  scopes: string | null;
  pat_scopes: string | null;
  pat_expires_at: string | null;
  pat_revoked_at: string | null;
  minter_suspended_at: string | null;
};

export class RepositoryTokenService {
  constructor(
    private readonly db: Database,
    private readonly roleOf: RepositoryRoleOf,
  ) {}

  /**
   * Mints a token. One minted through the API names its `minter`: it gets at most the minting
   * token's scopes, and ends when that token is revoked or expires or the user is no longer an
   * admin of the repository. One made by an operator with the CLI has no minter and every scope.
   */
  async create(repositoryId: number, ttlMs: number, now = new Date(), minter?: TokenMinter): Promise<{ id: number; token: string; expiresAt: string }> {
    const token = repositoryTokenPrefix + randomBytes(24).toString('base64url');
    const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
    const row = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('repository_tokens')
        .values({
          repository_id: repositoryId,
          token_hash: hashToken(token),
          hint: token.slice(0, repositoryTokenPrefix.length + 4),
          expires_at: expiresAt,
          created_at: now.toISOString(),
          user_id: minter?.userId ?? null,
          access_token_id: minter?.accessTokenId ?? null,
          scopes: minter ? minter.scopes.join(' ') : null,
        })
        .returning(['id', 'repository_id', 'hint'])
        .executeTakeFirstOrThrow();
      await recordAudit(trx, { action: 'token.create', ...(await tokenSubject(trx, row)), details: { ...tokenDetails(row), expires_at: expiresAt } }, now);
      return row;
    });
    return { id: row.id, token, expiresAt };
  }

  async verify(token: string, now = new Date()): Promise<RepositoryIdentity | undefined> {
    if (!isRepositoryToken(token)) return undefined;
    const hash = hashToken(token);
    const row = await this.lookup().where('repository_tokens.token_hash', '=', hash).executeTakeFirst();
    if (!row || !hashesEqual(row.token_hash, hash)) return undefined;
    return this.identity(row, now);
  }

  /** Whether a token is still usable: registry tokens carry its id and are checked against this on every request. */
  async isActive(tokenId: number, now = new Date()): Promise<boolean> {
    const row = await this.lookup().where('repository_tokens.id', '=', tokenId).executeTakeFirst();
    return row !== undefined && (await this.identity(row, now)) !== undefined;
  }

  /** The repository's tokens, oldest first. */
  async list(repositoryId: number): Promise<RepositoryTokenInfo[]> {
    const rows = await this.db
      .selectFrom('repository_tokens')
      .leftJoin('accounts', 'accounts.id', 'repository_tokens.user_id')
      .select(['repository_tokens.id', 'repository_tokens.hint', 'repository_tokens.scopes', 'repository_tokens.created_at', 'repository_tokens.expires_at', 'accounts.name'])
      .where('repository_tokens.repository_id', '=', repositoryId)
      .orderBy('repository_tokens.id')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      hint: row.hint,
      scopes: row.scopes === null ? null : row.scopes.split(' ').filter(Boolean),
      createdBy: row.name,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    }));
  }

  /** Revokes a token of the repository at once: it is deleted. */
  async revoke(repositoryId: number, id: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.deleteFrom('repository_tokens').where('repository_id', '=', repositoryId).where('id', '=', id).returning(['id', 'repository_id', 'hint']).executeTakeFirst();
      if (!row) throw new RepositoryTokenNotFoundError(id);
      await recordAudit(trx, { action: 'token.revoke', ...(await tokenSubject(trx, row)), details: tokenDetails(row) });
    });
  }

  /** Expired tokens are of no use; the sweep removes them, and records each expiry as Berth's. */
  async deleteExpired(now = new Date()): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const rows = await trx.deleteFrom('repository_tokens').where('expires_at', '<=', now.toISOString()).returning(['id', 'repository_id', 'hint', 'expires_at']).execute();
      for (const row of rows) {
        await recordAudit(trx, { action: 'token.expire', actor: { kind: 'system', name: 'sweep' }, ...(await tokenSubject(trx, row)), details: { ...tokenDetails(row), expires_at: row.expires_at } }, now);
      }
    });
  }

  private lookup() {
    return this.db
      .selectFrom('repository_tokens')
      .innerJoin('source_repositories as repo', 'repo.id', 'repository_tokens.repository_id')
      .innerJoin('accounts', 'accounts.id', 'repo.owner_id')
      .leftJoin('access_tokens as pat', 'pat.id', 'repository_tokens.access_token_id')
      .leftJoin('accounts as minter', 'minter.id', 'repository_tokens.user_id')
      .select([
        'repository_tokens.id',
        'repository_tokens.token_hash',
        'repository_tokens.expires_at',
        'repository_tokens.user_id',
        'repository_tokens.access_token_id',
        'repository_tokens.scopes',
        'repo.id as repository_id',
        'repo.name',
        'accounts.name as owner',
        'pat.scopes as pat_scopes',
        'pat.expires_at as pat_expires_at',
        'pat.revoked_at as pat_revoked_at',
        'minter.suspended_at as minter_suspended_at',
      ]);
  }

  /** The holder's identity, if the token has not expired and its minter still stands behind it. */
  private async identity(row: TokenRow, now: Date): Promise<RepositoryIdentity | undefined> {
    if (Date.parse(row.expires_at) <= now.getTime()) return undefined;
    let scopes = allScopes;
    if (row.user_id !== null) {
      if (row.minter_suspended_at !== null) return undefined;
      if (row.access_token_id !== null) {
        // The minting token was deleted (with its user), revoked, or has expired.
        if (row.pat_scopes === null || row.pat_revoked_at !== null) return undefined;
        if (row.pat_expires_at !== null && Date.parse(row.pat_expires_at) <= now.getTime()) return undefined;
      }
      if ((await this.roleOf(row.user_id, row.repository_id)) !== mintingRole) return undefined;
      const current = row.pat_scopes?.split(' ');
      scopes = (row.scopes ?? '').split(' ').filter((scope) => scope !== '' && (current === undefined || current.includes(scope)));
    }
    return { repositoryId: row.repository_id, repository: `${row.owner}/${row.name}`, tokenId: row.id, scopes };
  }
}

/** What the audit log says of a repository token: its id and hint, never the token nor its hash. */
function tokenDetails(row: { id: number; hint: string }): Record<string, unknown> {
  return { kind: 'repository_token', token_id: row.id, hint: row.hint };
}

/** A repository token's entries belong to the repository's owner. */
async function tokenSubject(db: Database, row: { id: number; repository_id: number }): Promise<{ owner?: { id: number; name: string }; target: string }> {
  const repo = await db
    .selectFrom('source_repositories as repo')
    .innerJoin('accounts', 'accounts.id', 'repo.owner_id')
    .select(['accounts.id', 'accounts.name as owner', 'repo.name'])
    .where('repo.id', '=', row.repository_id)
    .executeTakeFirst();
  if (!repo) return { target: `repository token ${row.id}` };
  return { owner: { id: repo.id, name: repo.owner }, target: `${repo.owner}/${repo.name}: repository token ${row.id}` };
}
