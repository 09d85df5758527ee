import type { AccountService } from '../accounts/account-service.js';
import { maxAccountNameLength } from '../accounts/names.js';
import { setAuditActor } from '../audit/audit-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { PersonalAccessTokenService } from './personal-access-tokens.js';
import type { BasicCredentials } from './credentials.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { isWellFormedToken } from './personal-access-token-format.js';
import type { SignInLimiter } from './rate-limiter.js';
import { type RepositoryIdentity, type RepositoryTokenService, isRepositoryToken } from './repository-tokens.js';

let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hashPassword('not a real password');
  return dummy;
}

/** A signed-in user and what the credential they used permits. */
export interface Identity {
  userId: number;
  userName: string;
  /** The personal access token's scopes; a password sign-in has all of them. */
  scopes: string[];
  /** The personal access token used, if any. */
  tokenId?: number;
}

export class InvalidCredentialsError extends Error {
  constructor() {
    super('invalid user name or token');
    this.name = 'InvalidCredentialsError';
  }
}

export class TooManySignInsError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('too many failed sign-ins; try again later');
    this.name = 'TooManySignInsError';
  }
}

/**
 * Checks user name + secret pairs, with failed attempts limited per client address (see
 * `FailureLimiter` for why not per user name). Registry clients must present a personal access
 * token (as on ghcr.io); the account API also takes the password, so that a first token can be
 * made without the CLI.
 */
export class Authenticator {
  constructor(
    private readonly accounts: AccountService,
    private readonly tokens: PersonalAccessTokenService,
    private readonly limiter: SignInLimiter,
    private readonly repositoryTokens?: RepositoryTokenService,
    private readonly audit?: AuditLog,
  ) {}

  /** Whether a secret has the shape of a repository token (checked with `signInRepository`). */
  isRepositoryToken(secret: string): boolean {
    return this.repositoryTokens !== undefined && isRepositoryToken(secret);
  }

  /** A repository token, presented as the password of any user name or as a Bearer token. */
  async signInRepository(clientAddress: string, secret: string): Promise<RepositoryIdentity> {
    const keys = [`ip:${clientAddress}`];
    const wait = await this.limiter.retryAfter(keys);
    if (wait > 0) throw new TooManySignInsError(wait);
    const identity = await this.repositoryTokens?.verify(secret);
    if (!identity) {
      await this.limiter.fail(keys);
      await this.failed(undefined, 'repository_token');
      throw new InvalidCredentialsError();
    }
    setAuditActor({ kind: 'repository_token', id: identity.tokenId, name: identity.repository });
    return identity;
  }

  /**
   * `confirming`: the signed-in user types their password again (to change it), which is no new
   * sign-in for the audit log; a wrong one is still a failure.
   */
  async signIn(clientAddress: string, credentials: BasicCredentials, options: { allowPassword: boolean; confirming?: boolean }): Promise<Identity> {
    const keys = [`ip:${clientAddress}`];
    const wait = await this.limiter.retryAfter(keys);
    if (wait > 0) throw new TooManySignInsError(wait);
    const identity = await this.check(credentials, options.allowPassword);
    if (!identity) {
      await this.limiter.fail(keys);
      await this.failed(credentials.username, isWellFormedToken(credentials.password) ? 'personal_access_token' : 'password');
      throw new InvalidCredentialsError();
    }
    const actor = { kind: 'user' as const, id: identity.userId, name: identity.userName };
    setAuditActor(actor);
    // A password sign-in is recorded; a token's use is recorded once, at its first use.
    if (identity.tokenId === undefined && !options.confirming) {
      await this.audit?.record({ action: 'user.sign_in', actor, owner: { id: identity.userId, name: identity.userName }, target: identity.userName, details: { credential: 'password' } });
    }
    return identity;
  }

  /** A personal access token alone (`Authorization: Bearer` on the account API). */
  async signInWithToken(clientAddress: string, token: string): Promise<Identity> {
    const keys = [`ip:${clientAddress}`];
    const wait = await this.limiter.retryAfter(keys);
    if (wait > 0) throw new TooManySignInsError(wait);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a cost bound; no token is longer, so a longer one matches nothing anyway
    const owner = token.length <= 1024 ? await this.tokens.verify(undefined, token) : undefined;
    if (!owner) {
      await this.limiter.fail(keys);
      await this.failed(undefined, 'personal_access_token');
      throw new InvalidCredentialsError();
    }
    setAuditActor({ kind: 'user', id: owner.userId, name: owner.userName });
    return { userId: owner.userId, userName: owner.userName, scopes: owner.scopes, tokenId: owner.tokenId };
  }

  /**
   * A refused credential, with the client address (from the request). The user name is kept only
   * when it has the shape of one, so that a secret typed into the wrong field is not written down;
   * the secret never is. The failure limit bounds how many a client can cause.
   */
  private async failed(username: string | undefined, credential: 'password' | 'personal_access_token' | 'repository_token'): Promise<void> {
    const named = username !== undefined && username.length <= maxAccountNameLength && /^[A-Za-z0-9-]+$/.test(username) ? username : undefined;
    await this.audit?.record({
      action: 'user.sign_in_failed',
      actor: { kind: 'system', name: 'anonymous' },
      target: named ?? '',
      details: { credential, ...(named !== undefined && { username: named }) },
    });
  }

  private async check({ username, password }: BasicCredentials, allowPassword: boolean): Promise<Identity | undefined> {
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: cost bounds; names are 1 to 39 characters and tokens at most 1024, so what they turn away matches no account or token
    if (username.length === 0 || username.length > 39 || password.length === 0 || password.length > 1024) return undefined;
    if (isWellFormedToken(password)) {
      const owner = await this.tokens.verify(username, password);
      return owner && { userId: owner.userId, userName: owner.userName, scopes: owner.scopes, tokenId: owner.tokenId };
    }
    if (!allowPassword) return undefined;
    const user = await this.accounts.find(username);
    if (!user || user.kind !== 'user' || !user.passwordHash) {
      // The same work as for a real user, so that timing does not tell which names exist.
      await verifyPassword(password, await dummyHash());
      return undefined;
    }
    if (!(await verifyPassword(password, user.passwordHash))) return undefined;
    // Checked after the password, so that the answer does not tell a guesser who is suspended.
    if (user.suspendedAt !== null) return undefined;
    return { userId: user.id, userName: user.name, scopes: ['read:packages', 'write:packages', 'delete:packages'] };
  }
}
