import type { PackageRole, Visibility } from '../../db/schema.js';
import { packagePagePath, packagePathPrefix } from '../../packages/package-json.js';
import type { PackageRecord } from '../../packages/package-service.js';
import type { RoleGrant } from '../../packages/role-holders.js';
import { type RetentionDeletion, type RetentionPolicy, retentionPolicyJson } from '../../packages/retention-policy.js';
import { visibilities } from '../../packages/roles.js';
import { CsrfField, Layout, Notice, type PageContext, PostButton } from '../layout.js';
import { Table } from '../table.js';

const roles: readonly PackageRole[] = ['read', 'write', 'admin'];

/** A form's `role` field: one of the package roles. */
function RoleField({ id }: { id: string }) {
  return (
    <>
      <label for={id}>Role</label>
      <select id={id} name="role">
        {roles.map((role) => (
          <option value={role}>{role}</option>
        ))}
      </select>
    </>
  );
}

export function settingsPath(pkg: PackageRecord): string {
  return `${packagePathPrefix(pkg)}/settings`;
}

export interface SettingsPageProps {
  context: PageContext;
  pkg: PackageRecord;
  grants: RoleGrant[];
  /** The visibilities the package's owner allows. */
  allowed: readonly Visibility[];
  /** The source repositories whose tokens may use the package, with their roles. */
  repositoryAccess: Array<{ repository: string; role: PackageRole }>;
  /** The retention policy that applies (`by` names it) and what it would delete now. */
  retention: { by: string | undefined; policy: RetentionPolicy | undefined; preview: RetentionDeletion[] };
  notice?: { kind: 'ok' | 'error'; text: string };
}

/** The most planned deletions the page lists; the API's preview lists them all. */
const previewShown = 50;

/** `…/container/{name}/settings`, for the package's admins: access, visibility, deletion. */
export function PackageSettingsPage({ context, pkg, grants, allowed, repositoryAccess, retention, notice }: SettingsPageProps) {
  const base = settingsPath(pkg);
  return (
    <Layout context={context} title={`Settings of ${pkg.repository}`}>
      <p class="muted">
        <a href={packagePagePath(pkg)}>{pkg.repository}</a> / settings
      </p>
      <h1>Package settings</h1>
      <Notice notice={notice} />

      <h2 id="access">Manage access</h2>
      {grants.length === 0 ? (
        <p class="muted">Nobody has a role of their own on this package.</p>
      ) : (
        <Table labelledBy="access" columns={['Who', 'Role']} actions>
          {grants.map((grant) => (
            <tr>
              <td>
                {grant.name} <span class="badge">{grant.kind}</span>
              </td>
              <td>{grant.role}</td>
              <td>
                <PostButton context={context} action={`${base}/roles-remove`} label="Remove" what={grant.name} danger fields={{ kind: grant.kind, principal: grant.name }} />
              </td>
            </tr>
          ))}
        </Table>
      )}
      <form class="stack" method="post" action={`${base}/roles`}>
        <CsrfField context={context} />
        <label for="principal">User or team</label>
        <input type="text" id="principal" name="principal" required maxLength={100} />
        <label for="kind">It is a</label>
        <select id="kind" name="kind">
          <option value="user">user</option>
          {pkg.owner.kind === 'org' && <option value="team">team of {pkg.owner.login}</option>}
        </select>
        <RoleField id="role" />
        <div>
          <button type="submit">Add</button>
        </div>
      </form>

      <h2>Source repository</h2>
      {pkg.source ? (
        <>
          <p>
            Linked to <strong>{`${pkg.source.owner.login}/${pkg.source.name}`}</strong>
            {pkg.inheritAccess ? ', whose collaborators have the same access to this package.' : '.'}
          </p>
          <PostButton context={context} action={`${base}/repository-unlink`} label="Unlink" what={`${pkg.source.owner.login}/${pkg.source.name}`} />
        </>
      ) : (
        <p class="muted">Not linked to a source repository.</p>
      )}
      <form class="stack" method="post" action={`${base}/repository`}>
        <CsrfField context={context} />
        <label for="source-repository">Link to repository (OWNER/REPO)</label>
        <input type="text" id="source-repository" name="repository" required maxLength={140} />
        <label>
          <input type="checkbox" name="inherit_access" value="yes" checked={pkg.inheritAccess} /> Inherit access from the repository
        </label>
        <div>
          <button type="submit">Link</button>
        </div>
      </form>

      <h2 id="repository-access">Repository access</h2>
      <p class="muted">Tokens of these repositories may use the package with the role given.</p>
      {repositoryAccess.length > 0 && (
        <Table labelledBy="repository-access" columns={['Repository', 'Role']} actions>
          {repositoryAccess.map((item) => (
            <tr>
              <td>{item.repository}</td>
              <td>{item.role}</td>
              <td>
                <PostButton context={context} action={`${base}/repository-access-remove`} label="Remove" what={item.repository} danger fields={{ repository: item.repository }} />
              </td>
            </tr>
          ))}
        </Table>
      )}
      <form class="stack" method="post" action={`${base}/repository-access`}>
        <CsrfField context={context} />
        <label for="access-repository">Repository (OWNER/REPO)</label>
        <input type="text" id="access-repository" name="repository" required maxLength={140} />
        <RoleField id="access-role" />
        <div>
          <button type="submit">Add repository</button>
        </div>
      </form>

      <h2 id="retention">Retention policy</h2>
      <RetentionSection retention={retention} />

      <h2>Danger zone</h2>
      <form class="stack" method="post" action={`${base}/visibility`}>
        <CsrfField context={context} />
        <label for="visibility">Visibility (now {pkg.visibility})</label>
        <select id="visibility" name="visibility">
          {visibilities
            .filter((each) => allowed.includes(each))
            .map((each) => (
              <option value={each} selected={each === pkg.visibility}>
                {each}
              </option>
            ))}
        </select>
        <p class="muted">Anyone can pull a public package, and a public package cannot be made private again.</p>
        <label for="confirm-visibility">Type {pkg.name} to confirm the change of visibility</label>
        <input type="text" id="confirm-visibility" name="confirm" required autocomplete="off" />
        <div>
          <button class="danger" type="submit">
            Change visibility
          </button>
        </div>
      </form>
      <form class="stack" method="post" action={`${base}/delete`}>
        <CsrfField context={context} />
        <p>Deleting the package deletes all its versions. It can be restored for 30 days, unless its name is used again.</p>
        <label for="confirm-delete">Type {pkg.name} to confirm the deletion</label>
        <input type="text" id="confirm-delete" name="confirm" required autocomplete="off" />
        <div>
          <button class="danger" type="submit">
            Delete this package
          </button>
        </div>
      </form>
    </Layout>
  );
}

/** The policy in effect and its preview; policies are set through the API or `berth package retention`. */
function RetentionSection({ retention }: { retention: SettingsPageProps['retention'] }) {
  if (!retention.by || !retention.policy) return <p class="muted">No retention policy applies: every version is kept until deleted by hand.</p>;
  const rules = Object.entries(retentionPolicyJson(retention.policy)).filter(([, value]) => value !== null && !(Array.isArray(value) && value.length === 0));
  return (
    <>
      <p>
        The policy of <strong>{retention.by.startsWith('package:') ? 'this package' : retention.by.replace(/^(org|user):/, '')}</strong> applies
        {rules.length === 0 ? ', and it keeps every version.' : ':'}
      </p>
      {rules.length > 0 && (
        <ul>
          {rules.map(([rule, value]) => (
            <li>
              <code>{rule}</code>: {Array.isArray(value) ? value.map((pattern) => <code>{pattern} </code>) : String(value)}
            </li>
          ))}
        </ul>
      )}
      {retention.preview.length === 0 ? (
        <p class="muted">It would delete nothing now.</p>
      ) : (
        <>
          <p>
            It would delete {retention.preview.length} version{retention.preview.length === 1 ? '' : 's'} now (restorable for 30 days):
          </p>
          <Table labelledBy="retention" columns={['Version', 'Tags', 'Why']}>
            {retention.preview.slice(0, previewShown).map((version) => (
              <tr>
                <td>
                  <code>{version.digest}</code>
                </td>
                <td>{version.tags.length > 0 ? version.tags.join(', ') : <span class="muted">untagged</span>}</td>
                <td>{version.reason}</td>
              </tr>
            ))}
          </Table>
          {retention.preview.length > previewShown && <p class="muted">and {retention.preview.length - previewShown} more.</p>}
        </>
      )}
    </>
  );
}
