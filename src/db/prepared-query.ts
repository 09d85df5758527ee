import type { Compilable, CompiledQuery } from 'kysely';
import type { Database } from './schema.js';

/**
 * A query built and compiled once, then run with new arguments. Kysely builds and compiles a
 * query on every call, which on the hottest reads (a manifest by tag, a blob's size) costs more
 * than SQLite's execution of it. The query is built with a placeholder for each argument; each
 * run substitutes the arguments at the placeholders' positions in the compiled parameters.
 *
 * @example
 * const byName = preparedQuery(db, (name) => db.selectFrom('repositories').select('id').where('name', '=', name));
 * const rows = await byName('acme/app');
 */
export function preparedQuery<Row, Args extends unknown[]>(
  db: Database,
  build: (...placeholders: string[]) => Compilable<Row>,
): (...args: Args) => Promise<Row[]> {
  const placeholders = Array.from({ length: build.length }, (_, index) => `\u0000argument ${index}\u0000`);
  const compiled: CompiledQuery<Row> = build(...placeholders).compile();
  const positions = compiled.parameters.map((parameter) => placeholders.indexOf(parameter as string));
  if (placeholders.some((placeholder) => !compiled.parameters.includes(placeholder))) {
    throw new Error(`a prepared query does not use all its arguments: ${compiled.sql}`);
  }
  return async (...args: Args) => {
    const parameters = compiled.parameters.map((parameter, index) => {
      const position = positions[index] ?? -1;
      return position >= 0 ? args[position] : parameter;
    });
    const result = await db.executeQuery<Row>({ ...compiled, parameters });
    return result.rows;
  };
}
