import { type Kysely, type SqlBool, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { CopiedTable } from './copied-tables.js';

type Row = Record<string, unknown>;

/** The schema as the copy sees it: any table, any column, the same way for all. */
type AnyTables = Record<string, Row>;

const maxRowsPerBatch = 500;

/** At most this much of binary columns (manifests) is read into memory for one batch. */
const binaryBytesPerBatch = 64 * 1024 * 1024;

export interface TableCopy {
  copied: number;
  alreadyThere: number;
}

/**
 * Copies every row of `table` from `source` to `target`, in primary-key order and in batches, with
 * the rows' own ids. A row whose key the target has is left as it is there, so a copy that was
 * cut off is finished by running it again.
 *
 * The values go over unchanged: both engines hold the schema in the same column types (dialect.ts:
 * flags as the integers 0 and 1, timestamps and JSON as text), and the Buffers better-sqlite3
 * returns for blobs are what pg sends as bytea.
 */
export async function copyTable(source: Database, target: Database, table: CopiedTable): Promise<TableCopy> {
  const from = source as unknown as Kysely<AnyTables>;
  const to = target as unknown as Kysely<AnyTables>;
  const limit = rowsPerBatch(table);
  const result: TableCopy = { copied: 0, alreadyThere: 0 };
  let after: unknown[] | undefined;
  for (;;) {
    let query = from.selectFrom(table.name).selectAll().limit(limit);
    for (const column of table.key) query = query.orderBy(column);
    if (after) query = query.where(keyAfter(table.key, after));
    const rows = await query.execute();
    const last = rows.at(-1);
    if (!last) return result;
    const inserted = await to
      .insertInto(table.name)
      .values(rows)
      .onConflict((conflict) => conflict.columns([...table.key]).doNothing())
      .executeTakeFirst();
    const copied = Number(inserted.numInsertedOrUpdatedRows ?? 0);
    result.copied += copied;
    result.alreadyThere += rows.length - copied;
    if (rows.length < limit) return result;
    after = table.key.map((column) => last[column]);
  }
}

/** As many rows as fit the memory budget when each holds the most binary data its table allows. */
function rowsPerBatch(table: CopiedTable): number {
  if (table.maxBinaryBytes === 0) return maxRowsPerBatch;
  return Math.max(1, Math.min(maxRowsPerBatch, Math.floor(binaryBytesPerBatch / table.maxBinaryBytes)));
}

/** The rows after `values` in key order: a row-value comparison, answered from the primary key's index. */
function keyAfter(key: readonly string[], values: readonly unknown[]) {
  return sql<SqlBool>`(${sql.join(key.map((column) => sql.ref(column)))}) > (${sql.join(values)})`;
}
