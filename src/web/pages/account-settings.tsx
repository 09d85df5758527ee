import type { Session } from '../sessions.js';
import { CsrfField, Layout, Notice, type PageContext, PostButton } from '../layout.js';
import { Table } from '../table.js';

export interface AccountSettingsProps {
  context: PageContext;
  sessions: Session[];
  /** The session this page is seen through, which is marked rather than offered for ending. */
  currentSessionId: number | undefined;
  notice?: { kind: 'ok' | 'error'; text: string };
}

/** `/settings/sessions`: where the user is signed in, and their password. */
export function AccountSettingsPage({ context, sessions, currentSessionId, notice }: AccountSettingsProps) {
  return (
    <Layout context={context} title="Sessions and password">
      <h1>Sessions and password</h1>
      <Notice notice={notice} />
      <h2 id="sessions">Where you are signed in</h2>
      <Table labelledBy="sessions" columns={['Browser', 'Signed in', 'Last seen']} actions>
        {sessions.map((session) => (
          <tr>
            <td>{session.userAgent || 'unknown'}</td>
            <td>{session.createdAt.slice(0, 16).replace('T', ' ')}</td>
            <td>{session.lastSeenAt.slice(0, 16).replace('T', ' ')}</td>
            <td>
              {session.id === currentSessionId ? (
                <span class="badge">this browser</span>
              ) : (
                <PostButton context={context} action={`/settings/sessions/${session.id}/revoke`} label="Sign out" what={`session ${session.id}`} danger />
              )}
            </td>
          </tr>
        ))}
      </Table>

      <h2>Change password</h2>
      <form class="stack" method="post" action="/settings/password">
        <CsrfField context={context} />
        <label for="current">Current password</label>
        <input type="password" id="current" name="current" autocomplete="current-password" required />
        <label for="new">New password (at least 8 characters)</label>
        <input type="password" id="new" name="new" autocomplete="new-password" required minLength={8} />
        <p class="muted">Every other browser is signed out. Personal access tokens keep working.</p>
        <div>
          <button class="primary" type="submit">
            Change password
          </button>
        </div>
      </form>
    </Layout>
  );
}
