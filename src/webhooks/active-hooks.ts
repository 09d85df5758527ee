import type { Selectable } from 'kysely';
import type { DataVersion } from '../db/engine.js';
import { statementPerDialect } from '../db/prepared-query.js';
import type { Database, HookFormat, HooksTable } from '../db/schema.js';
import { type PackageAction, packageActions } from '../packages/package-changes.js';
import type { GithubEventName } from './hook-payloads.js';

/** What one hook is sent of a change: its GitHub event name, or Distribution's envelope. */
export interface ChangeTarget {
  id: number;
  format: HookFormat;
  event: GithubEventName;
}

/** The event names a hook can ask for; `package`, `registry_package` and `*` mean all of a package's. */
export const hookEventNames: readonly string[] = ['*', 'package', 'registry_package', ...packageActions.map((action) => `package.${action}`)];

/** Whether a hook with these event names wants a change. */
function wants(events: readonly string[], action: PackageAction): boolean {
  return events.some((name) => name === '*' || name === 'package' || name === 'registry_package' || name === `package.${action}`);
}

/** The GitHub event a hook's GitHub-form bodies follow: `registry_package` only when it asked for that and not `package`. */
function githubEventOf(events: readonly string[]): GithubEventName {
  return events.includes('registry_package') && !events.includes('package') ? 'registry_package' : 'package';
}

/** The active hooks of an owner and of one of its packages: asked for every push that misses the cache. */
const activeHooksOf = statementPerDialect<Pick<Selectable<HooksTable>, 'id' | 'events' | 'format'>, [number, number]>(
  (db) => (ownerId: never, packageId: never) =>
    db
      .selectFrom('hooks')
      .select(['id', 'events', 'format'])
      .where('active', '=', 1)
      .where((eb) => eb.or([eb('account_id', '=', ownerId), eb('package_id', '=', packageId)]))
      .orderBy('id'),
);

/** The active hooks of one owner and package, and what each action sends them. */
class PackageHooks {
  private readonly hooks: Array<{ id: number; format: HookFormat; events: string[] }>;
  private readonly targetsByAction = new Map<PackageAction, string | undefined>();

  constructor(rows: ReadonlyArray<Pick<Selectable<HooksTable>, 'id' | 'events' | 'format'>>) {
    this.hooks = rows.map((row) => ({ id: row.id, format: row.format, events: JSON.parse(row.events) as string[] }));
  }

  targetsOf(action: PackageAction): string | undefined {
    if (this.targetsByAction.has(action)) return this.targetsByAction.get(action);
    const targets: ChangeTarget[] = [];
    for (const hook of this.hooks) {
      if (!wants(hook.events, action)) continue;
      // Distribution's notifications have no counterpart of these (see `HookPayloads.distribution`).
      if (hook.format === 'distribution' && (action === 'restored' || action === 'visibility_changed')) continue;
      targets.push({ id: hook.id, format: hook.format, event: githubEventOf(hook.events) });
    }
    const json = targets.length > 0 ? JSON.stringify(targets) : undefined;
    this.targetsByAction.set(action, json);
    return json;
  }
}

/**
 * Which active hooks want a change to a package, kept by owner and package: every push asks, and
 * with hooks the query and what is made of its rows were most of what they cost a push
 * (docs/performance.md).
 * Everything kept is forgotten when a hook changes: on this node `HookService` says so once its
 * transaction has ended (`changed`); another process's or node's change shows in the engine's
 * external data version (`DataVersion.external`), within the interval that engine looks for it.
 * A push in that interval records its change for the hooks as they were just before, as if it
 * had come that much earlier.
 *
 * Hooks also go when their account or package is deleted for good (a foreign key's cascade),
 * unannounced: a push cannot name that owner's or package's id again, since ids are not reused,
 * and `expandChanges` skips a hook that is gone.
 */
export class ActiveHooks {
  private readonly entries = new Map<string, PackageHooks>();
  private generation = 0;
  private seen: { generation: number; external: number } | undefined;

  constructor(
    private readonly dataVersion: DataVersion,
    private readonly maxEntries = 4096,
  ) {}

  /** A hook was created, changed or removed through this process: nothing kept before counts. */
  changed(): void {
    this.generation++;
  }

  /** What `action` sends the active hooks of `ownerId` and `packageId`, as JSON; undefined when nothing. */
  async targetsOf(db: Database, ownerId: number, packageId: number, action: PackageAction): Promise<string | undefined> {
    const stamp = this.current();
    const key = `${ownerId} ${packageId}`;
    let hooks = this.entries.get(key);
    if (!hooks) {
      hooks = new PackageHooks((await activeHooksOf(db, ownerId, packageId)).rows);
      // A hook that changed while the query ran may have made its answer stale before it arrived.
      if (this.current() === stamp) this.keep(key, hooks);
    }
    return hooks.targetsOf(action);
  }

  /** The state kept entries belong to, forgetting them if a hook changed since. */
  private current(): { generation: number; external: number } {
    const external = this.dataVersion.external();
    if (this.seen?.generation !== this.generation || this.seen.external !== external) {
      this.entries.clear();
      this.seen = { generation: this.generation, external };
    }
    return this.seen;
  }

  private keep(key: string, hooks: PackageHooks): void {
    // The oldest entry goes first; a registry with more packages than this asks again for some.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, hooks);
  }
}
