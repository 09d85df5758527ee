import type { ComponentChildren } from 'preact';
import { assets } from './assets.js';
import { csrfField } from './csrf.js';

/** Who is looking at a page, if anybody is signed in. */
export interface Viewer {
  userId: number;
  name: string;
  /** The session the viewer is signed in with. */
  sessionId: number;
  /** A site administrator, who has `/admin`. */
  isAdmin: boolean;
}

/** What every page knows of its request. */
export interface PageContext {
  viewer: Viewer | undefined;
  /** The value every form posts back in its hidden `csrf` field. */
  csrf: string;
  /** Host (and port) of the registry, as `docker pull` needs it. */
  registryHost: string;
}

/** The hidden field that proves a form was posted from a Berth page. */
export function CsrfField({ context }: { context: PageContext }) {
  return <input type="hidden" name={csrfField} value={context.csrf} />;
}

export function Layout({ context, title, children }: { context: PageContext; title: string; children: ComponentChildren }) {
  const { viewer } = context;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Berth`}</title>
        <link rel="stylesheet" href={assets.stylesheet.path} />
        <script src={assets.script.path} defer />
      </head>
      <body>
        <header class="site">
          <a class="brand" href="/">
            Berth
          </a>
          <nav aria-label="Site">
            {viewer ? (
              <>
                <a href={`/users/${viewer.name}/packages`}>Your packages</a>
                <a href="/settings/tokens">Tokens</a>
                <a href="/settings/sessions">Sessions</a>
                {viewer.isAdmin && <a href="/admin">Admin</a>}
                <form method="post" action="/logout">
                  <CsrfField context={context} />
                  <button class="link" type="submit">
                    Sign out {viewer.name}
                  </button>
                </form>
              </>
            ) : (
              <a href="/login">Sign in</a>
            )}
          </nav>
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}

/** A link to a URL a pusher chose, only when it is http or https; otherwise its text alone. */
export function ExternalLink({ href }: { href: string }) {
  let safe = false;
  try {
    const url = new URL(href);
    safe = url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    safe = false;
  }
  return safe ? (
    <a href={href} rel="nofollow noopener noreferrer">
      {href}
    </a>
  ) : (
    <span>{href}</span>
  );
}

/** A command with a button that copies it; the button appears only where the script runs. */
export function CopyableCommand({ label, command }: { label: string; command: string }) {
  return (
    <div class="command">
      <pre aria-label={label} tabIndex={0}>
        <code>{command}</code>
      </pre>
      <button type="button" data-copy={command} hidden aria-label={`Copy: ${label}`}>
        Copy
      </button>
    </div>
  );
}

/** A message at the top of a page: what went wrong (announced at once) or what was done. */
export function Notice({ notice }: { notice: { kind: 'ok' | 'error'; text: string } | undefined }) {
  if (!notice) return null;
  return (
    <p class={`notice ${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
      {notice.text}
    </p>
  );
}

/**
 * A form of one button that posts to `action` (with the CSRF field and any hidden `fields`);
 * `what` names the row it acts on for screen readers, `confirm` asks first where scripts run.
 */
export function PostButton(props: { context: PageContext; action: string; label: string; what?: string; danger?: boolean; confirm?: string; fields?: Record<string, string> }) {
  return (
    <form method="post" action={props.action} data-confirm={props.confirm}>
      <CsrfField context={props.context} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button class={props.danger ? 'danger' : undefined} type="submit">
        {props.label}
        {props.what && <span class="visually-hidden"> {props.what}</span>}
      </button>
    </form>
  );
}
