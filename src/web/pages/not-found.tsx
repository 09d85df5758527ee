import { Layout, type PageContext } from '../layout.js';

/** The same page for what does not exist and for what the viewer may not see. */
export function NotFoundPage({ context }: { context: PageContext }) {
  return (
    <Layout context={context} title="Not found">
      <h1>Not found</h1>
      <p>There is nothing here, or you may not see it.</p>
      {!context.viewer && (
        <p>
          <a href="/login">Sign in</a> to see private packages you have access to.
        </p>
      )}
    </Layout>
  );
}
