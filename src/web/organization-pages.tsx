import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountService } from '../accounts/account-service.js';
import { AccountConflictError, AccountNotFoundError } from '../accounts/errors.js';
import { InvalidNameError, parseAccountName } from '../accounts/names.js';
import { PackageRuleError } from '../packages/errors.js';
import type { PackageService } from '../packages/package-service.js';
import { visibilities } from '../packages/roles.js';
import type { PageContext, Viewer } from './layout.js';
import type { PageKit } from './page-kit.js';
import { OrganizationPage } from './pages/organization.js';

/**
 * `/orgs/{org}`: members and teams, seen by the organization's members and changed by its
 * owners. To anyone else the page does not exist, as an organization's membership is not public.
 */
export async function organizationPages(app: FastifyInstance, kit: PageKit, options: { accounts: AccountService; packages: PackageService }): Promise<void> {
  const { accounts, packages } = options;

  /** The organization the path names and whether the viewer owns it; undefined unless a member. */
  const organizationFor = async (name: string, viewer: Viewer) => {
    const org = await accounts.find(name);
    if (!org || org.kind !== 'org') return undefined;
    const member = (await accounts.listOrgMembers(org.name)).find((each) => each.name === viewer.name);
    return member ? { id: org.id, name: org.name, owner: member.role === 'owner' } : undefined;
  };

  const page = async (request: FastifyRequest, reply: FastifyReply, context: PageContext, org: { id: number; name: string; owner: boolean }, status: number, notice?: { kind: 'ok' | 'error'; text: string }) =>
    kit.sendPage(
      request,
      reply,
      status,
      <OrganizationPage context={context} org={org.name} members={await accounts.listOrgMembers(org.name)} teams={await accounts.listTeams(org.name)} owner={org.owner} packageSettings={await packages.orgSettings(org.id)} notice={notice} />,
    );

  app.get('/orgs/:org', async (request, reply) => {
    const context = await kit.requireViewer(request, reply);
    if (!context) return reply;
    const org = await organizationFor((request.params as { org: string }).org, context.viewer);
    if (!org) return kit.notFound(request, reply);
    return page(request, reply, context, org, 200);
  });

  app.post('/orgs/:org/:change', async (request, reply) => {
    const form = await kit.formOf(request);
    if (!form) return kit.refuseForm(reply);
    const context = await kit.requireViewer(request, reply);
    if (!context) return reply;
    const org = await organizationFor((request.params as { org: string }).org, context.viewer);
    if (!org?.owner) return kit.notFound(request, reply);
    const user = (form.get('user') ?? '').trim();
    const team = (form.get('team') ?? '').trim();
    try {
      const change = (request.params as { change: string }).change;
      if (change === 'members') await accounts.setOrgMember(org.name, user, form.get('role') === 'owner' ? 'owner' : 'member');
      else if (change === 'members-remove') await accounts.removeOrgMember(org.name, user);
      else if (change === 'teams') await accounts.createTeam(org.name, parseAccountName(team, 'team'));
      else if (change === 'team-members') await accounts.addTeamMember(org.name, team, user);
      else if (change === 'package-settings') {
        const allowed = visibilities.filter((visibility) => form.getAll('visibilities').includes(visibility));
        await packages.setOrgSettings(org.id, { membersCanCreate: form.get('members_can_create') === 'yes', visibilities: allowed });
      }
      else return kit.notFound(request, reply);
    } catch (error) {
      if (error instanceof AccountNotFoundError || error instanceof AccountConflictError || error instanceof InvalidNameError || error instanceof PackageRuleError) {
        return page(request, reply, context, org, 409, { kind: 'error', text: error.message });
      }
      throw error;
    }
    return kit.redirect(reply, `/orgs/${org.name}`);
  });
}
