import type { Selectable, Transaction } from 'kysely';
import { type AuditEntry, recordAudit } from '../audit/audit-log.js';
import { isSet, toFlag } from '../db/flags.js';
import type { Database, HookDeliveryState, HookFormat, HooksTable, Schema } from '../db/schema.js';
import { type ActiveHooks, hookEventNames } from './active-hooks.js';
import type { AddressGuard } from './address-guard.js';
import { AddressGuard as Guard } from './address-guard.js';
import { HookNotFoundError, HookSettingsError } from './errors.js';
import { type OutboxHook, enqueue } from './hook-outbox.js';
import type { HookPayloads } from './hook-payloads.js';
import type { StoredFacts } from './hook-renderer.js';

/** Whose hook: an account's (every package of that user or organization) or one package's. */
export type HookScope = { kind: 'account'; accountId: number } | { kind: 'package'; packageId: number };

export interface HookRecord {
  id: number;
  scope: HookScope;
  url: string;
  /** Whether a secret is set; the secret itself never leaves the service but to sign. */
  hasSecret: boolean;
  events: string[];
  format: HookFormat;
  insecureSsl: boolean;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface HookSettings {
  url: URL;
  secret: string;
  events: string[];
  format: HookFormat;
  insecureSsl: boolean;
  active: boolean;
}

export interface DeliveryRecord {
  id: number;
  guid: string;
  hookId: number;
  event: string;
  action: string | null;
  redelivery: boolean;
  state: HookDeliveryState;
  attempts: number;
  nextAttemptAt: string;
  createdAt: string;
  deliveredAt: string | null;
  statusCode: number | null;
  status: string | null;
  durationMs: number | null;
  packageId: number | null;
  requestHeaders: Record<string, string>;
  /** As sent; empty until a package event's first attempt makes it from `facts`. */
  body: string;
  facts: string | null;
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
}

/**
 * Hooks of accounts and packages, and their deliveries: creation (refused for a URL that resolves
 * to an address `AddressGuard` does not permit, and followed by a `ping`), changes, listing,
 * redelivery. Deliveries are sent by `HookDeliverer`; `wake` tells it there is something new.
 */
export class HookService {
  constructor(
    private readonly db: Database,
    private readonly guard: AddressGuard,
    private readonly payloads: HookPayloads,
    /** Told of every change to a hook, once its transaction has ended. */
    private readonly activeHooks: ActiveHooks,
    private readonly wake: () => void = () => {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async list(scope: HookScope): Promise<HookRecord[]> {
    const rows = await this.scoped(scope).selectAll().orderBy('id').execute();
    return rows.map(toHook);
  }

  async get(scope: HookScope, id: number): Promise<HookRecord> {
    const row = await this.scoped(scope).selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new HookNotFoundError('Not Found');
    return toHook(row);
  }

  /** Creates a hook and queues its `ping`, in one transaction; `creator` is the ping's sender. */
  async create(scope: HookScope, settings: HookSettings, creator?: { id: number; login: string }): Promise<HookRecord> {
    await this.guard.addressesOf(settings.url);
    const now = this.now();
    const hook = await this.writeHooks(async (trx) => {
      const row = await trx
        .insertInto('hooks')
        .values({
          account_id: scope.kind === 'account' ? scope.accountId : null,
          package_id: scope.kind === 'package' ? scope.packageId : null,
          url: settings.url.href,
          secret: settings.secret,
          events: JSON.stringify(settings.events),
          format: settings.format,
          insecure_ssl: toFlag(settings.insecureSsl),
          active: toFlag(settings.active),
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const created = toHook(row);
      if (created.active) await enqueue(trx, row, this.pingOf(created, creator), now);
      await recordAudit(trx, await auditEntry(trx, scope, 'hook.create', created));
      return created;
    });
    this.wake();
    return hook;
  }

  /** Changes a hook; a new URL is checked as at creation. */
  async update(scope: HookScope, id: number, settings: Partial<HookSettings>): Promise<HookRecord> {
    const current = await this.get(scope, id);
    if (settings.url && settings.url.href !== current.url) await this.guard.addressesOf(settings.url);
    await this.writeHooks(async (trx) => {
      await trx
        .updateTable('hooks')
        .set({
          ...(settings.url ? { url: settings.url.href } : {}),
          ...(settings.secret !== undefined ? { secret: settings.secret } : {}),
          ...(settings.events ? { events: JSON.stringify(settings.events) } : {}),
          ...(settings.format ? { format: settings.format } : {}),
          ...(settings.insecureSsl !== undefined ? { insecure_ssl: toFlag(settings.insecureSsl) } : {}),
          ...(settings.active !== undefined ? { active: toFlag(settings.active) } : {}),
          updated_at: this.now(),
        })
        .where('id', '=', id)
        .execute();
      // What changed, by name: a new secret is said to be new, never written.
      const changed = Object.keys(settings).filter((key) => settings[key as keyof HookSettings] !== undefined);
      await recordAudit(trx, await auditEntry(trx, scope, 'hook.update', { ...current, ...(settings.url ? { url: settings.url.href } : {}) }, { changed }));
    });
    return this.get(scope, id);
  }

  /** Deletes a hook with its deliveries, those not sent yet included. */
  async remove(scope: HookScope, id: number): Promise<void> {
    const hook = await this.get(scope, id);
    await this.writeHooks(async (trx) => {
      await trx.deleteFrom('hooks').where('id', '=', id).execute();
      await recordAudit(trx, await auditEntry(trx, scope, 'hook.delete', hook));
    });
  }

  /** Runs a transaction that writes hooks; what `ActiveHooks` kept is forgotten once it ends, committed or not. */
  private async writeHooks<T>(work: (trx: Transaction<Schema>) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction().execute(work);
    } finally {
      this.activeHooks.changed();
    }
  }

  /** Queues a `ping` to the hook. */
  async ping(scope: HookScope, id: number, sender?: { id: number; login: string }): Promise<void> {
    const hook = await this.get(scope, id);
    await enqueue(this.db, this.outboxHook(hook), this.pingOf(hook, sender), this.now());
    this.wake();
  }

  /** The hook's deliveries, newest first, a page at a time. */
  async deliveries(scope: HookScope, hookId: number, limit: number, offset: number): Promise<{ items: DeliveryRecord[]; total: number }> {
    await this.get(scope, hookId);
    const base = this.db.selectFrom('hook_deliveries').where('hook_id', '=', hookId);
    const count = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    const rows = await base.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute();
    return { items: rows.map(toDelivery), total: Number(count?.n ?? 0) };
  }

  async delivery(scope: HookScope, hookId: number, deliveryId: number): Promise<DeliveryRecord> {
    await this.get(scope, hookId);
    const row = await this.db.selectFrom('hook_deliveries').selectAll().where('hook_id', '=', hookId).where('id', '=', deliveryId).executeTakeFirst();
    if (!row) throw new HookNotFoundError('Not Found');
    return toDelivery(row);
  }

  /**
   * Sends a delivery's body again, as a new delivery (a new id, `redelivery: true`), after what the
   * hook has queued for the same package.
   */
  async redeliver(scope: HookScope, hookId: number, deliveryId: number): Promise<DeliveryRecord> {
    const hook = await this.get(scope, hookId);
    const original = await this.delivery(scope, hookId, deliveryId);
    const row = await this.db.selectFrom('hook_deliveries').select('ordering_key').where('id', '=', deliveryId).executeTakeFirstOrThrow();
    // The body as sent; one not sent yet is made from the same facts.
    const content = original.body !== '' ? { sent: original.body } : { facts: JSON.parse(original.facts ?? '{}') as StoredFacts };
    const id = await enqueue(
      this.db,
      this.outboxHook(hook),
      { event: original.event, action: original.action, orderingKey: row.ordering_key, packageId: original.packageId, content, redelivery: true },
      this.now(),
    );
    this.wake();
    return this.delivery(scope, hookId, id);
  }

  /** Parses a hook's settings from GitHub's JSON (`config`, `events`, `active`); `partial` for a PATCH. */
  static parseSettings(body: Record<string, unknown>, partial: false, current?: undefined): HookSettings;
  static parseSettings(body: Record<string, unknown>, partial: true, current: HookRecord): Partial<HookSettings>;
  static parseSettings(body: Record<string, unknown>, partial: boolean, current?: HookRecord): Partial<HookSettings> {
    const config = body['config'];
    if (config !== undefined && (typeof config !== 'object' || config === null || Array.isArray(config))) throw new HookSettingsError('config must be an object');
    const c = (config ?? {}) as Record<string, unknown>;
    if (body['name'] !== undefined && body['name'] !== 'web') throw new HookSettingsError('name must be web');
    const settings: Partial<HookSettings> = {};
    if (c['url'] !== undefined || !partial) settings.url = Guard.parseUrl(c['url']);
    if (c['content_type'] !== undefined && c['content_type'] !== 'json') throw new HookSettingsError('config.content_type must be json');
    if (c['secret'] !== undefined) {
      if (typeof c['secret'] !== 'string' || c['secret'].length > 1024) throw new HookSettingsError('config.secret must be a string');
      settings.secret = c['secret'];
    } else if (!partial) settings.secret = '';
    if (c['insecure_ssl'] !== undefined) {
      const value = String(c['insecure_ssl']);
      if (value !== '0' && value !== '1') throw new HookSettingsError('config.insecure_ssl must be "0" or "1"');
      settings.insecureSsl = value === '1';
    } else if (!partial) settings.insecureSsl = false;
    if (c['format'] !== undefined) {
      if (c['format'] !== 'github' && c['format'] !== 'distribution') throw new HookSettingsError('config.format must be github or distribution');
      settings.format = c['format'];
    } else if (!partial) settings.format = 'github';
    if (body['active'] !== undefined) {
      if (typeof body['active'] !== 'boolean') throw new HookSettingsError('active must be true or false');
      settings.active = body['active'];
    } else if (!partial) settings.active = true;
    let events = body['events'] !== undefined ? eventList(body['events'], 'events') : partial ? current?.events : ['package'];
    if (partial && current && (body['add_events'] !== undefined || body['remove_events'] !== undefined)) {
      const added = body['add_events'] === undefined ? [] : eventList(body['add_events'], 'add_events');
      const removed = body['remove_events'] === undefined ? [] : eventList(body['remove_events'], 'remove_events');
      events = [...new Set([...(events ?? []), ...added])].filter((name) => !removed.includes(name));
    }
    if (events && events.length === 0) throw new HookSettingsError('events must name at least one event');
    if (events && (body['events'] !== undefined || body['add_events'] !== undefined || body['remove_events'] !== undefined || !partial)) settings.events = events;
    return settings;
  }

  private pingOf(hook: HookRecord, sender: { id: number; login: string } | undefined) {
    return { event: 'ping', action: null, orderingKey: 'ping', packageId: null, content: { body: this.payloads.ping(hook.format, hookPingJson(hook), sender) } };
  }

  private outboxHook(hook: HookRecord): OutboxHook {
    return {
      id: hook.id,
      account_id: hook.scope.kind === 'account' ? hook.scope.accountId : null,
      package_id: hook.scope.kind === 'package' ? hook.scope.packageId : null,
      format: hook.format,
    };
  }

  private scoped(scope: HookScope) {
    const query = this.db.selectFrom('hooks');
    return scope.kind === 'account' ? query.where('account_id', '=', scope.accountId) : query.where('package_id', '=', scope.packageId);
  }

  private now(): string {
    return this.clock().toISOString();
  }
}

function eventList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((name) => typeof name !== 'string')) throw new HookSettingsError(`${field} must be a list of event names`);
  const unknown = (value as string[]).find((name) => !hookEventNames.includes(name));
  if (unknown !== undefined) throw new HookSettingsError(`${field}: unknown event "${unknown.slice(0, 60)}"; use ${hookEventNames.join(', ')}`);
  return [...new Set(value as string[])];
}

/** The hook as a ping's body shows it (GitHub's hook object, its secret masked). */
function hookPingJson(hook: HookRecord): Record<string, unknown> {
  return {
    type: hook.scope.kind === 'package' ? 'Package' : 'Account',
    id: hook.id,
    name: 'web',
    active: hook.active,
    events: hook.events,
    config: { content_type: 'json', insecure_ssl: hook.insecureSsl ? '1' : '0', url: hook.url, format: hook.format, ...(hook.hasSecret ? { secret: '********' } : {}) },
    created_at: hook.createdAt,
    updated_at: hook.updatedAt,
  };
}

function toHook(row: Selectable<HooksTable>): HookRecord {
  return {
    id: row.id,
    scope: row.package_id !== null ? { kind: 'package', packageId: row.package_id } : { kind: 'account', accountId: row.account_id ?? 0 },
    url: row.url,
    hasSecret: row.secret !== '',
    events: JSON.parse(row.events) as string[],
    format: row.format,
    insecureSsl: isSet(row.insecure_ssl),
    active: isSet(row.active),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toDelivery(row: {
  id: number;
  guid: string;
  hook_id: number;
  event: string;
  action: string | null;
  redelivery: number;
  state: HookDeliveryState;
  attempts: number;
  next_attempt_at: string;
  created_at: string;
  delivered_at: string | null;
  status_code: number | null;
  status: string | null;
  duration_ms: number | null;
  package_id: number | null;
  request_headers: string;
  body: string;
  facts: string | null;
  response_headers: string | null;
  response_body: string | null;
}): DeliveryRecord {
  return {
    id: row.id,
    guid: row.guid,
    hookId: row.hook_id,
    event: row.event,
    action: row.action,
    redelivery: isSet(row.redelivery),
    state: row.state,
    attempts: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
    statusCode: row.status_code,
    status: row.status,
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    packageId: row.package_id,
    requestHeaders: JSON.parse(row.request_headers) as Record<string, string>,
    body: row.body,
    facts: row.facts,
    responseHeaders: row.response_headers === null ? null : (JSON.parse(row.response_headers) as Record<string, string>),
    responseBody: row.response_body,
  };
}

/**
 * The audit entry of a change to a hook, which belongs to the account whose hook it is (a package's
 * owner for a package's hook). The URL is named without its query or credentials, which may carry
 * secrets of the receiver.
 */
async function auditEntry(
  trx: Transaction<Schema>,
  scope: HookScope,
  action: 'hook.create' | 'hook.update' | 'hook.delete',
  hook: { id: number; url: string },
  details: Record<string, unknown> = {},
): Promise<AuditEntry> {
  const owner =
    scope.kind === 'account'
      ? await trx.selectFrom('accounts').select(['id', 'name']).where('id', '=', scope.accountId).executeTakeFirstOrThrow()
      : await trx
          .selectFrom('packages')
          .innerJoin('accounts', 'accounts.id', 'packages.owner_id')
          .select(['accounts.id', 'accounts.name', 'packages.name as package'])
          .where('packages.id', '=', scope.packageId)
          .executeTakeFirstOrThrow();
  const url = new URL(hook.url);
  const target = 'package' in owner ? `${owner.package} hook ${hook.id}` : `hook ${hook.id}`;
  return { action, owner: { id: owner.id, name: owner.name }, target, details: { url: `${url.origin}${url.pathname}`, ...details } };
}
