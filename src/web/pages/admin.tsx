import type { Account } from '../../accounts/account-service.js';
import { CopyableCommand, CsrfField, Layout, Notice, type PageContext, PostButton } from '../layout.js';

export interface AdminPageProps {
  context: PageContext;
  users: Account[];
  orgs: Account[];
  /** A user just created, with the password to hand over, shown this once. */
  created?: { name: string; password: string };
  notice?: { kind: 'ok' | 'error'; text: string };
}

/** `/admin`, for site administrators: every account, and new users and organizations. */
export function AdminPage({ context, users, orgs, created, notice }: AdminPageProps) {
  return (
    <Layout context={context} title="Site administration">
      <h1>Site administration</h1>
      <Notice notice={notice} />
      <p>
        <a href="/admin/audit-log">Audit log</a>
      </p>
      {created && (
        <section class="notice ok" aria-labelledby="created-user">
          <h2 id="created-user">{created.name} is created</h2>
          <p>Hand over this password; it is not shown again.</p>
          <CopyableCommand label={`Password of ${created.name}`} command={created.password} />
        </section>
      )}
      <h2 id="users">Users</h2>
      <ul class="items" aria-labelledby="users">
        {users.map((user) => (
          <li>
            <a class="name" href={`/users/${user.name}/packages`}>
              {user.name}
            </a>{' '}
            {user.isAdmin && <span class="badge">site admin</span>} {user.suspendedAt && <span class="badge">suspended</span>}{' '}
            <span class="muted">since {user.createdAt.slice(0, 10)}</span>
            {user.name !== context.viewer?.name &&
              (user.isAdmin ? (
                <PostButton context={context} action={`/admin/users/${user.name}/remove-admin`} label="Remove site admin" what={`rights of ${user.name}`} />
              ) : (
                <PostButton context={context} action={`/admin/users/${user.name}/make-admin`} label="Make site admin" what={user.name} />
              ))}
            {user.name !== context.viewer?.name &&
              (user.suspendedAt ? (
                <PostButton context={context} action={`/admin/users/${user.name}/unsuspend`} label="Lift suspension" what={`of ${user.name}`} />
              ) : (
                <PostButton
                  context={context}
                  action={`/admin/users/${user.name}/suspend`}
                  label="Suspend"
                  what={user.name}
                  danger
                  confirm={`Suspend ${user.name}? Their tokens and sessions stop working until the suspension is lifted.`}
                />
              ))}
          </li>
        ))}
      </ul>
      <form class="stack" method="post" action="/admin/users">
        <CsrfField context={context} />
        <label for="new-user">New user</label>
        <input type="text" id="new-user" name="name" required maxLength={39} />
        <label>
          <input type="checkbox" name="admin" value="yes" /> Site administrator
        </label>
        <div>
          <button type="submit">Create user</button>
        </div>
      </form>
      <h2 id="orgs">Organizations</h2>
      <ul class="items" aria-labelledby="orgs">
        {orgs.map((org) => (
          <li>
            <a class="name" href={`/orgs/${org.name}/packages`}>
              {org.name}
            </a>
          </li>
        ))}
      </ul>
      <form class="stack" method="post" action="/admin/orgs">
        <CsrfField context={context} />
        <label for="new-org">New organization</label>
        <input type="text" id="new-org" name="name" required maxLength={39} />
        <label for="org-owner">Its first owner</label>
        <input type="text" id="org-owner" name="owner" required maxLength={39} />
        <div>
          <button type="submit">Create organization</button>
        </div>
      </form>
    </Layout>
  );
}
