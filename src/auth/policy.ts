import type { AccountService } from '../accounts/account-service.js';
import type { RepositoryAction } from './access.js';
import { actionsOfScopes } from './scopes.js';

/** The signed-in party a decision is about: a user, and the scopes of the credential used. */
export interface Subject {
  userId: number;
  scopes: readonly string[];
}

/**
 * What a subject may do with a repository: the intersection of the credential's scopes (pull needs
 * read:packages, push write:packages, delete delete:packages) and the user's rights on the
 * repository. Until packages define roles, users have every right in their own namespace (the
 * first path component equals their name) and in the namespaces of their organizations.
 * Anonymous callers have none yet: no package is public.
 */
export class RepositoryPolicy {
  constructor(private readonly accounts: AccountService) {}

  async grant(subject: Subject | undefined, name: string, requested: readonly string[]): Promise<RepositoryAction[]> {
    if (!subject) return [];
    const namespaces = await this.accounts.namespacesOf(subject.userId);
    return this.decide(subject, namespaces, name, requested);
  }

  /** A predicate for many repositories at once (`_catalog`): may the subject pull it? */
  async pullable(subject: Subject | undefined): Promise<(name: string) => boolean> {
    if (!subject) return () => false;
    const namespaces = await this.accounts.namespacesOf(subject.userId);
    return (name) => this.decide(subject, namespaces, name, ['pull']).length > 0;
  }

  private decide(subject: Subject, namespaces: Set<string>, name: string, requested: readonly string[]): RepositoryAction[] {
    const namespace = name.split('/', 1)[0] ?? '';
    if (!namespaces.has(namespace)) return [];
    const permitted = actionsOfScopes(subject.scopes);
    const granted: RepositoryAction[] = [];
    for (const action of requested) {
      if (permitted.has(action as RepositoryAction) && !granted.includes(action as RepositoryAction)) granted.push(action as RepositoryAction);
    }
    return granted;
  }
}
