import type { Database, HookFormat, Visibility } from '../db/schema.js';
import type { PackageAction } from '../packages/package-changes.js';
import type { PackageService } from '../packages/package-service.js';
import type { GithubEventName, HookPayloads } from './hook-payloads.js';

/** What the outbox keeps of a package change for one hook (`hook_deliveries.facts`). */
export interface StoredFacts {
  /** The change's: the same in the deliveries of one change to several hooks. */
  changeId: string;
  format: HookFormat;
  event: GithubEventName;
  action: PackageAction;
  packageId: number;
  digest?: string;
  tag?: string;
  actorId?: number;
  from?: Visibility;
}

/** The body of a delivery whose package no longer exists (purged): it cannot be made, and is not sent. */
export class PackageGoneError extends Error {
  override name = 'PackageGoneError';
}

/**
 * Makes a package event's body from its stored facts when the delivery is first sent, outside the
 * transaction of the change: a push with hooks then writes a few small rows rather than reading
 * the package and its version and writing a body per hook. What the event is about (its action,
 * package, version, tag, actor, the visibility before) is the change's; the package's other
 * fields (its version count, the version's tags) are as they are at that first attempt.
 */
export class HookRenderer {
  /**
   * What was read for recent changes, for a second: the hooks of one package (its own and its
   * owner's) get the same change at about the same time, and read it once.
   */
  private readonly recent = new Map<string, { at: number; read: ReturnType<HookRenderer['read']>; githubBodies?: Map<GithubEventName, string> }>();

  constructor(
    private readonly db: Database,
    private readonly packages: PackageService,
    private readonly payloads: HookPayloads,
  ) {}

  async render(guid: string, createdAt: string, facts: StoredFacts): Promise<string> {
    const key = facts.changeId;
    const now = Date.now();
    let entry = this.recent.get(key);
    if (!entry || now - entry.at > 1000) {
      entry = { at: now, read: this.read(facts) };
      this.recent.set(key, entry);
      entry.read.catch(() => this.recent.delete(key));
      if (this.recent.size > 256) for (const [old, value] of this.recent) if (now - value.at > 1000) this.recent.delete(old);
    }
    const { pkg, version, sender } = await entry.read;
    const event = { action: facts.action, pkg, version, tag: facts.tag, from: facts.from, sender };
    if (facts.format === 'distribution') return bodyOf(this.payloads.distribution(guid, createdAt, event));
    // A GitHub-form body is the same for every hook that gets the change as the same event.
    entry.githubBodies ??= new Map();
    let body = entry.githubBodies.get(facts.event);
    if (body === undefined) entry.githubBodies.set(facts.event, (body = bodyOf(this.payloads.github(facts.event, event))));
    return body;
  }

  private async read(facts: StoredFacts) {
    const pkg = await this.packages.byId(facts.packageId);
    if (!pkg) throw new PackageGoneError('its package no longer exists');
    const version = facts.digest === undefined ? undefined : await this.packages.versionByDigest(pkg, facts.digest);
    const sender = facts.actorId === undefined ? undefined : await this.db.selectFrom('accounts').select(['id', 'name as login']).where('id', '=', facts.actorId).executeTakeFirst();
    return { pkg, version, sender };
  }
}

function bodyOf(payload: object | undefined): string {
  if (!payload) throw new PackageGoneError('its version no longer exists');
  return JSON.stringify(payload);
}
