/**
 * The secret with its last character replaced by a different one, so a test of a refused secret
 * can never send, by chance, the very secret it alters.
 */
export function alteredSecret(secret: string): string {
  const last = secret.slice(-1);
  return `${secret.slice(0, -1)}${last === 'x' ? 'y' : 'x'}`;
}
