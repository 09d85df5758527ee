import { parseAccountName } from '../../src/accounts/names.js';
import type { Database } from '../../src/db/schema.js';

/** For tests of services below the accounts: a user row written directly, created at `at`; its id. */
export async function insertUser(db: Database, name: string, at: Date): Promise<number> {
  const row = await db
    .insertInto('accounts')
    .values({ name: parseAccountName(name), name_key: name.toLowerCase(), kind: 'user', password_hash: null, is_admin: 0, created_at: at.toISOString() })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
