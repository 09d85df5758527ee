import { randomUUID } from 'node:crypto';
import { statementPerDialect } from '../db/prepared-query.js';
import type { Database, HookFormat } from '../db/schema.js';
import type { PackageChange, PackageChanges } from '../packages/package-changes.js';
import type { ActiveHooks, ChangeTarget } from './active-hooks.js';
import { distributionEnvelopeType } from './hook-payloads.js';
import type { StoredFacts } from './hook-renderer.js';

/** A hook as the outbox needs it. */
export interface OutboxHook {
  id: number;
  account_id: number | null;
  package_id: number | null;
  format: HookFormat;
}

/** What one delivery carries. */
export interface QueuedDelivery {
  event: string;
  action: string | null;
  /** Deliveries of one hook with the same key are sent in order: a package's id, or `ping`. */
  orderingKey: string;
  packageId: number | null;
  /** The body, or (a package event's) what it is made of when first sent, by `HookRenderer`. */
  content: { body: Record<string, unknown> } | { facts: StoredFacts } | { sent: string };
  redelivery?: boolean;
}

/** A pending delivery, due now; written by every push to a package with hooks, so compiled once. */
const insertDelivery = statementPerDialect<{ id: number }, [string, number, string, string | null, string, number | null, number, string, string, string | null, string]>(
  (db) => (guid: never, hookId: never, event: never, action: never, orderingKey: never, packageId: never, redelivery: never, headers: never, body: never, facts: never, now: never) =>
    db
      .insertInto('hook_deliveries')
      .values({
        guid,
        hook_id: hookId,
        event,
        action,
        ordering_key: orderingKey,
        package_id: packageId,
        redelivery,
        request_headers: headers,
        body,
        facts,
        state: 'pending',
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
        delivered_at: null,
        status_code: null,
        status: null,
        response_headers: null,
        response_body: null,
        duration_ms: null,
      })
      .returning('id'),
);

/**
 * Writes a delivery row, to be sent by `HookDeliverer`: its headers but the signature (made when
 * it is sent, with the hook's secret as it is then), its body, due now.
 */
export async function enqueue(db: Database, hook: OutboxHook, delivery: QueuedDelivery, now: string, guid: string = randomUUID()): Promise<number> {
  const event = hook.format === 'distribution' && delivery.event !== 'ping' ? 'distribution' : delivery.event;
  const headers: Record<string, string> = {
    'Content-Type': hook.format === 'distribution' && delivery.event !== 'ping' ? distributionEnvelopeType : 'application/json',
    'User-Agent': 'Berth-Hookshot/1',
    'X-GitHub-Event': delivery.event,
    'X-GitHub-Delivery': guid,
    'X-GitHub-Hook-ID': String(hook.id),
    'X-GitHub-Hook-Installation-Target-Type': hook.package_id !== null ? 'package' : 'account',
    'X-GitHub-Hook-Installation-Target-ID': String(hook.package_id ?? hook.account_id),
    'X-Berth-Event': event,
    'X-Berth-Delivery': guid,
  };
  const body = 'body' in delivery.content ? JSON.stringify(delivery.content.body) : 'sent' in delivery.content ? delivery.content.sent : '';
  const facts = 'facts' in delivery.content ? JSON.stringify(delivery.content.facts) : null;
  const { rows } = await insertDelivery(db, guid, hook.id, delivery.event, delivery.action, delivery.orderingKey, delivery.packageId, delivery.redelivery ? 1 : 0, JSON.stringify(headers), body, facts, now);
  const row = rows[0]!;
  return row.id;
}

const anyChange = statementPerDialect<{ id: number }, []>((db) => () => db.selectFrom('hook_changes').select('id').limit(1));

const insertChange = statementPerDialect<never, [string, string, string]>((db) => (hooks: never, facts: never, now: never) =>
  db.insertInto('hook_changes').values({ hooks, facts, created_at: now }),
);

/**
 * The outbox: each change to a package that active hooks of the package or of its owner want is
 * one `hook_changes` row, written in the change's transaction, so that the change and its
 * deliveries commit together or not at all; a push pays one small row however many hooks listen.
 * `expand` turns the rows into one delivery per hook, in the order of the changes, and removes
 * them. A delivery's body is made when it is first sent (`HookRenderer`). `committed` wakes the
 * deliverer on this node; other nodes' deliverers find the rows when they next look.
 */
export class HookOutbox implements PackageChanges {
  constructor(
    private readonly activeHooks: ActiveHooks,
    private readonly wake: () => void = () => {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async record(db: Database, change: PackageChange): Promise<boolean> {
    // Most pushes find what they need kept (see ActiveHooks); a push no hook listens to writes nothing.
    const targets = await this.activeHooks.targetsOf(db, change.ownerId, change.packageId, change.action);
    if (targets === undefined) return false;
    const facts: ChangeFacts = {
      changeId: randomUUID(),
      action: change.action,
      packageId: change.packageId,
      ...(change.digest !== undefined ? { digest: change.digest } : {}),
      ...(change.tag !== undefined ? { tag: change.tag } : {}),
      ...(change.actorId !== undefined ? { actorId: change.actorId } : {}),
      ...(change.from !== undefined ? { from: change.from } : {}),
    };
    await insertChange(db, targets, JSON.stringify(facts), this.clock().toISOString());
    return true;
  }

  committed(): void {
    this.wake();
  }
}

/** A change's facts, without what differs between the hooks it goes to. */
type ChangeFacts = Omit<StoredFacts, 'format' | 'event'>;

/**
 * Turns up to `limit` recorded changes, oldest first, into their deliveries, due from when the
 * change was made, and removes them, in one transaction: a crash leaves either the change or its
 * deliveries. A hook deleted since gets none. Answers how many changes it took.
 */
export async function expandChanges(db: Database, limit = 100): Promise<number> {
  // Most looks find none: asked without a transaction, whose commit would wait for other writes' sync.
  if ((await anyChange(db)).rows.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    const changes = await trx.selectFrom('hook_changes').selectAll().orderBy('id').limit(limit).execute();
    if (changes.length === 0) return 0;
    const targets = changes.map((change) => JSON.parse(change.hooks) as ChangeTarget[]);
    const ids = [...new Set(targets.flat().map((target) => target.id))];
    const hooks = new Map((await trx.selectFrom('hooks').select(['id', 'account_id', 'package_id', 'format']).where('id', 'in', ids).execute()).map((hook) => [hook.id, hook]));
    for (const [index, change] of changes.entries()) {
      const facts = JSON.parse(change.facts) as ChangeFacts;
      for (const target of targets[index]!) {
        const hook = hooks.get(target.id);
        if (!hook) continue;
        const stored: StoredFacts = { ...facts, format: target.format, event: target.event };
        const delivery: QueuedDelivery = { event: target.event, action: facts.action, orderingKey: String(facts.packageId), packageId: facts.packageId, content: { facts: stored } };
        await enqueue(trx, { ...hook, format: target.format }, delivery, String(change.created_at));
      }
    }
    await trx.deleteFrom('hook_changes').where('id', 'in', changes.map((change) => change.id)).execute();
    return changes.length;
  });
}
