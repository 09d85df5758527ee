import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
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
  /** The personal access token's scopes, for answers not bound to one repository (`_catalog`). */
  scp?: string[];
  /** For a repository token: the source repository's id and the repository token's id. */
  rid?: number;
  rtk?: number;
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
  private readonly verified = new Map<string, { claims: RegistryTokenClaims; expiresAt: number }>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly issuer: string,
    private readonly service: string,
    private readonly ttlSeconds: number,
    /** The time tokens are issued at and checked against, in ms since the epoch (tests move it). */
    private readonly now: () => number = Date.now,
  ) {}

  async issue(claims: RegistryTokenClaims, now = new Date(this.now())): Promise<IssuedToken> {
    const issuedAt = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const seconds = issuedAt.getTime() / 1000;
    const { sub, ...rest } = claims;
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
    return { token, expiresIn: this.ttlSeconds, issuedAt };
  }

  /**
   * The token's claims, or undefined when it is not one of ours, or expired, or malformed. A
   * client sends the same token on every request of a pull or push, so verified tokens are kept
   * until they expire: checking an ECDSA signature costs more than the rest of a manifest GET.
   */
  async verify(token: string): Promise<RegistryTokenClaims | undefined> {
    const known = this.verified.get(token);
    if (known) {
      if (known.expiresAt > this.now()) return known.claims;
      this.verified.delete(token);
    }
    const checked = await this.check(token);
    if (!checked) return undefined;
    if (this.verified.size >= maxVerifiedTokens) this.verified.clear();
    this.verified.set(token, checked);
    return checked.claims;
  }

  private async check(token: string): Promise<{ claims: RegistryTokenClaims; expiresAt: number } | undefined> {
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const key = header.kid === undefined ? undefined : this.keys.byKid.get(header.kid);
          if (!key) throw new Error('unknown kid');
          return key.publicKey;
        },
        { issuer: this.issuer, audience: this.service, algorithms: [signingAlgorithm], clockTolerance: 5, currentDate: new Date(this.now()) },
      );
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
    } catch {
      return undefined;
    }
  }
}

/** Bound on the verified-token memo; it is emptied when full (tokens live minutes anyway). */
const maxVerifiedTokens = 10_000;
