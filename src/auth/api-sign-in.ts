import type { FastifyRequest } from 'fastify';
import { ApiError } from '../http/api-error.js';
import { type Authenticator, type Identity, InvalidCredentialsError, TooManySignInsError } from './authenticator.js';
import { apiTokenSchemes, bearerToken, parseBasic } from './credentials.js';
import type { RepositoryIdentity } from './repository-tokens.js';

/** Who called an `/api` route: a user (by token or password) or a repository token's holder. */
export type ApiCaller = ({ kind: 'user' } & Identity) | ({ kind: 'repository' } & RepositoryIdentity);

/** Which credentials a family of `/api` routes takes. A personal access token as Bearer always. */
export interface ApiCredentialRules {
  /** Basic with the user name and the password or a personal access token. */
  basic?: boolean;
  /** A repository token as Bearer. */
  repositoryTokens?: boolean;
}

/**
 * Authenticates an `/api` request, and answers every refusal the same way on every route:
 * GitHub's 401 messages ("Requires authentication" without credentials or with ones of a kind
 * the route does not take, "Bad credentials" for wrong ones) with a challenge naming the schemes
 * the route takes, and 429 with `Retry-After` after too many failures. Web sessions will be one
 * more kind of credential here.
 */
export class ApiSignIn {
  constructor(private readonly authenticator: Authenticator) {}

  /** The caller, or undefined when the request carries no `Authorization` header. */
  async caller(request: FastifyRequest, rules: ApiCredentialRules = {}): Promise<ApiCaller | undefined> {
    const header = request.headers.authorization ?? '';
    if (header === '') return undefined;
    try {
      const token = bearerToken(header, apiTokenSchemes);
      if (token !== undefined) {
        if (rules.repositoryTokens && this.authenticator.isRepositoryToken(token)) {
          return { kind: 'repository', ...(await this.authenticator.signInRepository(request.ip, token)) };
        }
        return { kind: 'user', ...(await this.authenticator.signInWithToken(request.ip, token)) };
      }
      const basic = rules.basic ? parseBasic(header) : undefined;
      if (basic) return { kind: 'user', ...(await this.authenticator.signIn(request.ip, basic, { allowPassword: true })) };
    } catch (error) {
      if (error instanceof TooManySignInsError) throw new ApiError(429, error.message, { 'Retry-After': String(error.retryAfterSeconds) });
      if (error instanceof InvalidCredentialsError) throw unauthorized('Bad credentials', rules);
      throw error;
    }
    throw unauthorized('Requires authentication', rules);
  }

  /** The caller; a request without credentials is refused. */
  async required(request: FastifyRequest, rules: ApiCredentialRules = {}): Promise<ApiCaller> {
    const caller = await this.caller(request, rules);
    if (!caller) throw unauthorized('Requires authentication', rules);
    return caller;
  }

  /** The signed-in user; a request without credentials, or with a repository token, is refused. */
  async user(request: FastifyRequest, rules: Omit<ApiCredentialRules, 'repositoryTokens'> = {}): Promise<Identity> {
    const caller = await this.required(request, rules);
    // Stryker disable next-line ConditionalExpression,StringLiteral: unreachable, as these rules never take repository tokens; it narrows the type
    if (caller.kind !== 'user') throw unauthorized('Requires authentication', rules);
    const { kind: _kind, ...identity } = caller;
    return identity;
  }
}

function unauthorized(message: string, rules: ApiCredentialRules): ApiError {
  const schemes = rules.basic ? 'Bearer realm="berth", Basic realm="berth"' : 'Bearer realm="berth"';
  return new ApiError(401, message, { 'WWW-Authenticate': schemes });
}
