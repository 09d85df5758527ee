import type { AccessDecision, AnySubject, PackageAccess } from '../packages/package-access.js';
import type { RepositoryAction } from './access.js';

export type { AnySubject, RepositorySubject, Subject } from '../packages/package-access.js';

/**
 * What a subject may do with a repository: the intersection of the credential's scopes (pull needs
 * read:packages, push write:packages, delete delete:packages) and the subject's role on the
 * package (see src/packages/roles.ts). Anonymous callers (no subject) may pull public packages.
 */
export class RepositoryPolicy {
  constructor(private readonly packages: PackageAccess) {}

  async grant(subject: AnySubject | undefined, name: string, requested: readonly string[]): Promise<RepositoryAction[]> {
    return (await this.packages.decide(subject, name, requested)).granted;
  }

  decide(subject: AnySubject | undefined, name: string, requested: readonly string[]): Promise<AccessDecision> {
    return this.packages.decide(subject, name, requested);
  }

  /** A predicate for many repositories at once (`_catalog`): may the subject pull it? */
  pullable(subject: AnySubject | undefined, names: readonly string[]): Promise<(name: string) => boolean> {
    return this.packages.pullable(subject, names);
  }
}
