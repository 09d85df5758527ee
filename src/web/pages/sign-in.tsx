import { CsrfField, Layout, Notice, type PageContext } from '../layout.js';

export function SignInPage({ context, next, username, error }: { context: PageContext; next: string; username?: string; error?: string }) {
  return (
    <Layout context={context} title="Sign in">
      <h1>Sign in to Berth</h1>
      <Notice notice={error === undefined ? undefined : { kind: 'error', text: error }} />
      <form class="stack" method="post" action="/login">
        <CsrfField context={context} />
        <input type="hidden" name="next" value={next} />
        <label for="username">User name</label>
        <input type="text" id="username" name="username" autocomplete="username" required value={username ?? ''} />
        <label for="password">Password</label>
        <input type="password" id="password" name="password" autocomplete="current-password" required />
        <div>
          <button class="primary" type="submit">
            Sign in
          </button>
        </div>
      </form>
    </Layout>
  );
}
