import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AccessTokenNotFoundError, type AccessTokenInfo, type PersonalAccessTokenService } from '../auth/personal-access-tokens.js';
import type { Authenticator, Identity } from '../auth/authenticator.js';
import { ApiSignIn } from '../auth/api-sign-in.js';
import { InvalidScopeError, parseTokenScopes } from '../auth/scopes.js';
import { InvalidTokenLifetimeError, parseTokenLifetime } from '../auth/token-lifetime.js';
import { ApiError, apiErrorHandler, readJsonObject } from '../http/api-error.js';
import { sendJson } from '../http/send-json.js';
import type { AccountService } from './account-service.js';

export interface UserApiOptions {
  accounts: AccountService;
  accessTokens: PersonalAccessTokenService;
  authenticator: Authenticator;
}

/**
 * The account API for the signed-in user (for the web pages to come and for scripts):
 * `GET /api/user`, `GET|POST /api/user/tokens`, `DELETE /api/user/tokens/:id`. Callers sign in with
 * `Authorization: Bearer <personal access token>`, or Basic with the user name and the password or
 * a token. A token-authenticated caller may only create tokens with scopes its own token has, so a
 * read-only token cannot mint a write token.
 */
export const userApiRoutes: FastifyPluginAsync<UserApiOptions> = async (app, options) => {
  app.setErrorHandler(apiErrorHandler());

  const signIn = new ApiSignIn(options.authenticator);
  const signedIn = (request: FastifyRequest): Promise<Identity> => signIn.user(request, { basic: true });

  app.get('/api/user', async (request, reply) => {
    const identity = await signedIn(request);
    const user = await options.accounts.findById(identity.userId);
    if (!user) throw new ApiError(401, 'bad credentials');
    return sendJson(reply, { id: user.id, login: user.name, type: 'User', site_admin: user.isAdmin, created_at: user.createdAt });
  });

  app.get('/api/user/tokens', async (request, reply) => {
    const identity = await signedIn(request);
    return sendJson(reply, (await options.accessTokens.list(identity.userId)).map(tokenJson));
  });

  app.post('/api/user/tokens', async (request, reply: FastifyReply) => {
    const identity = await signedIn(request);
    const input: { scopes?: unknown; note?: unknown; expires_in?: unknown } = await readJsonObject(request);
    let scopes;
    try {
      if (!Array.isArray(input.scopes) && typeof input.scopes !== 'string') throw new InvalidScopeError('');
      scopes = parseTokenScopes(input.scopes as string | string[]);
    } catch (error) {
      throw new ApiError(422, (error as Error).message);
    }
    const excess = scopes.filter((scope) => !identity.scopes.includes(scope));
    if (excess.length > 0) throw new ApiError(403, `the token used may not grant ${excess.join(', ')}`);
    if (input.note !== undefined && (typeof input.note !== 'string' || input.note.length > 200)) throw new ApiError(422, 'note must be a string of at most 200 characters');
    let expiresAt: Date | undefined;
    if (input.expires_in !== undefined) {
      try {
        if (typeof input.expires_in !== 'string') throw new InvalidTokenLifetimeError();
        expiresAt = new Date(Date.now() + parseTokenLifetime(input.expires_in));
      } catch (error) {
        if (error instanceof InvalidTokenLifetimeError) throw new ApiError(422, `expires_in ${error.message}`);
        throw error;
      }
    }
    const created = await options.accessTokens.create(identity.userId, scopes, { expiresAt, note: input.note as string | undefined });
    return sendJson(reply.code(201), { ...tokenJson(created.info), token: created.token });
  });

  app.delete<{ Params: { id: string } }>('/api/user/tokens/:id', async (request, reply) => {
    const identity = await signedIn(request);
    const id = Number(request.params.id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new ApiError(404, 'token not found');
    try {
      await options.accessTokens.revoke(identity.userId, id);
    } catch (error) {
      if (error instanceof AccessTokenNotFoundError) throw new ApiError(404, 'token not found');
      throw error;
    }
    return reply.code(204).send();
  });
};

function tokenJson(info: AccessTokenInfo) {
  return {
    id: info.id,
    hint: info.hint,
    scopes: info.scopes,
    note: info.note,
    expires_at: info.expiresAt,
    last_used_at: info.lastUsedAt,
    revoked_at: info.revokedAt,
    created_at: info.createdAt,
  };
}
