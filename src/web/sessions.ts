import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from '../db/schema.js';

/** A session stays signed in this long after sign-in, however active. */
export const sessionLifetimeMs = 14 * 24 * 3600 * 1000;

/** How often a session's last use is written: the list of sessions needs no finer time. */
const lastSeenIntervalMs = 60_000;

export interface Session {
  id: number;
  userId: number;
  userAgent: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

/** A new session: its row, and the secret for the cookie, which is never stored. */
export interface NewSession {
  session: Session;
  secret: string;
}

/** A session secret's shape: 32 random bytes, base64url. Anything else is no session. */
const secretShape = /^[A-Za-z0-9_-]{43}$/;

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * Signed-in browsers, as rows a user can list and end. The browser holds a random secret in a
 * cookie; the database holds its sha256, so a copy of the database signs nobody in.
 */
export class SessionService {
  constructor(
    private readonly db: Database,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(userId: number, userAgent: string): Promise<NewSession> {
    const secret = randomBytes(32).toString('base64url');
    const now = this.now();
    const row = await this.db
      .insertInto('sessions')
      .values({
        user_id: userId,
        token_hash: hashSecret(secret),
        user_agent: userAgent.slice(0, 200),
        created_at: now.toISOString(),
        last_seen_at: now.toISOString(),
        expires_at: new Date(now.getTime() + sessionLifetimeMs).toISOString(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { session: toSession(row), secret };
  }

  /** The live session a cookie's secret belongs to, or undefined; records its use now and then. */
  async find(secret: string): Promise<Session | undefined> {
    if (!secretShape.test(secret)) return undefined;
    const hash = hashSecret(secret);
    // A suspended user has none: suspending deletes them, and their password signs in no more.
    const row = await this.db.selectFrom('sessions').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    if (!row || !timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(hash))) return undefined;
    const now = this.now();
    if (row.expires_at <= now.toISOString()) return undefined;
    if (now.getTime() - Date.parse(row.last_seen_at) >= lastSeenIntervalMs) {
      await this.db.updateTable('sessions').set({ last_seen_at: now.toISOString() }).where('id', '=', row.id).execute();
    }
    return toSession(row);
  }

  /** The user's live sessions, newest first. */
  async list(userId: number): Promise<Session[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('expires_at', '>', this.now().toISOString())
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toSession);
  }

  /** Ends one of the user's sessions; false when the user has no such session. */
  async revoke(userId: number, id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('sessions').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Ends every session of a user but `keep` (the one that changed the password). */
  async revokeOthers(userId: number, keep: number): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).where('id', '!=', keep).execute();
  }

  async deleteExpired(): Promise<number> {
    const result = await this.db.deleteFrom('sessions').where('expires_at', '<=', this.now().toISOString()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function toSession(row: { id: number; user_id: number; user_agent: string; created_at: string; last_seen_at: string; expires_at: string }): Session {
  return { id: row.id, userId: row.user_id, userAgent: row.user_agent, createdAt: row.created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at };
}
