import { randomUUID } from 'node:crypto';
import type { Database, HookFormat } from '../db/schema.js';
import { type PackageAction, type PackageChange, type PackageChanges, packageActions } from '../packages/package-changes.js';
import { type GithubEventName, type HookEventFacts, type HookPayloads, distributionEnvelopeType } from './hook-payloads.js';

/** A hook as the outbox needs it. */
export interface OutboxHook {
  id: number;
  account_id: number | null;
  package_id: number | null;
  events: string;
  format: HookFormat;
}

/** What one delivery carries. */
export interface QueuedDelivery {
  event: string;
  action: string | null;
  /** Deliveries of one hook with the same key are sent in order: a package's id, or `ping`. */
  orderingKey: string;
  packageId: number | null;
  body: Record<string, unknown>;
  redelivery?: boolean;
}

/** The event names a hook can ask for; `package`, `registry_package` and `*` mean all of a package's. */
export const hookEventNames: readonly string[] = ['*', 'package', 'registry_package', ...packageActions.map((action) => `package.${action}`)];

/** Whether a hook with these event names wants a change. */
export function wants(events: readonly string[], action: PackageAction): boolean {
  return events.some((name) => name === '*' || name === 'package' || name === 'registry_package' || name === `package.${action}`);
}

/** The GitHub event a hook's GitHub-form bodies follow: `registry_package` only when it asked for that and not `package`. */
export function githubEventOf(events: readonly string[]): GithubEventName {
  return events.includes('registry_package') && !events.includes('package') ? 'registry_package' : 'package';
}

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
  const row = await db
    .insertInto('hook_deliveries')
    .values({
      guid,
      hook_id: hook.id,
      event: delivery.event,
      action: delivery.action,
      ordering_key: delivery.orderingKey,
      package_id: delivery.packageId,
      redelivery: delivery.redelivery ? 1 : 0,
      request_headers: JSON.stringify(headers),
      body: JSON.stringify(delivery.body),
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
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * The outbox: for each change to a package, one delivery row per active hook of the package or
 * of its owner that wants it, written in the change's transaction, so that the change and its
 * deliveries commit together or not at all. `committed` wakes the deliverer on this node; other
 * nodes' deliverers find the rows when they next look.
 */
export class HookOutbox implements PackageChanges {
  constructor(
    private readonly payloads: HookPayloads,
    private readonly wake: () => void = () => {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async record(db: Database, change: PackageChange): Promise<void> {
    // One indexed query when no hook listens: all a push pays without hooks.
    const hooks = await db
      .selectFrom('hooks')
      .select(['id', 'account_id', 'package_id', 'events', 'format'])
      .where('active', '=', 1)
      .where((eb) => eb.or([eb('account_id', '=', change.ownerId), eb('package_id', '=', change.packageId)]))
      .orderBy('id')
      .execute();
    const wanting = hooks.filter((hook) => wants(JSON.parse(hook.events) as string[], change.action));
    if (wanting.length === 0) return;
    const { pkg, version } = await change.load();
    const sender = change.actorId === undefined ? undefined : await db.selectFrom('accounts').select(['id', 'name as login']).where('id', '=', change.actorId).executeTakeFirst();
    const facts: HookEventFacts = { action: change.action, pkg, version, tag: change.tag, from: change.from, sender };
    const now = this.clock().toISOString();
    for (const hook of wanting) {
      const guid = randomUUID();
      const events = JSON.parse(hook.events) as string[];
      const githubEvent = githubEventOf(events);
      const body = hook.format === 'distribution' ? this.payloads.distribution(guid, now, facts) : this.payloads.github(githubEvent, facts);
      if (!body) continue;
      await enqueue(db, hook, { event: githubEvent, action: change.action, orderingKey: String(change.packageId), packageId: change.packageId, body }, now, guid);
    }
  }

  committed(): void {
    this.wake();
  }
}
