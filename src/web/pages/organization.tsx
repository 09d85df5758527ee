import type { OrgMember } from '../../accounts/account-service.js';
import type { OrgPackageSettings } from '../../packages/package-service.js';
import { visibilities } from '../../packages/roles.js';
import { CsrfField, Layout, Notice, type PageContext, PostButton } from '../layout.js';
import { Table } from '../table.js';

export interface OrganizationPageProps {
  context: PageContext;
  org: string;
  members: OrgMember[];
  teams: Array<{ name: string; members: string[] }>;
  /** Owners manage members and teams here; members only see them. */
  owner: boolean;
  packageSettings: OrgPackageSettings;
  notice?: { kind: 'ok' | 'error'; text: string };
}

/** `/orgs/{org}`: the organization's members and teams, for its members. */
export function OrganizationPage({ context, org, members, teams, owner, packageSettings, notice }: OrganizationPageProps) {
  const base = `/orgs/${org}`;
  return (
    <Layout context={context} title={org}>
      <h1>{org}</h1>
      <p>
        <a href={`${base}/packages`}>Packages</a>
      </p>
      <Notice notice={notice} />
      <h2 id="members">Members</h2>
      <Table labelledBy="members" columns={['Member', 'Role']} actions={owner}>
        {members.map((member) => (
          <tr>
            <td>{member.name}</td>
            <td>{member.role}</td>
            {owner && (
              <td>
                <PostButton context={context} action={`${base}/members-remove`} label="Remove" what={member.name} danger fields={{ user: member.name }} confirm={`Remove ${member.name} from ${org}?`} />
              </td>
            )}
          </tr>
        ))}
      </Table>
      {owner && (
        <form class="stack" method="post" action={`${base}/members`}>
          <CsrfField context={context} />
          <label for="member-user">User</label>
          <input type="text" id="member-user" name="user" required maxLength={39} />
          <label for="member-role">Role</label>
          <select id="member-role" name="role">
            <option value="member">member</option>
            <option value="owner">owner</option>
          </select>
          <div>
            <button type="submit">Add or change member</button>
          </div>
        </form>
      )}

      <h2>Teams</h2>
      {teams.length === 0 ? (
        <p class="muted">No teams.</p>
      ) : (
        <ul class="items">
          {teams.map((team) => (
            <li>
              <span class="name">{team.name}</span>: {team.members.length > 0 ? team.members.join(', ') : <span class="muted">no members</span>}
            </li>
          ))}
        </ul>
      )}
      {owner && (
        <>
          <form class="stack" method="post" action={`${base}/teams`}>
            <CsrfField context={context} />
            <label for="team-name">New team</label>
            <input type="text" id="team-name" name="team" required maxLength={39} />
            <div>
              <button type="submit">Create team</button>
            </div>
          </form>
          <form class="stack" method="post" action={`${base}/team-members`}>
            <CsrfField context={context} />
            <label for="team-of">Team</label>
            <select id="team-of" name="team">
              {teams.map((team) => (
                <option value={team.name}>{team.name}</option>
              ))}
            </select>
            <label for="team-user">Member to add</label>
            <input type="text" id="team-user" name="user" required maxLength={39} />
            <div>
              <button type="submit">Add to team</button>
            </div>
          </form>
        </>
      )}
      <h2>Package creation</h2>
      {owner ? (
        <form class="stack" method="post" action={`${base}/package-settings`}>
          <CsrfField context={context} />
          <label>
            <input type="checkbox" name="members_can_create" value="yes" checked={packageSettings.membersCanCreate} /> Members can publish new packages
          </label>
          <fieldset>
            <legend>Visibilities members may choose</legend>
            {visibilities.map((visibility) => (
              <label>
                <input type="checkbox" name="visibilities" value={visibility} checked={packageSettings.visibilities.includes(visibility)} /> {visibility}
              </label>
            ))}
          </fieldset>
          <div>
            <button type="submit">Save package creation settings</button>
          </div>
        </form>
      ) : (
        <p>
          {packageSettings.membersCanCreate ? 'Members can publish new packages' : 'Only owners can publish new packages'}, with visibility {packageSettings.visibilities.join(', ')}.
        </p>
      )}
    </Layout>
  );
}
