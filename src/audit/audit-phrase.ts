import type { AuditFilter } from './audit-log.js';

export class AuditPhraseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditPhraseError';
  }
}

/**
 * GitHub's audit log search phrase, its basics: `action:package.` (a category prefix),
 * `action:package.delete`, `actor:alice`, `created:>=2024-01-01` (also `>`, `<`, `<=`, or a day),
 * separated by spaces (`+` in a URL). The same qualifier twice means either. Anything else is
 * refused rather than ignored, so that a filter that does not work does not look as if it did.
 */
export function parseAuditPhrase(phrase: string): AuditFilter {
  const actions: string[] = [];
  const actors: string[] = [];
  const filter: AuditFilter = {};
  for (const term of phrase.split(/\s+/).filter(Boolean)) {
    const colon = term.indexOf(':');
    const key = colon < 0 ? '' : term.slice(0, colon);
    const value = term.slice(colon + 1);
    if (value === '') throw new AuditPhraseError(`"${term.slice(0, 60)}" has no value`);
    if (key === 'action') actions.push(value);
    else if (key === 'actor') actors.push(value);
    else if (key === 'created') Object.assign(filter, createdRange(value));
    else throw new AuditPhraseError(`"${term.slice(0, 60)}" is not a filter: use action:, actor: or created:`);
  }
  if (actions.length > 0) filter.actions = actions;
  if (actors.length > 0) filter.actors = actors;
  return filter;
}

function createdRange(value: string): Pick<AuditFilter, 'since' | 'until'> {
  const match = /^(>=|<=|>|<)?(\d{4}-\d{2}-\d{2}(?:T[0-9:.]+Z?)?)$/.exec(value);
  const day = match?.[2];
  if (!match || !day || Number.isNaN(Date.parse(day))) throw new AuditPhraseError(`created:${value.slice(0, 40)} is not a date: use created:>=YYYY-MM-DD`);
  const at = new Date(day).toISOString();
  const isDay = !day.includes('T');
  const next = new Date(Date.parse(at) + (isDay ? 24 * 3600 * 1000 : 1)).toISOString();
  switch (match[1]) {
    case '>=':
      return { since: at };
    case '>':
      return { since: next };
    case '<':
      return { until: at };
    case '<=':
      return { until: next };
    default:
      return isDay ? { since: at, until: next } : { since: at, until: next };
  }
}

/** `--since` on the command line: a date or a time. */
export function parseSince(value: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new AuditPhraseError(`--since ${value.slice(0, 40)} is not a date: use YYYY-MM-DD or an ISO time`);
  return new Date(time).toISOString();
}
