import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ApiSignIn } from '../auth/api-sign-in.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { OrgRole } from '../db/schema.js';
import { ApiError, apiErrorHandler, readJsonObject } from '../http/api-error.js';
import { pageItems, pageOf, setLink } from '../http/api-pagination.js';
import { sendJson } from '../http/send-json.js';
import type { Account, AccountService, MemberAccount, Team } from './account-service.js';
import { AccountConflictError, AccountNotFoundError } from './errors.js';
import { InvalidNameError, nameKey, parseAccountName } from './names.js';

export interface OrgApiOptions {
  accounts: AccountService;
  authenticator: Authenticator;
}

type OrgParams = { org: string };
type MemberParams = OrgParams & { username: string };
type TeamParams = OrgParams & { team: string };
type TeamMemberParams = TeamParams & { username: string };
type Query = Record<string, string | undefined>;

/** What a token must hold to change an organization's members and teams. */
const managingScopes = ['read:packages', 'write:packages', 'delete:packages'];

/** GitHub calls an organization's owners `admin`. */
const githubRoles: Record<OrgRole, 'admin' | 'member'> = { owner: 'admin', member: 'member' };

/**
 * Organization memberships and teams in GitHub's REST shapes ("Organization members", "Teams"):
 * `GET /api/orgs/{org}/members`, `GET|PUT|DELETE /api/orgs/{org}/memberships/{username}`,
 * `GET|POST /api/orgs/{org}/teams`, `GET /api/orgs/{org}/teams/{team_slug}/members` and
 * `PUT|DELETE /api/orgs/{org}/teams/{team_slug}/memberships/{username}`. Callers sign in with a
 * personal access token; members read, owners change. Membership is not public, so to anyone
 * else an organization answers 404 as one that does not exist.
 */
export const orgApiRoutes: FastifyPluginAsync<OrgApiOptions> = async (app, options) => {
  app.setErrorHandler(apiErrorHandler(fromAccountError));

  const { accounts } = options;
  const signIn = new ApiSignIn(options.authenticator);

  /** The organization the path names, for a member (or an owner, where `need` says so). */
  const orgFor = async (request: FastifyRequest, need: 'member' | 'owner'): Promise<Account> => {
    const identity = await signIn.user(request);
    const org = await accounts.find((request.params as OrgParams).org);
    const role = org?.kind === 'org' ? await accounts.orgRoleOf(org.name, identity.userId) : undefined;
    if (!org || !role) throw notFound();
    if (need === 'owner' && role !== 'owner') throw new ApiError(403, 'You must be an owner of this organization.');
    // A membership change can make someone an owner, who may then do anything to the
    // organization's packages: a token may make it only if it may do all of that itself.
    const missing = need === 'owner' ? managingScopes.filter((scope) => !identity.scopes.includes(scope)) : [];
    if (missing.length > 0) throw new ApiError(403, `permission_denied: changing an organization needs a token with ${missing.join(', ')}`);
    return org;
  };

  /** One page of a list (`per_page`, `page`; 30 by default), with the `Link` header to the others. */
  const sendListPage = <T, J>(request: FastifyRequest, reply: FastifyReply, items: readonly T[], toJson: (item: T) => J) => {
    const page = pageOf(request.query as Query, 30);
    setLink(reply, request, page, items.length);
    return sendJson(reply, pageItems(items, page).map(toJson));
  };

  const teamFor = async (org: Account, slug: string): Promise<Team> => {
    const team = await accounts.findTeam(org.name, slug);
    if (!team) throw notFound();
    return team;
  };

  const membershipOf = async (org: Account, username: string) => {
    const user = await accounts.find(username);
    const role = user?.kind === 'user' ? await accounts.orgRoleOf(org.name, user.id) : undefined;
    if (!user || !role) throw notFound();
    return { state: 'active', role: githubRoles[role], organization: { login: org.name, id: org.id }, user: simpleUser(user) };
  };

  app.get<{ Params: OrgParams }>('/api/orgs/:org/members', async (request, reply) => {
    const org = await orgFor(request, 'member');
    return sendListPage(request, reply, await accounts.listOrgMembers(org.name), simpleUser);
  });

  app.get<{ Params: MemberParams }>('/api/orgs/:org/memberships/:username', async (request, reply) => {
    const org = await orgFor(request, 'member');
    return sendJson(reply, await membershipOf(org, request.params.username));
  });

  app.put<{ Params: MemberParams }>('/api/orgs/:org/memberships/:username', async (request, reply) => {
    const org = await orgFor(request, 'owner');
    const body = await readJsonObject(request, { optional: true });
    const role = body['role'] ?? 'member';
    if (role !== 'admin' && role !== 'member') throw new ApiError(422, 'role must be admin or member');
    await accounts.setOrgMember(org.name, request.params.username, role === 'admin' ? 'owner' : 'member');
    return sendJson(reply, await membershipOf(org, request.params.username));
  });

  app.delete<{ Params: MemberParams }>('/api/orgs/:org/memberships/:username', async (request, reply) => {
    const org = await orgFor(request, 'owner');
    await accounts.removeOrgMember(org.name, request.params.username);
    return reply.code(204).send();
  });

  app.get<{ Params: OrgParams }>('/api/orgs/:org/teams', async (request, reply) => {
    const org = await orgFor(request, 'member');
    return sendListPage(request, reply, await accounts.teamsOf(org.name), teamJson);
  });

  app.post<{ Params: OrgParams }>('/api/orgs/:org/teams', async (request, reply) => {
    const org = await orgFor(request, 'owner');
    const body = await readJsonObject(request);
    if (typeof body['name'] !== 'string') throw new ApiError(422, 'name is required');
    // Every member sees every team, and a team's access to a package is set per package: refuse
    // what would promise otherwise rather than ignore it.
    if (body['privacy'] !== undefined && body['privacy'] !== 'closed') throw new ApiError(422, 'privacy must be closed: teams are visible to every member of the organization');
    if (body['permission'] !== undefined && body['permission'] !== 'pull') throw new ApiError(422, 'permission must be pull: a team gets more on a package through the package\'s roles');
    const team = await accounts.createTeam(org.name, parseAccountName(body['name'], 'team'));
    return sendJson(reply.code(201), teamJson(team));
  });

  app.get<{ Params: TeamParams }>('/api/orgs/:org/teams/:team/members', async (request, reply) => {
    const org = await orgFor(request, 'member');
    const team = await teamFor(org, request.params.team);
    return sendListPage(request, reply, await accounts.teamMembersOf(org.name, team.name), simpleUser);
  });

  app.put<{ Params: TeamMemberParams }>('/api/orgs/:org/teams/:team/memberships/:username', async (request, reply) => {
    const org = await orgFor(request, 'owner');
    const body = await readJsonObject(request, { optional: true });
    if ((body['role'] ?? 'member') !== 'member') throw new ApiError(422, 'role must be member: teams have no maintainers');
    await accounts.addTeamMember(org.name, request.params.team, request.params.username);
    return sendJson(reply, { state: 'active', role: 'member' });
  });

  app.delete<{ Params: TeamMemberParams }>('/api/orgs/:org/teams/:team/memberships/:username', async (request, reply) => {
    const org = await orgFor(request, 'owner');
    await accounts.removeTeamMember(org.name, request.params.team, request.params.username);
    return reply.code(204).send();
  });
};

function notFound(): ApiError {
  return new ApiError(404, 'Not Found');
}

function simpleUser(user: MemberAccount) {
  return { login: user.name, id: user.id, type: 'User', site_admin: user.isAdmin };
}

function teamJson(team: Team) {
  return { id: team.id, name: team.name, slug: nameKey(team.name), privacy: 'closed', permission: 'pull' };
}

function fromAccountError(error: unknown): ApiError | undefined {
  if (error instanceof AccountNotFoundError) return new ApiError(404, error.message);
  if (error instanceof AccountConflictError || error instanceof InvalidNameError) return new ApiError(422, error.message);
  return undefined;
}
