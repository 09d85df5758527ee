import type { ImmutableTagRule } from './immutable-tags.js';

/** Domain errors of packages; the REST API and the CLI translate them. */
export class PackageNotFoundError extends Error {
  constructor(what: string) {
    super(`${what.slice(0, 300)} not found`);
    this.name = 'PackageNotFoundError';
  }
}

/** The request conflicts with the package's state (a referenced version, a name in use). */
export class PackageConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackageConflictError';
  }
}

/** The request is well-formed but not allowed by the rules (public back to private, ...). */
export class PackageRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackageRuleError';
  }
}

/** The caller lacks a role or a token scope; the message names the missing permission. */
export class PackageForbiddenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackageForbiddenError';
  }
}

/** An immutable tag would move or disappear; the message names the tag and the rule. */
export class ImmutableTagError extends PackageConflictError {
  constructor(
    readonly tag: string,
    readonly rule: ImmutableTagRule,
    action: string,
  ) {
    const setOn = rule.setOn === 'package' ? `of package ${rule.of}` : `set by ${rule.of} for its packages`;
    super(`tag "${tag}" is immutable (pattern ${JSON.stringify(rule.pattern)} ${setOn}): cannot ${action}`);
    this.name = 'ImmutableTagError';
  }
}

/**
 * A manifest that a tagged index lists (a platform image, an attestation) would be deleted, which
 * would break the index: the same rule for the REST API, the pages and `/v2`.
 */
export class ListedByTaggedIndexError extends PackageConflictError {
  constructor(
    what: string,
    readonly parents: ReadonlyArray<{ digest: string; tags: readonly string[] }>,
    hint: string,
  ) {
    super(`${what} is part of the tagged index ${parents.map((parent) => `${parent.digest} (${parent.tags.join(', ')})`).join('; ')}: ${hint}`);
    this.name = 'ListedByTaggedIndexError';
  }
}
