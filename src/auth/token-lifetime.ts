import { parseDuration } from '../config.js';

/**
 * The longest lifetime a personal access token can be given: a year, as GitHub allows for
 * fine-grained tokens. A token for which no lifetime is given does not expire.
 */
export const maxTokenLifetimeMs = 365 * 86_400_000;
const minTokenLifetimeMs = 1000;

export class InvalidTokenLifetimeError extends Error {
  constructor(message = 'must be a duration from 1s to 365d, like 30d or 12h (leave it out for a token that does not expire)') {
    super(message);
    this.name = 'InvalidTokenLifetimeError';
  }
}

/**
 * Parses a token's lifetime (`30d`, `12h`): at least a second, at most `maxMs` (a year for a
 * personal access token). `maxText` names the maximum in the error.
 */
export function parseTokenLifetime(text: string, maxMs = maxTokenLifetimeMs, maxText = '365d'): number {
  let ms;
  try {
    ms = parseDuration(text);
  } catch {
    ms = Number.NaN;
  }
  if (!(ms >= minTokenLifetimeMs && ms <= maxMs)) {
    throw maxMs === maxTokenLifetimeMs ? new InvalidTokenLifetimeError() : new InvalidTokenLifetimeError(`must be a duration from 1s to ${maxText}, like 1h`);
  }
  return ms;
}
