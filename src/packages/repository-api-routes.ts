import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AccountService } from '../accounts/account-service.js';
import { ApiSignIn } from '../auth/api-sign-in.js';
import type { Authenticator, Identity } from '../auth/authenticator.js';
import { RepositoryTokenNotFoundError, type RepositoryTokenService, parseRepositoryTokenLifetime } from '../auth/repository-tokens.js';
import { InvalidTokenLifetimeError } from '../auth/token-lifetime.js';
import { ApiError, apiErrorHandler, readJsonObject } from '../http/api-error.js';
import { sendJson } from '../http/send-json.js';
import { PackageConflictError, PackageNotFoundError, PackageRuleError } from './errors.js';
import type { PackageAccess } from './package-access.js';
import type { SourceRepository, SourceRepositoryService } from './source-repositories.js';
import { isPackageRole } from './roles.js';

export interface RepositoryApiOptions {
  accounts: AccountService;
  authenticator: Authenticator;
  access: PackageAccess;
  repositories: SourceRepositoryService;
  repositoryTokens: RepositoryTokenService;
}

/**
 * The source repositories packages link to, in GitHub's paths: `POST /api/user/repos`,
 * `POST /api/orgs/{org}/repos`, `GET /api/repos/{owner}/{repo}`,
 * `PUT /api/repos/{owner}/{repo}/collaborators/{user}` and
 * `PUT /api/orgs/{org}/teams/{team}/repos/{owner}/{repo}` with `{"permission": "read|write|admin"}`,
 * and `POST /api/repos/{owner}/{repo}/tokens` (`{"expires_in": "1h"}`) for repository tokens, with
 * `GET` to list them and `DELETE .../tokens/{id}` to revoke one.
 */
export const repositoryApiRoutes: FastifyPluginAsync<RepositoryApiOptions> = async (app, options) => {
  app.setErrorHandler(apiErrorHandler(fromRepositoryError));

  const signIn = new ApiSignIn(options.authenticator);
  const signedInAs = async (request: FastifyRequest): Promise<Identity> => {
    const identity = await signIn.user(request);
    if (!identity.scopes.includes('write:packages')) throw new ApiError(403, 'permission_denied: the token lacks the write:packages scope');
    return identity;
  };
  const signedIn = async (request: FastifyRequest): Promise<number> => (await signedInAs(request)).userId;

  const requireAdmin = async (userId: number, repo: SourceRepository): Promise<void> => {
    const context = await options.access.userContext(userId, []);
    if (context.repositoryRoles.get(repo.id) !== 'admin') throw new ApiError(404, 'Not Found');
  };

  const json = (repo: SourceRepository) => ({ id: repo.id, name: repo.name, full_name: `${repo.owner}/${repo.name}`, owner: { login: repo.owner, id: repo.ownerId } });

  app.post('/api/user/repos', async (request, reply) => {
    const userId = await signedIn(request);
    const me = await options.accounts.findById(userId);
    const input = await readJsonObject(request);
    if (!me || typeof input['name'] !== 'string') throw new ApiError(422, 'name is required');
    return sendJson(reply.code(201), json(await options.repositories.create(`${me.name}/${input['name']}`)));
  });

  app.post<{ Params: { org: string } }>('/api/orgs/:org/repos', async (request, reply) => {
    const userId = await signedIn(request);
    const input = await readJsonObject(request);
    if (typeof input['name'] !== 'string') throw new ApiError(422, 'name is required');
    const org = await options.accounts.find(request.params.org);
    const context = await options.access.userContext(userId, []);
    if (!org || org.kind !== 'org' || !context.orgRoles.has(org.id)) throw new ApiError(404, 'Not Found');
    return sendJson(reply.code(201), json(await options.repositories.create(`${org.name}/${input['name']}`)));
  });

  app.get<{ Params: { owner: string; repo: string } }>('/api/repos/:owner/:repo', async (request, reply) => {
    const userId = await signedIn(request);
    const repo = await options.repositories.find(`${request.params.owner}/${request.params.repo}`);
    const context = await options.access.userContext(userId, []);
    if (!repo || !context.repositoryRoles.has(repo.id)) throw new ApiError(404, 'Not Found');
    return sendJson(reply, { ...json(repo), collaborators: await options.repositories.collaborators(`${repo.owner}/${repo.name}`) });
  });

  app.put<{ Params: { owner: string; repo: string; user: string } }>('/api/repos/:owner/:repo/collaborators/:user', async (request, reply) => {
    const userId = await signedIn(request);
    const repo = await options.repositories.find(`${request.params.owner}/${request.params.repo}`);
    if (!repo) throw new ApiError(404, 'Not Found');
    await requireAdmin(userId, repo);
    const input = await readJsonObject(request);
    if (!isPackageRole(input['permission'])) throw new ApiError(422, 'permission must be read, write or admin');
    await options.repositories.setCollaborator(`${repo.owner}/${repo.name}`, 'user', request.params.user, input['permission']);
    return reply.code(204).send();
  });

  /** The repository a path names, for one of its admins. */
  const administered = async (request: FastifyRequest<{ Params: { owner: string; repo: string } }>): Promise<{ identity: Identity; repo: SourceRepository }> => {
    const identity = await signedInAs(request);
    const repo = await options.repositories.find(`${request.params.owner}/${request.params.repo}`);
    if (!repo) throw new ApiError(404, 'Not Found');
    await requireAdmin(identity.userId, repo);
    return { identity, repo };
  };

  app.post<{ Params: { owner: string; repo: string } }>('/api/repos/:owner/:repo/tokens', async (request, reply) => {
    const { identity, repo } = await administered(request);
    const input = await readJsonObject(request);
    let ttl = 60 * 60 * 1000;
    if (input['expires_in'] !== undefined) {
      try {
        ttl = parseRepositoryTokenLifetime(String(input['expires_in']));
      } catch (error) {
        if (error instanceof InvalidTokenLifetimeError) throw new ApiError(422, `expires_in ${error.message}`);
        throw error;
      }
    }
    // The token can do no more than the personal access token that minted it, and lasts no longer
    // than that token and the user's admin role on the repository.
    if (identity.tokenId === undefined) throw new ApiError(401, 'Bad credentials');
    const minter = { userId: identity.userId, accessTokenId: identity.tokenId, scopes: identity.scopes };
    const created = await options.repositoryTokens.create(repo.id, ttl, new Date(), minter);
    return sendJson(reply.code(201), { id: created.id, token: created.token, expires_at: created.expiresAt, scopes: identity.scopes, repository: `${repo.owner}/${repo.name}` });
  });

  app.get<{ Params: { owner: string; repo: string } }>('/api/repos/:owner/:repo/tokens', async (request, reply) => {
    const { repo } = await administered(request);
    const tokens = await options.repositoryTokens.list(repo.id);
    return sendJson(
      reply,
      tokens.map((token) => ({
        id: token.id,
        hint: token.hint,
        scopes: token.scopes,
        created_by: token.createdBy,
        created_at: token.createdAt,
        expires_at: token.expiresAt,
      })),
    );
  });

  app.delete<{ Params: { owner: string; repo: string; id: string } }>('/api/repos/:owner/:repo/tokens/:id', async (request, reply) => {
    const { repo } = await administered(request);
    const id = Number(request.params.id);
    if (!Number.isSafeInteger(id)) throw new ApiError(404, 'Not Found');
    await options.repositoryTokens.revoke(repo.id, id);
    return reply.code(204).send();
  });

  app.put<{ Params: { org: string; team: string; owner: string; repo: string } }>('/api/orgs/:org/teams/:team/repos/:owner/:repo', async (request, reply) => {
    const userId = await signedIn(request);
    const repo = await options.repositories.find(`${request.params.owner}/${request.params.repo}`);
    if (!repo || repo.owner.toLowerCase() !== request.params.org.toLowerCase()) throw new ApiError(404, 'Not Found');
    await requireAdmin(userId, repo);
    const input = await readJsonObject(request);
    if (!isPackageRole(input['permission'])) throw new ApiError(422, 'permission must be read, write or admin');
    await options.repositories.setCollaborator(`${repo.owner}/${repo.name}`, 'team', request.params.team, input['permission']);
    return reply.code(204).send();
  });
};

function fromRepositoryError(error: unknown): ApiError | undefined {
  if (error instanceof PackageNotFoundError || error instanceof RepositoryTokenNotFoundError) return new ApiError(404, error.message);
  if (error instanceof PackageConflictError || error instanceof PackageRuleError) return new ApiError(422, error.message);
  return undefined;
}
