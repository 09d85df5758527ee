import type { RepositoryAction } from './access.js';

/** Personal access token scopes, as on ghcr.io. */
export const tokenScopes = ['read:packages', 'write:packages', 'delete:packages'] as const;
export type TokenScope = (typeof tokenScopes)[number];

/** Every scope, for credentials that are not limited by scopes (passwords, repository tokens). */
export const allScopes: readonly string[] = tokenScopes;

export class InvalidScopeError extends Error {
  constructor(value: string) {
    super(`unknown scope "${value.slice(0, 60)}": use ${tokenScopes.join(', ')}`);
    this.name = 'InvalidScopeError';
  }
}

/** Parses a comma- or space-separated list of token scopes, at least one. */
export function parseTokenScopes(text: string | readonly string[]): TokenScope[] {
  const parts = (typeof text === 'string' ? [text] : text).flatMap((item) => item.split(/[\s,]+/)).filter(Boolean);
  if (parts.length === 0) throw new InvalidScopeError('');
  const scopes = new Set<TokenScope>();
  for (const part of parts) {
    if (!(tokenScopes as readonly string[]).includes(part)) throw new InvalidScopeError(part);
    scopes.add(part as TokenScope);
  }
  return tokenScopes.filter((scope) => scopes.has(scope));
}

/** The registry actions a set of token scopes permits: `write:packages` includes read. */
export function actionsOfScopes(scopes: Iterable<string>): Set<RepositoryAction> {
  const actions = new Set<RepositoryAction>();
  for (const scope of scopes) {
    if (scope === 'read:packages') actions.add('pull');
    if (scope === 'write:packages') {
      actions.add('pull');
      actions.add('push');
    }
    if (scope === 'delete:packages') actions.add('delete');
  }
  return actions;
}

/** One entry of a registry token's `access` claim (Docker token spec). */
export interface ResourceAccess {
  type: string;
  name: string;
  actions: string[];
}

/**
 * The most scopes one token request may name. A client asks for a handful: a push names its
 * repository and the few it mounts blobs from. Every scope becomes an entry of the token, which
 * the client must send back in a header.
 */
export const maxRequestedScopes = 50;
/** The longest scope: room for `repository:`, the longest name and every action (285 characters). */
export const maxScopeLength = 300;

/** A token request named too many scopes, or one too long to be a scope. */
export class ScopeRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScopeRequestError';
  }
}

/**
 * Parses the `scope` parameters of a token request: each may hold several space-separated scopes
 * `type:name:actions`, and the same resource may appear more than once (cross-repository mounts);
 * those are merged. The name may itself contain `:` (a registry host with a port), so the type is
 * what precedes the first colon and the actions what follows the last. Malformed scopes are dropped;
 * more than `maxRequestedScopes`, or one longer than `maxScopeLength`, are refused.
 */
export function parseResourceScopes(values: readonly string[]): ResourceAccess[] {
  const items = values.flatMap((value) => value.split(' ')).filter(Boolean);
  if (items.length > maxRequestedScopes) throw new ScopeRequestError(`the request names ${items.length} scopes; at most ${maxRequestedScopes} are allowed`);
  const long = items.find((item) => item.length > maxScopeLength);
  if (long !== undefined) throw new ScopeRequestError(`a scope of ${long.length} characters is longer than the ${maxScopeLength} allowed`);
  const merged = new Map<string, ResourceAccess>();
  for (const item of items) {
    const first = item.indexOf(':');
    const last = item.lastIndexOf(':');
    if (first <= 0 || last === first) continue;
    const type = item.slice(0, first);
    const name = item.slice(first + 1, last);
    const actions = item.slice(last + 1).split(',').filter(Boolean);
    if (!name) continue;
    const key = `${type}:${name}`;
    const entry = merged.get(key) ?? { type, name, actions: [] };
    for (const action of actions) if (!entry.actions.includes(action)) entry.actions.push(action);
    merged.set(key, entry);
  }
  return [...merged.values()];
}
