import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { readSmallBody } from '../http/read-body.js';
import { sendJson } from '../http/send-json.js';
import { RegistryError } from '../oci/errors.js';
import { parseRepositoryName } from '../oci/names.js';
import type { Authenticator, Identity } from './authenticator.js';
import { type BasicCredentials, parseBasic } from './credentials.js';
import type { AnySubject, RepositoryPolicy } from './policy.js';
import type { RepositoryIdentity } from './repository-tokens.js';
import { type RegistryTokens, TokenTooLargeError } from './registry-tokens.js';
import { type ResourceAccess, ScopeRequestError, parseResourceScopes } from './scopes.js';
import { toRegistryError } from './token-authorizer.js';

export interface TokenRouteOptions {
  authenticator: Authenticator;
  policy: RepositoryPolicy;
  registryTokens: RegistryTokens;
}

/**
 * The token service: `GET /token` (Docker token spec, credentials as Basic) and `POST /token`
 * (its OAuth2 form, `grant_type=password`, which containerd tries first). Without credentials the
 * token is anonymous; actions the caller may not have are dropped from the token, not refused.
 */
export const tokenEndpoint: FastifyPluginAsync<TokenRouteOptions> = async (app, options) => {
  app.get('/token', async (request, reply) => {
    const query = new URLSearchParams(request.url.split('?')[1] ?? '');
    const basic = parseBasic(request.headers.authorization);
    if (request.headers.authorization && /^basic/i.test(request.headers.authorization) && !basic) throw unauthorized();
    const identity = basic ? await signIn(options.authenticator, request, basic) : undefined;
    let body;
    try {
      body = await issue(options, identity, query.getAll('scope'));
    } catch (error) {
      if (isOversizedRequest(error)) throw new RegistryError('UNSUPPORTED', error.message, { condition: 'bad-parameter' });
      throw error;
    }
    return sendJson(reply.header('Cache-Control', 'no-store'), body);
  });

  app.post('/token', async (request, reply) => {
    const type = request.headers['content-type'] ?? '';
    if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
      throw new RegistryError('UNSUPPORTED', 'expected an application/x-www-form-urlencoded form', { condition: 'bad-parameter' });
    }
    const form = new URLSearchParams(await readSmallBody(request));
    const grantType = form.get('grant_type');
    // Refresh tokens are not issued, so only the password grant is supported (RFC 6749 section 5.2).
    if (grantType !== 'password') {
      return sendJson(reply.code(400), { error: 'unsupported_grant_type', error_description: 'only grant_type=password is supported' });
    }
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    if (!username || !password) return sendJson(reply.code(400), { error: 'invalid_request', error_description: 'username and password are required' });
    const identity = await signIn(options.authenticator, request, { username, password });
    let body;
    try {
      body = await issue(options, identity, form.getAll('scope'));
    } catch (error) {
      // RFC 6749 section 5.2: "invalid_scope: the requested scope is invalid, unknown, or malformed".
      if (isOversizedRequest(error)) return sendJson(reply.code(400), { error: 'invalid_scope', error_description: error.message });
      throw error;
    }
    return sendJson(reply.header('Cache-Control', 'no-store'), body);
  });
};

async function signIn(authenticator: Authenticator, request: FastifyRequest, credentials: BasicCredentials): Promise<Identity | RepositoryIdentity> {
  try {
    if (authenticator.isRepositoryToken(credentials.password)) return await authenticator.signInRepository(request.ip, credentials.password);
    return await authenticator.signIn(request.ip, credentials, { allowPassword: false });
  } catch (error) {
    throw toRegistryError(error, unauthorized);
  }
}

/** A token request that asked for more than a token may carry (400 on either endpoint). */
function isOversizedRequest(error: unknown): error is ScopeRequestError | TokenTooLargeError {
  return error instanceof ScopeRequestError || error instanceof TokenTooLargeError;
}

function unauthorized(): RegistryError {
  return new RegistryError('UNAUTHORIZED', 'invalid user name or personal access token', {
    headers: { 'WWW-Authenticate': 'Basic realm="berth"' },
  });
}

async function issue(options: TokenRouteOptions, caller: Identity | RepositoryIdentity | undefined, scopes: string[]) {
  if (caller && 'repositoryId' in caller) return issueForRepository(options, caller, scopes);
  const identity = caller;
  const subject = identity && { userId: identity.userId, scopes: identity.scopes };
  const access: ResourceAccess[] = [];
  for (const requested of parseResourceScopes(scopes)) {
    access.push({ type: requested.type, name: requested.name, actions: await grant(options.policy, subject, requested) });
  }
  const issued = await options.registryTokens.issue({
    sub: identity?.userName ?? '',
    access,
    ...(identity && { uid: identity.userId, scp: identity.scopes }),
    ...(identity?.tokenId !== undefined && { pat: identity.tokenId }),
  });
  return {
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt.toISOString(),
  };
}

/** A registry token for a repository token's holder: `rid`/`rtk` instead of a user. */
async function issueForRepository(options: TokenRouteOptions, identity: RepositoryIdentity, scopes: string[]) {
  const subject = { repositoryId: identity.repositoryId, scopes: identity.scopes };
  const access: ResourceAccess[] = [];
  for (const requested of parseResourceScopes(scopes)) {
    access.push({ type: requested.type, name: requested.name, actions: await grant(options.policy, subject, requested) });
  }
  const issued = await options.registryTokens.issue({ sub: `repository:${identity.repository}`, access, rid: identity.repositoryId, rtk: identity.tokenId, scp: [...identity.scopes] });
  return { token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt.toISOString() };
}

async function grant(
  policy: RepositoryPolicy,
  subject: AnySubject | undefined,
  requested: ResourceAccess,
): Promise<string[]> {
  if (requested.type === 'registry' && requested.name === 'catalog') return subject && requested.actions.includes('*') ? ['*'] : [];
  if (requested.type !== 'repository') return [];
  let name;
  try {
    name = parseRepositoryName(requested.name);
  } catch {
    return [];
  }
  return policy.grant(subject, name, requested.actions);
}
