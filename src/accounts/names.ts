/**
 * Account names (users and organizations share one namespace), by GitHub's rules: ASCII letters,
 * digits and single hyphens, not at the start or end, at most 39 characters. Names are unique
 * regardless of case; `nameKey` is the form they are compared in.
 */
export type AccountName = string & { readonly __brand: 'AccountName' };

export const maxAccountNameLength = 39;
const grammar = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*$/;

export class InvalidNameError extends Error {
  constructor(what: string, value: string) {
    super(
      `invalid ${what} name "${value.slice(0, 60)}": use letters, digits and single inner hyphens, at most ${maxAccountNameLength} characters`,
    );
    this.name = 'InvalidNameError';
  }
}

export function parseAccountName(value: string, what = 'account'): AccountName {
  if (value.length === 0 || value.length > maxAccountNameLength || !grammar.test(value)) throw new InvalidNameError(what, value);
  return value as AccountName;
}

/** The case-insensitive key of a name; repository namespaces (always lowercase) compare to it. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}
