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
