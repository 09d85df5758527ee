/** Reading and writing the web pages' cookies (RFC 6265), without a dependency for two cookies. */

/** The cookies of a request's `Cookie` header, by name; the first of a repeated name wins. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0) continue;
    const name = pair.slice(0, equals).trim();
    const value = pair.slice(equals + 1).trim();
    if (name !== '' && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export interface CookieOptions {
  /** Seconds; omitted makes a cookie that ends with the browser session, 0 removes it. */
  maxAge?: number;
  /** Only over HTTPS: set whenever Berth is served over HTTPS. */
  secure: boolean;
}

/** A `Set-Cookie` value: never readable by scripts, sent on top-level navigations from elsewhere only for GET. */
export function setCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax'];
  if (options.maxAge !== undefined) parts.push(`Max-Age=${options.maxAge}`);
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}
