import type { AccessTokenInfo } from '../../auth/personal-access-tokens.js';
import { type TokenScope, tokenScopes } from '../../auth/scopes.js';
import { CopyableCommand, CsrfField, Layout, Notice, type PageContext, PostButton } from '../layout.js';
import { Table } from '../table.js';

const scopeHelp: Record<TokenScope, string> = {
  'read:packages': 'Download packages and read their metadata',
  'write:packages': 'Upload packages (and download them)',
  'delete:packages': 'Delete packages',
};

export function TokensPage({ context, tokens, created }: { context: PageContext; tokens: AccessTokenInfo[]; created?: { token: string; info: AccessTokenInfo } }) {
  const live = tokens.filter((token) => token.revokedAt === null);
  return (
    <Layout context={context} title="Personal access tokens">
      <h1>Personal access tokens</h1>
      {created && (
        <section class="notice ok" aria-labelledby="new-token">
          <h2 id="new-token">Your new token</h2>
          <p>Copy it now: it is not shown again.</p>
          <CopyableCommand label="New personal access token" command={created.token} />
        </section>
      )}
      <p>
        <a href="/settings/tokens/new">Generate new token</a>
      </p>
      {live.length === 0 ? (
        <p class="muted">You have no tokens.</p>
      ) : (
        <Table columns={['Note', 'Scopes', 'Expires', 'Last used']} actions>
          {live.map((token) => (
            <tr>
              <td>
                {token.note ?? <span class="muted">(no note)</span>} <code>{token.hint}</code>
              </td>
              <td>{token.scopes.join(', ')}</td>
              <td>{token.expiresAt ? token.expiresAt.slice(0, 10) : 'never'}</td>
              <td>{token.lastUsedAt ? token.lastUsedAt.slice(0, 10) : 'never'}</td>
              <td>
                <PostButton context={context} action={`/settings/tokens/${token.id}/revoke`} label="Revoke" what={token.note ?? token.hint} danger confirm="Revoke this token? Anything using it stops working." />
              </td>
            </tr>
          ))}
        </Table>
      )}
    </Layout>
  );
}

export function NewTokenPage({ context, checked, note, error }: { context: PageContext; checked: ReadonlySet<TokenScope>; note?: string; error?: string }) {
  return (
    <Layout context={context} title="New personal access token">
      <h1>New personal access token</h1>
      <Notice notice={error === undefined ? undefined : { kind: 'error', text: error }} />
      <form class="stack" method="post" action="/settings/tokens">
        <CsrfField context={context} />
        <label for="note">Note</label>
        <input type="text" id="note" name="note" maxLength={100} value={note ?? ''} />
        <label for="expiration">Expiration</label>
        <select id="expiration" name="expiration">
          <option value="7d">7 days</option>
          <option value="30d" selected>
            30 days
          </option>
          <option value="90d">90 days</option>
          <option value="365d">1 year</option>
          <option value="never">No expiration</option>
        </select>
        <fieldset>
          <legend>Scopes</legend>
          {tokenScopes.map((scope) => (
            <label>
              <input type="checkbox" name="scopes" value={scope} checked={checked.has(scope)} /> <code>{scope}</code> <span class="muted">{scopeHelp[scope]}</span>
            </label>
          ))}
        </fieldset>
        <div>
          <button class="primary" type="submit">
            Generate token
          </button>
        </div>
      </form>
    </Layout>
  );
}
