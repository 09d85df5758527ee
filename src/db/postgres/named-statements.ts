import type pg from 'pg';
import { isPreparedText } from '../prepared-query.js';

/** The server-side name of each prepared statement's text, the same on every connection. */
const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `berth_${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}

type Query = (text: unknown, values?: unknown, ...rest: unknown[]) => unknown;

/**
 * Makes a pooled connection run the statements compiled once (`preparedStatement`) as named
 * statements: `pg` parses and plans such a statement on the server the first time the connection
 * runs it, and from then on sends only its arguments. These are the statements of the hot paths
 * (a push's writes, a pull's reads), small ones whose parsing and planning would cost the server
 * more than running them. Every other query (ad-hoc, with lists of varying length, transaction
 * control) stays unnamed: the names are the code's fixed set of prepared statements, so a
 * connection never holds more.
 */
export function namePreparedStatements(client: pg.ClientBase): void {
  const query = client.query.bind(client) as Query;
  const named: Query = (text, values, ...rest) =>
    typeof text === 'string' && Array.isArray(values) && rest.length === 0 && isPreparedText(text)
      ? query({ name: nameOf(text), text, values })
      : query(text, values, ...rest);
  client.query = named as typeof client.query;
}
