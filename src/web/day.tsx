/** The day of an ISO-8601 timestamp (`2026-06-01`), with the whole timestamp for machines. */
export function Day({ at }: { at: string }) {
  return <time datetime={at}>{at.slice(0, 10)}</time>;
}
