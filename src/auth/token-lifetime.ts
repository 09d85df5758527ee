import { parseDuration } from '../config.js';

/**
 * The longest lifetime a personal access token can be given: a year, as GitHub allows for
 * fine-grained tokens. A token for which no lifetime is given does not expire.
 */
export const maxTokenLifetimeMs = 365 * 86_400_000;
const minTokenLifetimeMs = 1000;

export class InvalidTokenLifetimeError extends Error {
  constructor() {
    super('must be a duration from 1s to 365d, like 30d or 12h (leave it out for a token that does not expire)');
    this.name = 'InvalidTokenLifetimeError';
  }
}

/** Parses a personal access token's lifetime (`30d`, `12h`): at least a second, at most a year. */
export function parseTokenLifetime(text: string): number {
  let ms;
  try {
    ms = parseDuration(text);
  } catch {
    throw new InvalidTokenLifetimeError();
  }
  if (!(ms >= minTokenLifetimeMs && ms <= maxTokenLifetimeMs)) throw new InvalidTokenLifetimeError();
  return ms;
}
