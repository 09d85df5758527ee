import { randomBytes } from 'node:crypto';
import type { Database } from '../db/schema.js';
import { hashToken, hashesEqual } from './personal-access-tokens.js';

/**
 * Repository tokens, the analogue of a workflow's GITHUB_TOKEN: short-lived, minted for one source
 * repository, usable as the password of any user name. `berth_rpt_` + 32 base64url characters.
 */
export const repositoryTokenPrefix = 'berth_rpt_';
/** Repository tokens are short-lived, like a workflow's token. */
export const maxRepositoryTokenTtl = 24 * 60 * 60 * 1000;
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
}

export class RepositoryTokenService {
  constructor(private readonly db: Database) {}

  async create(repositoryId: number, ttlMs: number, now = new Date()): Promise<{ token: string; expiresAt: string }> {
    const token = repositoryTokenPrefix + randomBytes(24).toString('base64url');
    const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
    await this.db
      .insertInto('repository_tokens')
      .values({ repository_id: repositoryId, token_hash: hashToken(token), hint: token.slice(0, repositoryTokenPrefix.length + 4), expires_at: expiresAt, created_at: now.toISOString() })
      .execute();
    return { token, expiresAt };
  }

  async verify(token: string, now = new Date()): Promise<RepositoryIdentity | undefined> {
    if (!isRepositoryToken(token)) return undefined;
    const hash = hashToken(token);
    const row = await this.db
      .selectFrom('repository_tokens')
      .innerJoin('source_repositories as repo', 'repo.id', 'repository_tokens.repository_id')
      .innerJoin('accounts', 'accounts.id', 'repo.owner_id')
      .select(['repository_tokens.id', 'repository_tokens.token_hash', 'repository_tokens.expires_at', 'repo.id as repository_id', 'repo.name', 'accounts.name as owner'])
      .where('repository_tokens.token_hash', '=', hash)
      .executeTakeFirst();
    if (!row || !hashesEqual(row.token_hash, hash) || Date.parse(row.expires_at) <= now.getTime()) return undefined;
    return { repositoryId: row.repository_id, repository: `${row.owner}/${row.name}`, tokenId: row.id };
  }

  async isActive(tokenId: number, now = new Date()): Promise<boolean> {
    const row = await this.db.selectFrom('repository_tokens').select('expires_at').where('id', '=', tokenId).executeTakeFirst();
    return row !== undefined && Date.parse(row.expires_at) > now.getTime();
  }

  /** Expired tokens are of no use; the sweep removes them. */
  async deleteExpired(now = new Date()): Promise<void> {
    await this.db.deleteFrom('repository_tokens').where('expires_at', '<=', now.toISOString()).execute();
  }
}
