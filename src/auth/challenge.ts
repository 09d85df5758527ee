/** Where clients get registry tokens, and the service name tokens are issued for. */
export interface TokenRealm {
  realm: string;
  service: string;
}

export function tokenRealm(publicUrl: string): TokenRealm {
  return { realm: `${publicUrl}/token`, service: new URL(publicUrl).host };
}

/**
 * The `WWW-Authenticate` challenge of the Docker token spec: `Bearer realm=...,service=...`, with
 * the scope the request needs and, when a token was presented, why it was not enough.
 */
export function bearerChallenge(realm: TokenRealm, scope?: string, error?: 'insufficient_scope' | 'invalid_token'): string {
  let header = `Bearer realm="${realm.realm}",service="${realm.service}"`;
  if (scope !== undefined) header += `,scope="${scope}"`;
  if (error !== undefined) header += `,error="${error}"`;
  return header;
}
