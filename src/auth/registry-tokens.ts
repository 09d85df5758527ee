import { randomUUID } from 'node:crypto';
import { loadJose } from './lazy-jose.js';
import { LruBySize } from './lru-by-size.js';
import type { ResourceAccess } from './scopes.js';
import { type SigningKeys, signingAlgorithm } from './signing-keys.js';

/** The claims of a registry token (Docker token spec "Token Authentication Implementation"). */
export interface RegistryTokenClaims {
  /** The user name; empty for anonymous tokens. */
  sub: string;
  access: ResourceAccess[];
  /** The user's id and the personal access token the registry token was issued for. */
  uid?: number;
  pat?: number;
  /**
   * The credential's scopes (a personal access token's, or those a repository token was minted
   * with), for answers not bound to one repository (`_catalog`).
   */
  scp?: string[];
  /** For a repository token: the source repository's id and the repository token's id. */
  rid?: number;
  rtk?: number;
}

/**
 * The longest registry token issued (and so the longest worth verifying). A client sends it back in
 * an `Authorization` header, and proxies limit a header line: nginx to 8 KiB by default.
 */
export const maxTokenLength = 7 * 1024;

/** The token a request asked for would be longer than `maxTokenLength`. */
export class TokenTooLargeError extends Error {
  constructor(length: number) {
    super(`the requested scopes make a token of ${length} characters, over the ${maxTokenLength} a client can send back; ask for fewer`);
    this.name = 'TokenTooLargeError';
  }
}

export interface RegistryTokenOptions {
  /** What the memo of verified tokens may hold, in (estimated) bytes. */
  cacheBytes?: number;
  /** The time tokens are issued at and checked against, in ms since the epoch (tests move it). */
  now?: () => number;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: Date;
}

/**
 * Short-lived signed JWTs. Verification needs only the keys in memory: no database round trip
 * for the signature.
 */
export class RegistryTokens {
  private readonly verified: LruBySize<RegistryTokenClaims>;
  /** The time tokens are issued at and checked against, in ms since the epoch. */
  private readonly now: () => number;

  constructor(
    private readonly keys: SigningKeys,
    private readonly issuer: string,
    private readonly service: string,
    private readonly ttlSeconds: number,
    options: RegistryTokenOptions = {},
  ) {
    this.verified = new LruBySize(options.cacheBytes ?? defaultCacheBytes);
    this.now = options.now ?? Date.now;
  }

  /** The estimated bytes held by verified tokens. */
  get cachedBytes(): number {
    return this.verified.bytes;
  }

  async issue(claims: RegistryTokenClaims, now = new Date(this.now())): Promise<IssuedToken> {
    const issuedAt = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const seconds = issuedAt.getTime() / 1000;
    const { sub, ...rest } = claims;
    const { SignJWT } = await loadJose();
    const token = await new SignJWT({ ...rest })
      .setProtectedHeader({ alg: signingAlgorithm, kid: this.keys.current.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(sub)
      .setAudience(this.service)
      .setIssuedAt(seconds)
      .setNotBefore(seconds - 1)
      .setExpirationTime(seconds + this.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.keys.current.privateKey);
    if (token.length > maxTokenLength) throw new TokenTooLargeError(token.length);
    return { token, expiresIn: this.ttlSeconds, issuedAt };
  }

  /**
   * The token's claims, or undefined when it is not one of ours, or expired, or malformed. A
   * client sends the same token on every request of a pull or push, so verified tokens are kept
   * until they expire or the memo's byte budget needs their room: checking an ECDSA signature
   * costs more than the rest of a manifest GET.
   */
  async verify(token: string): Promise<RegistryTokenClaims | undefined> {
    const known = this.verified.get(token, this.now());
    if (known) return known;
    if (token.length > maxTokenLength) return undefined;
    const checked = await this.check(token);
    if (!checked) return undefined;
    this.verified.set(token, checked.claims, estimatedBytes(token), checked.expiresAt);
    return checked.claims;
  }

  private async check(token: string): Promise<{ claims: RegistryTokenClaims; expiresAt: number } | undefined> {
    const { jwtVerify } = await loadJose();
    const verified = await jwtVerify(
      token,
      async (header) => {
        // Stryker disable next-line ConditionalExpression: equivalent, no key is filed under undefined
        const key = header.kid === undefined ? undefined : await this.keys.find(header.kid);
        // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, reading a missing key's publicKey throws too, and jose refuses the token either way
        if (!key) throw new Error('unknown kid');
        return key.publicKey;
      },
      { issuer: this.issuer, audience: this.service, algorithms: [signingAlgorithm], clockTolerance: 5, currentDate: new Date(this.now()) },
    ).catch(() => undefined);
    if (!verified) return undefined;
    const { payload } = verified;
    if (typeof payload.sub !== 'string' || !Array.isArray(payload['access']) || typeof payload.exp !== 'number') return undefined;
    const claims: RegistryTokenClaims = {
      sub: payload.sub,
      access: (payload['access'] as ResourceAccess[]).filter(
        (entry) => typeof entry?.type === 'string' && typeof entry.name === 'string' && Array.isArray(entry.actions),
      ),
      uid: typeof payload['uid'] === 'number' ? payload['uid'] : undefined,
      pat: typeof payload['pat'] === 'number' ? payload['pat'] : undefined,
      scp: Array.isArray(payload['scp']) ? (payload['scp'] as string[]) : undefined,
      rid: typeof payload['rid'] === 'number' ? payload['rid'] : undefined,
      rtk: typeof payload['rtk'] === 'number' ? payload['rtk'] : undefined,
    };
    return { claims, expiresAt: payload.exp * 1000 };
  }
}

/** Enough for thousands of tokens in use at once (a typical one is under 1 KiB). */
const defaultCacheBytes = 32 * 1024 * 1024;

/**
 * The memory a verified token takes: the token string, and its decoded claims, which are at most
 * as long as the token's payload but take more as objects than as JSON: three bytes a character
 * is above what the heap grows by per token verified (see docs/performance.md).
 */
function estimatedBytes(token: string): number {
  return 3 * token.length + 256;
}
