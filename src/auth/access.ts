import type { FastifyRequest } from 'fastify';
import { type AuditContext, requestAuditContext } from '../audit/audit-context.js';
import type { RepositoryName } from '../oci/names.js';

/** Actions of the Docker token scope grammar: `repository:<name>:pull,push,delete`. */
export type RepositoryAction = 'pull' | 'push' | 'delete';

export type AccessRequest =
  | { type: 'repository'; name: RepositoryName; actions: RepositoryAction[] }
  /** `base` is the API root `GET /v2/`, which only asks whether the caller is signed in. */
  | { type: 'registry'; name: 'catalog' | 'base' };

/** Who performs a request: a user, the holder of a repository token, or nobody known. */
export interface Actor {
  userId?: number;
  sourceRepositoryId?: number;
  /** Who, from which address and in which request, as the audit log records it. */
  audit?: AuditContext;
}

/**
 * The one authorization hook every registry route goes through. `authorize` throws UNAUTHORIZED
 * (with a challenge) or DENIED; `allows` answers without throwing, for optional access such as the
 * source repository of a cross-repository mount.
 */
export interface Authorizer {
  /**
   * `wanted` is access the request can use but does not need (the source repository of a mount):
   * a challenge names it next to `access`, so that a token asked for with the challenged scopes
   * carries it, as Distribution does.
   */
  authorize(request: FastifyRequest, access: AccessRequest, wanted?: readonly AccessRequest[]): Promise<void>;
  allows(request: FastifyRequest, access: AccessRequest): Promise<boolean>;
  /**
   * Which of `names` the caller may pull, for answers that list many (`_catalog`): the work is in
   * proportion to the names asked about, not to the registry.
   */
  pullable(request: FastifyRequest, names: readonly string[]): Promise<(name: string) => boolean>;
  /** Who is calling, for what a push records (the creator of a new package). */
  actor(request: FastifyRequest): Promise<Actor>;
}

/** Until accounts exist, anyone may pull and push anything. */
export const anonymousAuthorizer: Authorizer = {
  async authorize() {},
  async allows() {
    return true;
  },
  async pullable() {
    return () => true;
  },
  async actor(request) {
    return { audit: requestAuditContext(request) };
  },
};
