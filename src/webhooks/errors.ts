/** A hook's URL that Berth will not deliver to: malformed, unresolvable, or to a refused address. */
export class HookUrlError extends Error {
  override name = 'HookUrlError';
}

/** A hook's settings that are not valid (events, format, content type). */
export class HookSettingsError extends Error {
  override name = 'HookSettingsError';
}

export class HookNotFoundError extends Error {
  override name = 'HookNotFoundError';
}
