/**
 * jose, loaded at its first use rather than at start (46 modules): a server on an existing data
 * directory needs it only once a client asks for a registry token or sends one.
 */
let loading: Promise<typeof import('jose')> | undefined;

export function loadJose(): Promise<typeof import('jose')> {
  loading ??= import('jose');
  return loading;
}
