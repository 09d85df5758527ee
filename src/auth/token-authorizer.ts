import { type AuditActor, requestAuditContext, withAuditContext } from '../audit/audit-context.js';
import type { FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';
import type { PersonalAccessTokenService } from './personal-access-tokens.js';
import type { AccessRequest, Actor, Authorizer } from './access.js';
import { type Authenticator, type Identity, InvalidCredentialsError, TooManySignInsError } from './authenticator.js';
import { bearerToken, parseBasic } from './credentials.js';
import { type TokenRealm, bearerChallenge } from './challenge.js';
import type { AnySubject, RepositoryPolicy } from './policy.js';
import type { RegistryTokenClaims, RegistryTokens } from './registry-tokens.js';
import type { RepositoryIdentity, RepositoryTokenService } from './repository-tokens.js';

/** Who is calling: nobody, a user with Basic credentials, a repository token, or the holder of a registry token. */
type Caller =
  | { kind: 'anonymous' }
  | { kind: 'basic'; identity: Identity }
  | { kind: 'repository'; identity: RepositoryIdentity }
  | { kind: 'bearer'; claims: RegistryTokenClaims };

export interface TokenAuthorizerOptions {
  realm: TokenRealm;
  authenticator: Authenticator;
  policy: RepositoryPolicy;
  registryTokens: RegistryTokens;
  accessTokens: PersonalAccessTokenService;
  repositoryTokens?: RepositoryTokenService;
}

/**
 * The Authorizer of a registry with accounts. Registry tokens (Bearer) are checked against their
 * own `access` claim, whose signature is verified in memory; the personal access token they were
 * issued for is looked up by id so that revoking it takes effect at once. Basic credentials (user
 * name + personal access token) are checked against the policy directly.
 */
export class TokenAuthorizer implements Authorizer {
  private readonly callers = new WeakMap<FastifyRequest, Promise<Caller>>();

  constructor(private readonly options: TokenAuthorizerOptions) {}

  async authorize(request: FastifyRequest, access: AccessRequest, wanted: readonly AccessRequest[] = []): Promise<void> {
    const caller = await this.caller(request, access, wanted);
    if (await this.permits(caller, access)) return;
    // Named only by a refusal's challenge, so built only for one.
    const scope = challengeScope(access, wanted);
    if (caller.kind === 'anonymous') throw this.unauthorized('authentication required', scope);
    if (access.type === 'registry') {
      if (caller.kind === 'bearer') throw this.unauthorized('the token does not grant the requested access', scope, 'insufficient_scope');
      throw new RegistryError('DENIED', 'requested access to the resource is denied', { detail: describe(access) });
    }
    // An anonymous token gets what an anonymous caller gets: a challenge to sign in.
    if (caller.kind === 'bearer' && caller.claims.uid === undefined && caller.claims.rid === undefined) {
      throw this.unauthorized('authentication required', scope, 'insufficient_scope');
    }
    const decision = await this.options.policy.decide(subjectOf(caller), access.name, access.actions);
    if (caller.kind === 'bearer') {
      // The Docker token spec: the client may ask for a new token with this scope. That helps when
      // the token was not asked for this repository, or when a new one would grant more.
      const entry = caller.claims.access.find((item) => item.type === access.type && item.name === access.name);
      const newTokenHelps = access.actions.every((action) => decision.granted.includes(action));
      const scopeLacking = decision.visible && decision.missingScope !== undefined;
      if (!entry || newTokenHelps || scopeLacking) throw this.unauthorized('the token does not grant the requested access', scope, 'insufficient_scope');
    }
    // Whoever may not read a package must not learn that it exists: a pull gets the answer for a
    // name that does not exist, anything else the same refusal as for a name one may not create.
    if (!decision.visible && access.actions.includes('pull')) {
      throw new RegistryError('NAME_UNKNOWN', undefined, { detail: { name: access.name } });
    }
    throw new RegistryError('DENIED', decision.reason ?? 'requested access to the resource is denied', { detail: describe(access) });
  }

  async actor(request: FastifyRequest): Promise<Actor> {
    const caller = await this.caller(request);
    const subject = subjectOf(caller);
    const audit = requestAuditContext(request, auditActorOf(caller));
    if (!subject) return { audit };
    return 'repositoryId' in subject ? { sourceRepositoryId: subject.repositoryId, audit } : { userId: subject.userId, audit };
  }

  async allows(request: FastifyRequest, access: AccessRequest): Promise<boolean> {
    try {
      return await this.permits(await this.caller(request, access), access);
    } catch {
      return false;
    }
  }

  async pullable(request: FastifyRequest, names: readonly string[]): Promise<(name: string) => boolean> {
    const caller = await this.caller(request, { type: 'registry', name: 'catalog' });
    return this.options.policy.pullable(subjectOf(caller), names);
  }

  private async permits(caller: Caller, access: AccessRequest): Promise<boolean> {
    if (caller.kind === 'bearer') {
      // Any valid registry token opens the API root (Docker token spec, "the /v2/ endpoint").
      if (access.type === 'registry' && access.name === 'base') return true;
      const entry = caller.claims.access.find((item) => item.type === access.type && item.name === access.name);
      if (access.type === 'registry') return entry?.actions.includes('*') === true && (caller.claims.uid !== undefined || caller.claims.rid !== undefined);
      return access.actions.every((action) => entry?.actions.includes(action));
    }
    const subject = subjectOf(caller);
    if (access.type === 'registry') return subject !== undefined;
    const granted = await this.options.policy.grant(subject, access.name, access.actions);
    return access.actions.every((action) => granted.includes(action));
  }

  /** `access` and `wanted` are what a challenge names if the credentials are refused. */
  private caller(request: FastifyRequest, access?: AccessRequest, wanted: readonly AccessRequest[] = []): Promise<Caller> {
    let caller = this.callers.get(request);
    if (!caller) {
      caller = this.identify(request, access, wanted);
      this.callers.set(request, caller);
    }
    return caller;
  }

  private async identify(request: FastifyRequest, access: AccessRequest | undefined, wanted: readonly AccessRequest[]): Promise<Caller> {
    const header = request.headers.authorization;
    if (header === undefined || header === '') return { kind: 'anonymous' };
    const bearer = bearerToken(header);
    if (bearer) {
      const claims = await this.options.registryTokens.verify(bearer);
      const active =
        claims &&
        (claims.pat === undefined || (await this.options.accessTokens.isActive(claims.pat))) &&
        (claims.rtk === undefined || (await this.options.repositoryTokens?.isActive(claims.rtk)) === true);
      if (!claims || !active) throw this.unauthorized('invalid or expired token', challengeScope(access, wanted), 'invalid_token');
      return { kind: 'bearer', claims };
    }
    const basic = parseBasic(header);
    if (!basic) throw this.unauthorized('unsupported authorization scheme', challengeScope(access, wanted));
    try {
      // The sign-in records its failures and a token's first use through the audit context (see
      // audit-context.ts), which /v2 opens only here.
      return await withAuditContext(requestAuditContext(request), async () => {
        if (this.options.authenticator.isRepositoryToken(basic.password)) {
          return { kind: 'repository', identity: await this.options.authenticator.signInRepository(request.ip, basic.password) };
        }
        return { kind: 'basic', identity: await this.options.authenticator.signIn(request.ip, basic, { allowPassword: false }) };
      });
    } catch (error) {
      throw toRegistryError(error, () => this.unauthorized('invalid user name or token', challengeScope(access, wanted)));
    }
  }

  private unauthorized(message: string, scope: string | undefined, error?: 'insufficient_scope' | 'invalid_token'): RegistryError {
    return new RegistryError('UNAUTHORIZED', message, {
      headers: { 'WWW-Authenticate': bearerChallenge(this.options.realm, scope, error) },
    });
  }
}

/** Sign-in failures as registry errors: 429 with Retry-After, or the given 401. */
export function toRegistryError(error: unknown, unauthorized: () => RegistryError): unknown {
  if (error instanceof TooManySignInsError) {
    return new RegistryError('TOOMANYREQUESTS', error.message, { headers: { 'Retry-After': String(error.retryAfterSeconds) } });
  }
  if (error instanceof InvalidCredentialsError) return unauthorized();
  return error;
}

function subjectOf(caller: Caller): AnySubject | undefined {
  if (caller.kind === 'basic') return { userId: caller.identity.userId, scopes: caller.identity.scopes };
  // A repository token may do what its repository's access to each package allows, within the
  // scopes of the token that minted it.
  if (caller.kind === 'repository') return { repositoryId: caller.identity.repositoryId, scopes: caller.identity.scopes };
  if (caller.kind === 'bearer' && caller.claims.uid !== undefined) return { userId: caller.claims.uid, scopes: caller.claims.scp ?? [] };
  if (caller.kind === 'bearer' && caller.claims.rid !== undefined) return { repositoryId: caller.claims.rid, scopes: caller.claims.scp ?? [] };
  return undefined;
}

/** Whom the audit log names for a caller. */
function auditActorOf(caller: Caller): AuditActor | undefined {
  switch (caller.kind) {
    case 'basic':
      return { kind: 'user', id: caller.identity.userId, name: caller.identity.userName };
    case 'repository':
      return { kind: 'repository_token', id: caller.identity.tokenId, name: caller.identity.repository };
    case 'bearer':
      if (caller.claims.uid !== undefined) return { kind: 'user', id: caller.claims.uid, name: caller.claims.sub };
      if (caller.claims.rtk !== undefined) return { kind: 'repository_token', id: caller.claims.rtk, name: caller.claims.sub.replace(/^repository:/, '') };
      return undefined;
    case 'anonymous':
      return undefined;
  }
}

/** The scope a challenge names: the Docker token spec allows several, separated by spaces. */
function challengeScope(access: AccessRequest | undefined, wanted: readonly AccessRequest[]): string | undefined {
  if (!access) return undefined;
  return [access, ...wanted].map(scopeOf).filter((item) => item !== undefined).join(' ') || undefined;
}

/** The token scope a request needs, for the challenge. The API root needs none. */
function scopeOf(access: AccessRequest): string | undefined {
  if (access.type === 'repository') return `repository:${access.name}:${access.actions.join(',')}`;
  return access.name === 'catalog' ? 'registry:catalog:*' : undefined;
}

function describe(access: AccessRequest): unknown {
  return access.type === 'repository' ? { type: access.type, name: access.name, actions: access.actions } : access;
}
