import { type ColumnDefinitionBuilder, type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely';

/**
 * What differs between the databases Berth's schema and queries run on, in one place. Everything
 * else is written once: integer columns hold booleans as 0 and 1 (better-sqlite3 cannot bind a
 * JavaScript boolean, and both databases compare integers alike), timestamps are ISO 8601 text
 * (which sorts by time on both), and JSON is text parsed by Berth.
 */
export interface SchemaDialect {
  readonly name: 'sqlite' | 'postgres';
  /** An integer primary key the database numbers itself. */
  identity(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** The column type of raw bytes. */
  readonly binary: 'blob' | 'bytea';
  /** The part of a text column before its first `/` (a repository's namespace). */
  firstPathSegment(column: string): RawBuilder<string>;
  /**
   * The elements of a JSON array of strings, passed as one text parameter, as a table with one
   * column `value`: one prepared statement then takes any number of them.
   */
  jsonArrayElements(array: unknown): RawBuilder<{ value: string }>;
  /**
   * Locks the rows a query selects until the transaction ends, so that a writer decides on the
   * latest committed rows (PostgreSQL): `share` waits for writers that hold them; `skip-locked`
   * takes them for update and leaves out rows others hold, for a background job that must never
   * make a request wait nor deadlock with one. SQLite has one writer at a time, whose transaction
   * sees every commit before it: the query is unchanged.
   */
  lockRows<Query extends Lockable<Query>>(query: Query, mode: 'share' | 'skip-locked'): Query;
}

/** A select that can lock its rows. */
interface Lockable<Query> {
  forUpdate(): Query;
  forShare(): Query;
  skipLocked(): Query;
}

const sqlite: SchemaDialect = {
  name: 'sqlite',
  identity: (column) => column.primaryKey().autoIncrement(),
  binary: 'blob',
  firstPathSegment: (column) => sql<string>`substr(${sql.ref(column)}, 1, instr(${sql.ref(column)}, '/') - 1)`,
  jsonArrayElements: (array) => sql<{ value: string }>`json_each(${array})`,
  lockRows: (query) => query,
};

const postgres: SchemaDialect = {
  name: 'postgres',
  identity: (column) => column.primaryKey().generatedByDefaultAsIdentity(),
  binary: 'bytea',
  firstPathSegment: (column) => sql<string>`split_part(${sql.ref(column)}, '/', 1)`,
  jsonArrayElements: (array) => sql<{ value: string }>`(select jsonb_array_elements_text(cast(${array} as jsonb)) as value)`,
  lockRows: (query, mode) => (mode === 'share' ? query.forShare() : query.forUpdate().skipLocked()),
};

/** The dialect of a Kysely instance, from the adapter its dialect installed. */
export function dialectOf(db: Kysely<never> | Kysely<unknown> | { getExecutor(): { adapter: unknown } }): SchemaDialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? postgres : sqlite;
}
