import { type ExpressionBuilder, type Kysely, type Selectable, sql } from 'kysely';
import type { AuditLogTable, Schema } from '../db/schema.js';
import { type AuditActor, type AuditContext, currentAuditContext } from './audit-context.js';

/**
 * The actions the audit log records, in GitHub's `category.verb` style, so that a phrase such as
 * `action:package.` selects a category.
 */
export const auditActions = [
  'user.sign_in',
  'user.sign_in_failed',
  'user.password_change',
  'token.create',
  'token.first_use',
  'token.revoke',
  'token.expire',
  'package.publish',
  'package.visibility',
  'package.inherit_access',
  'package.role_grant',
  'package.role_revoke',
  'package.link',
  'package.unlink',
  'package.delete',
  'package.restore',
  'package_version.delete',
  'package_version.restore',
  'org.create',
  'org.member_add',
  'org.member_role_change',
  'org.member_remove',
  'team.create',
  'team.member_add',
  'team.member_remove',
  'hook.create',
  'hook.update',
  'hook.delete',
  'admin.user_create',
  'admin.user_suspend',
  'admin.user_unsuspend',
  'admin.user_promote',
  'admin.user_demote',
  'admin.user_delete',
  'admin.org_delete',
  'admin.gc',
] as const;

export type AuditAction = (typeof auditActions)[number];

/** The account an entry belongs to: an organization's owners read the entries of their organization. */
export interface AuditOwner {
  id: number;
  name: string;
}

/** One entry to append. Never a secret in any field: tokens are named by id, note and hint. */
export interface AuditEntry {
  action: AuditAction;
  target: string;
  owner?: AuditOwner;
  details?: Record<string, unknown>;
  /** Who did it; by default whoever the context acts for, else Berth itself. */
  actor?: AuditActor;
  /** The request (or job) it was done for; by default the current one (see audit-context.ts). */
  context?: AuditContext | undefined;
}

/** An entry as read back. */
export interface AuditRecord {
  id: number;
  createdAt: string;
  actor: AuditActor;
  action: string;
  owner: AuditOwner | null;
  target: string;
  details: Record<string, unknown>;
  clientAddress: string | null;
  requestId: string | null;
}

/** What to read: every condition must hold; within `actions` or `actors`, any one. */
export interface AuditFilter {
  ownerId?: number;
  /** `package.` (a prefix, ending in a dot), `package` (the category) or `package.delete` (exact). */
  actions?: readonly string[];
  /** Actor names, compared regardless of case. */
  actors?: readonly string[];
  /** ISO timestamps: at or after `since`, before `until`. */
  since?: string;
  until?: string;
}

/** The actor of entries written where no request or job says who acts. */
const unknownActor: AuditActor = { kind: 'system', name: 'berth' };

/**
 * Appends an entry, inside `db` when it is a transaction: an entry about a change is written in
 * the change's transaction, so that it exists exactly when the change committed. The client
 * address and request id come from the current request.
 */
export async function recordAudit(db: Kysely<Schema>, entry: AuditEntry, now = new Date()): Promise<void> {
  const context = entry.context ?? currentAuditContext();
  const actor = entry.actor ?? context?.actor ?? unknownActor;
  await db
    .insertInto('audit_log')
    .values({
      created_at: now.toISOString(),
      actor_kind: actor.kind,
      actor_id: actor.kind === 'system' ? null : actor.id,
      actor_name: actor.name,
      action: entry.action,
      owner_id: entry.owner?.id ?? null,
      owner_name: entry.owner?.name ?? null,
      target: entry.target,
      details: entry.details && Object.keys(entry.details).length > 0 ? JSON.stringify(entry.details) : null,
      client_address: context?.clientAddress ?? null,
      request_id: context?.requestId ?? null,
    })
    .execute();
}

/** How many rows an export reads at a time: it streams, and never holds the whole log. */
const exportBatch = 500;

/**
 * The security log: appended by the services (`recordAudit`), read by site administrators, by
 * organization owners for their organization, and exported as JSON lines. Nothing updates or
 * deletes its rows; it has no foreign keys, so deleting an account keeps its entries.
 */
export class AuditLog {
  constructor(private readonly db: Kysely<Schema>) {}

  record(entry: AuditEntry): Promise<void> {
    return recordAudit(this.db, entry);
  }

  /** A page of entries, newest first, and how many match in all. */
  async page(filter: AuditFilter, limit: number, offset: number): Promise<{ items: AuditRecord[]; total: number }> {
    const base = this.db.selectFrom('audit_log').where((eb) => conditions(eb, filter));
    const count = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    const rows = await base.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute();
    return { items: rows.map(toRecord), total: Number(count?.n ?? 0) };
  }

  /** Every matching entry, oldest first, read in batches by id. */
  async *all(filter: AuditFilter): AsyncGenerator<AuditRecord> {
    let after = 0;
    for (;;) {
      const rows = await this.db
        .selectFrom('audit_log')
        .selectAll()
        .where((eb) => eb.and([eb('id', '>', after), conditions(eb, filter)]))
        .orderBy('id')
        .limit(exportBatch)
        .execute();
      for (const row of rows) yield toRecord(row);
      const last = rows.at(-1);
      if (!last || rows.length < exportBatch) return;
      after = last.id;
    }
  }
}

function conditions(eb: ExpressionBuilder<Schema, 'audit_log'>, filter: AuditFilter) {
  const all = [];
  if (filter.ownerId !== undefined) all.push(eb('owner_id', '=', filter.ownerId));
  if (filter.actions && filter.actions.length > 0) {
    all.push(
      eb.or(
        filter.actions.map((action) => {
          // A prefix is compared with substr rather than LIKE, whose `_` would match any character
          // (`package_version.` is a category).
          const prefix = (text: string) => eb(sql<string>`substr(action, 1, ${sql.lit(text.length)})`, '=', text);
          if (action.endsWith('.')) return prefix(action);
          if (!action.includes('.')) return eb.or([eb('action', '=', action), prefix(`${action}.`)]);
          return eb('action', '=', action);
        }),
      ),
    );
  }
  if (filter.actors && filter.actors.length > 0) {
    all.push(eb(sql<string>`lower(actor_name)`, 'in', filter.actors.map((actor) => actor.toLowerCase())));
  }
  if (filter.since !== undefined) all.push(eb('created_at', '>=', filter.since));
  if (filter.until !== undefined) all.push(eb('created_at', '<', filter.until));
  return eb.and(all);
}

function toRecord(row: Selectable<AuditLogTable>): AuditRecord {
  const actor: AuditActor = row.actor_kind === 'system' ? { kind: 'system', name: row.actor_name } : { kind: row.actor_kind, id: Number(row.actor_id), name: row.actor_name };
  return {
    id: Number(row.id),
    createdAt: row.created_at,
    actor,
    action: row.action,
    owner: row.owner_id === null ? null : { id: Number(row.owner_id), name: row.owner_name ?? '' },
    target: row.target,
    details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : {},
    clientAddress: row.client_address,
    requestId: row.request_id,
  };
}

/** An entry as the API and the export write it: GitHub's audit log fields, plus Berth's own. */
export function auditJson(record: AuditRecord): Record<string, unknown> {
  return {
    id: record.id,
    '@timestamp': Date.parse(record.createdAt),
    created_at: record.createdAt,
    action: record.action,
    actor: record.actor.name,
    actor_kind: record.actor.kind,
    actor_id: record.actor.kind === 'system' ? null : record.actor.id,
    org: record.owner?.name ?? null,
    owner_id: record.owner?.id ?? null,
    target: record.target,
    details: record.details,
    actor_ip: record.clientAddress,
    request_id: record.requestId,
  };
}
