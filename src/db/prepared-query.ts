import { type Compilable, type CompiledQuery, type Kysely, type QueryResult, type SelectQueryBuilder, sql } from 'kysely';
import { dialectOf } from './dialect.js';
import { directRunnerOf } from './direct-statements.js';
import type { Database, Schema } from './schema.js';

/**
 * Builds a statement from one placeholder per argument. The placeholders are strings at run time;
 * they are typed `never` so that they fit wherever the column's type is expected.
 */
export type Builder<Row> = (...placeholders: never[]) => Compilable<Row>;

/** A statement compiled once, run with new arguments on the database or inside a transaction. */
export type PreparedStatement<Row, Args extends unknown[]> = (executor: Kysely<Schema>, ...args: Args) => Promise<QueryResult<Row>>;

/**
 * The text of every statement compiled by `preparedStatement`: a fixed set, one per statement in
 * the code, which an engine may keep prepared on its server (PostgreSQL, per connection).
 */
const preparedTexts = new Set<string>();

/** Whether `sql` is the text of a statement compiled once and run many times (`preparedStatement`). */
export function isPreparedText(sql: string): boolean {
  return preparedTexts.has(sql);
}

/**
 * `select *` or `returning *`, bare or of a table. A server keeps a prepared statement's plan, and
 * PostgreSQL refuses to run a plan whose columns a migration has since changed.
 */
const allColumns = /\b(?:select|returning)\s+(?:distinct\s+)?(?:"[^"]+"\.)?\*|,\s*(?:"[^"]+"\.)?\*/i;

/**
 * A statement built and compiled once, then run with new arguments. Kysely builds and compiles a
 * query on every call, which on the registry's hot paths (a manifest by tag, the writes of a push)
 * costs about as much as SQLite's execution of it. The statement is built with a placeholder for
 * each argument; each run substitutes the arguments at the placeholders' positions in the compiled
 * parameters. It runs on whichever executor it is given: the database, or a transaction (directly,
 * bypassing Kysely's executor, in one that allows it: see `directlyWithin`).
 *
 * @example
 * const touch = preparedStatement((id, now) => db.updateTable('uploads').set({ updated_at: now }).where('id', '=', id));
 * await touch(trx, uploadId, new Date().toISOString());
 */
export function preparedStatement<Row, Args extends unknown[]>(build: Builder<Row>, arity = build.length): PreparedStatement<Row, Args> {
  const placeholders = Array.from({ length: arity }, (_, index) => `\u0000argument ${index}\u0000`);
  const compiled: CompiledQuery<Row> = build(...(placeholders as never[])).compile();
  const positions = compiled.parameters.map((parameter) => placeholders.indexOf(parameter as string));
  if (placeholders.some((placeholder) => !compiled.parameters.includes(placeholder))) {
    throw new Error(`a prepared statement does not use all its arguments: ${compiled.sql}`);
  }
  if (allColumns.test(compiled.sql)) {
    throw new Error(`a prepared statement names the columns it answers: ${compiled.sql}`);
  }
  preparedTexts.add(compiled.sql);
  return (executor, ...args) => {
    const parameters = compiled.parameters.map((parameter, index) => {
      const position = positions[index] ?? -1;
      return position >= 0 ? args[position] : parameter;
    });
    const direct = directRunnerOf(executor);
    if (!direct) return executor.executeQuery<Row>({ ...compiled, parameters });
    try {
      return Promise.resolve(direct(compiled.sql, parameters) as QueryResult<Row>);
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

/**
 * A statement compiled once for each dialect it meets (see `preparedStatement`), for code that is
 * handed its executor at each call (the database, or a transaction) rather than built over one:
 * `build` receives the executor of the first call of that dialect, only to build the statement.
 *
 * @example
 * const hooksOf = statementPerDialect((db) => (ownerId) => db.selectFrom('hooks').select(['id', 'url']).where('account_id', '=', ownerId));
 * const { rows } = await hooksOf(trx, 7);
 */
export function statementPerDialect<Row, Args extends unknown[]>(build: (db: Kysely<Schema>) => Builder<Row>): PreparedStatement<Row, Args> {
  const compiled = new Map<string, PreparedStatement<Row, Args>>();
  return (executor, ...args) => {
    const dialect = dialectOf(executor).name;
    let statement = compiled.get(dialect);
    if (!statement) compiled.set(dialect, (statement = preparedStatement<Row, Args>(build(executor))));
    return statement(executor, ...args);
  };
}

/**
 * A read compiled once (see `preparedStatement`), run on the database, answering its rows.
 *
 * @example
 * const byName = preparedQuery(db, (name) => db.selectFrom('repositories').select('id').where('name', '=', name));
 * const rows = await byName('acme/app');
 */
export function preparedQuery<Row, Args extends unknown[]>(db: Database, build: Builder<Row>, arity = build.length): (...args: Args) => Promise<Row[]> {
  const statement = preparedStatement<Row, Args>(build, arity);
  return async (...args: Args) => (await statement(db, ...args)).rows;
}

/**
 * Marks a query whose rows are wanted as the values of their one column. The SQLite adapter
 * prepares such a statement in better-sqlite3's `pluck` mode: building a row object for each row
 * cost 0.6 of the 1 µs per row of a 10,000-tag listing. Other dialects ignore the comment.
 */
export const oneColumnMarker = '/* one column */';

/**
 * A listing of one scalar column compiled once (see `preparedQuery`), answering the column's
 * values in order.
 *
 * @example
 * const names = preparedColumn<string, [number]>(db, (limit) => db.selectFrom('repositories').select('name').orderBy('name').limit(limit));
 */
export function preparedColumn<Value, Args extends unknown[]>(
  db: Database,
  // Any tables; the selection is one column of type Value.
  build: (...placeholders: never[]) => SelectQueryBuilder<any, any, Record<string, Value>>,
): (...args: Args) => Promise<Value[]> {
  const rows = preparedQuery<unknown, Args>(db, (...placeholders) => build(...placeholders).modifyEnd(sql.raw(oneColumnMarker)), build.length);
  return async (...args: Args) => (await rows(...args)).map((row) => (isRowObject(row) ? (Object.values(row)[0] as Value) : (row as Value)));
}

function isRowObject(row: unknown): row is Record<string, unknown> {
  return typeof row === 'object' && row !== null && !(row instanceof Uint8Array);
}
