/** Domain errors of the accounts service; the HTTP and CLI edges translate them. */
export class AccountNotFoundError extends Error {
  constructor(what: string, name: string) {
    super(`${what} "${name.slice(0, 60)}" not found`);
    this.name = 'AccountNotFoundError';
  }
}

export class AccountConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountConflictError';
  }
}
