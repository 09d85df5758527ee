import type { Database } from '../db/schema.js';

/** The target database holds another installation's accounts; copying in would mix the two. */
export class OtherInstallationError extends Error {
  constructor() {
    super(
      'the target database already has accounts, and not this installation’s (its first account is not there with the same id and creation time): ' +
        'migrate into an empty database, or into one a run of this migration began',
    );
    this.name = 'OtherInstallationError';
  }
}

/**
 * Refuses a target whose accounts are not the source's: an empty target, or one an earlier run
 * copied into, is this installation's. The source's first account identifies it; its name alone
 * would not, as every installation's first administrator may be called the same.
 */
export async function checkSameInstallation(source: Database, target: Database): Promise<void> {
  const anyTargetAccount = await target.selectFrom('accounts').select('id').limit(1).executeTakeFirst();
  if (!anyTargetAccount) return;
  const first = await source.selectFrom('accounts').select(['id', 'name_key', 'created_at']).orderBy('id').limit(1).executeTakeFirst();
  const found =
    first &&
    (await target
      .selectFrom('accounts')
      .select('id')
      .where('id', '=', first.id)
      .where('name_key', '=', first.name_key)
      .where('created_at', '=', first.created_at)
      .executeTakeFirst());
  if (!found) throw new OtherInstallationError();
}
