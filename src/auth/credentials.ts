/**
 * Reading credentials from an `Authorization` header, for every surface: `/v2`, `/token` and
 * `/api`. Only parsing: checking a credential is the Authenticator's and the registry tokens' job.
 */

export interface BasicCredentials {
  username: string;
  password: string;
}

/** Parses `Authorization: Basic base64(user:secret)`; undefined for other schemes or malformed values. */
export function parseBasic(header: string | undefined): BasicCredentials | undefined {
  const match = header === undefined ? null : /^basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `Bearer` (RFC 6750), and GitHub's `token`, which its API clients send. */
export const apiTokenSchemes = ['bearer', 'token'] as const;

/**
 * The token of `Bearer <token>` (or of another of `schemes`, lower case; the header's scheme in
 * any case, then whitespace), or undefined for another scheme or a token with whitespace inside.
 * Written out rather than as a regular expression, which cost more than the rest of the check on a
 * 600-character registry token. A header value can hold no control characters but tabs (RFC 9110
 * 5.5; Node's parser refuses them), so spaces and tabs are the only whitespace to look for.
 */
export function bearerToken(header: string, schemes: readonly string[] = ['bearer']): string | undefined {
  for (const scheme of schemes) {
    if (header.length < scheme.length + 2 || header.slice(0, scheme.length).toLowerCase() !== scheme) continue;
    const separator = header[scheme.length];
    if (separator !== ' ' && separator !== '\t') return undefined;
    const token = header.slice(scheme.length + 1).trim();
    if (token === '' || token.includes(' ') || token.includes('\t')) return undefined;
    return token;
  }
  return undefined;
}
