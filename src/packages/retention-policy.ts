import { PackageRuleError } from './errors.js';
import { parsePatterns, patternMatches } from './immutable-tags.js';

/** The most versions `keep_newest` may keep; more would be no policy at all. */
export const maxKeepNewest = 10_000;
/** The shortest age a deleting rule may name: a multi-arch push leaves its platform images untagged until its index arrives. */
export const minAgeDays = 1;
export const maxAgeDays = 3650;

const dayMs = 24 * 60 * 60 * 1000;

/**
 * Which versions a package keeps (docs/packages.md, "Retention policies"). Every rule is optional;
 * a policy without rules deletes nothing, which, set on a package, keeps its owner's default away.
 */
export interface RetentionPolicy {
  keepNewest?: number;
  keepTags?: string[];
  deleteUntaggedOlderThanDays?: number;
  /** Comes with `deleteTags`. */
  deleteTaggedOlderThanDays?: number;
  deleteTags?: string[];
}

/** The JSON of a policy, as the API reads and answers it: every rule, null when unset. */
export interface RetentionPolicyJson {
  keep_newest: number | null;
  keep_tags: string[];
  delete_untagged_older_than_days: number | null;
  delete_tagged_older_than_days: number | null;
  delete_tags: string[];
}

const fields = ['keep_newest', 'keep_tags', 'delete_untagged_older_than_days', 'delete_tagged_older_than_days', 'delete_tags'] as const;

/** Checks a policy given by a caller (the API's JSON), or throws a `PackageRuleError` naming what is wrong. */
export function parseRetentionPolicy(value: unknown): RetentionPolicy {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PackageRuleError('a retention policy must be an object of rules');
  const body = value as Record<string, unknown>;
  const unknown = Object.keys(body).filter((key) => !(fields as readonly string[]).includes(key));
  if (unknown.length > 0) throw new PackageRuleError(`unknown rule ${JSON.stringify(unknown[0]?.slice(0, 60))}: use ${fields.join(', ')}`);
  const policy: RetentionPolicy = {};
  const keepNewest = whole(body['keep_newest'], 'keep_newest', 1, maxKeepNewest);
  if (keepNewest !== undefined) policy.keepNewest = keepNewest;
  const keepTags = patterns(body['keep_tags']);
  if (keepTags.length > 0) policy.keepTags = keepTags;
  const untagged = whole(body['delete_untagged_older_than_days'], 'delete_untagged_older_than_days', minAgeDays, maxAgeDays);
  if (untagged !== undefined) policy.deleteUntaggedOlderThanDays = untagged;
  const tagged = whole(body['delete_tagged_older_than_days'], 'delete_tagged_older_than_days', minAgeDays, maxAgeDays);
  const deleteTags = patterns(body['delete_tags']);
  if ((tagged === undefined) !== (deleteTags.length === 0)) throw new PackageRuleError('delete_tagged_older_than_days and delete_tags come together');
  if (tagged !== undefined) {
    policy.deleteTaggedOlderThanDays = tagged;
    policy.deleteTags = deleteTags;
  }
  return policy;
}

function whole(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new PackageRuleError(`${name} must be a whole number from ${min} to ${max}`);
  return value;
}

function patterns(value: unknown): string[] {
  return value === undefined || value === null ? [] : parsePatterns(value);
}

export function retentionPolicyJson(policy: RetentionPolicy): RetentionPolicyJson {
  return {
    keep_newest: policy.keepNewest ?? null,
    keep_tags: policy.keepTags ?? [],
    delete_untagged_older_than_days: policy.deleteUntaggedOlderThanDays ?? null,
    delete_tagged_older_than_days: policy.deleteTaggedOlderThanDays ?? null,
    delete_tags: policy.deleteTags ?? [],
  };
}

/** One live version as a retention plan sees it. */
export interface RetentionVersion {
  id: number;
  digest: string;
  /** When it was first pushed: the order of `keep_newest`. */
  createdAt: string;
  /** Its last push, restore, or tag set on it: what its age counts from. */
  lastActiveAt: string;
  /** The digest its manifest names as `subject`, if any. */
  subject: string | null;
  tags: string[];
}

/** A version a plan deletes, and why. */
export interface RetentionDeletion {
  id: number;
  digest: string;
  tags: string[];
  reason: string;
  /**
   * The manifests that list it or refer to it now, deleted or kept (a tagged referrer stays): a
   * deletion that finds any other has met a change since the plan.
   */
  heldBy: string[];
}

/**
 * What a policy deletes of a package now, indexes before the images they list. `lists` maps each
 * index to the manifests it lists; `immutable` says whether a tag is immutable. Pure: the same
 * package, policy and time always give the same plan, which is what makes a preview exact.
 */
export function planRetention(
  versions: readonly RetentionVersion[],
  lists: ReadonlyMap<string, readonly string[]>,
  policy: RetentionPolicy,
  immutable: (tag: string) => boolean,
  now: Date,
): RetentionDeletion[] {
  const live = new Map(versions.map((version) => [version.digest, version]));
  // What each live version holds: the manifests it lists (an index) and its referrers.
  const holds = new Map<string, string[]>();
  const hold = (from: string, to: string) => holds.set(from, [...(holds.get(from) ?? []), to]);
  const listed = new Set<string>();
  for (const [index, children] of lists) {
    if (!live.has(index)) continue;
    for (const child of children) {
      if (!live.has(child) || child === index) continue;
      listed.add(child);
      hold(index, child);
    }
  }
  const referrers = new Set<string>();
  for (const version of versions) {
    if (version.subject === null || version.subject === version.digest || !live.has(version.subject)) continue;
    referrers.add(version.digest);
    hold(version.subject, version.digest);
  }
  const topLevel = versions
    .filter((version) => !listed.has(version.digest) && !referrers.has(version.digest))
    .sort((a, b) => (a.createdAt === b.createdAt ? b.id - a.id : a.createdAt < b.createdAt ? 1 : -1));
  const newest = new Set(topLevel.slice(0, policy.keepNewest ?? 0).map((version) => version.digest));

  const chosen = new Map<string, string>();
  for (const version of topLevel) {
    const reason = deletingRule(version, policy, now);
    if (reason === undefined || newest.has(version.digest)) continue;
    if (version.tags.some((tag) => immutable(tag) || (policy.keepTags ?? []).some((pattern) => patternMatches(pattern, tag)))) continue;
    chosen.set(version.digest, reason);
  }

  // Kept: every version not chosen that stands on its own (top-level) or carries a tag, and
  // whatever those hold, at any depth.
  const kept = new Set<string>();
  const stack = versions.filter((version) => !chosen.has(version.digest) && (version.tags.length > 0 || (!listed.has(version.digest) && !referrers.has(version.digest)))).map((version) => version.digest);
  while (stack.length > 0) {
    const digest = stack.pop() as string;
    if (kept.has(digest)) continue;
    kept.add(digest);
    stack.push(...(holds.get(digest) ?? []));
  }

  // Everything else goes, in an order where a version comes after every deleted one that holds it.
  const doomed = versions.filter((version) => !kept.has(version.digest));
  const doomedSet = new Set(doomed.map((version) => version.digest));
  const waiting = new Map(doomed.map((version) => [version.digest, 0]));
  const reasons = new Map(chosen);
  for (const from of doomedSet) {
    for (const to of holds.get(from) ?? []) {
      if (!doomedSet.has(to)) continue;
      waiting.set(to, (waiting.get(to) ?? 0) + 1);
      if (!reasons.has(to)) reasons.set(to, listed.has(to) && lists.get(from)?.includes(to) ? `listed only by deleted index ${from}` : `referrer of deleted ${from}`);
    }
  }
  const heldBy = new Map<string, string[]>();
  const heldFrom = (to: string, from: string) => heldBy.set(to, [...(heldBy.get(to) ?? []), from]);
  for (const [index, children] of lists) for (const child of children) heldFrom(child, index);
  for (const version of versions) if (version.subject !== null) heldFrom(version.subject, version.digest);
  const ready = doomed.filter((version) => waiting.get(version.digest) === 0).map((version) => version.digest);
  const plan: RetentionDeletion[] = [];
  while (ready.length > 0) {
    const digest = ready.shift() as string;
    const version = live.get(digest) as RetentionVersion;
    plan.push({ id: version.id, digest, tags: version.tags, reason: reasons.get(digest) ?? 'held only by deleted versions', heldBy: [...new Set(heldBy.get(digest))].sort() });
    for (const to of holds.get(digest) ?? []) {
      if (!doomedSet.has(to)) continue;
      const left = (waiting.get(to) ?? 0) - 1;
      waiting.set(to, left);
      if (left === 0) ready.push(to);
    }
  }
  return plan;
}

/** Why a deleting rule of the policy chooses a top-level version, if one does. */
function deletingRule(version: RetentionVersion, policy: RetentionPolicy, now: Date): string | undefined {
  const olderThan = (days: number) => Date.parse(version.lastActiveAt) < now.getTime() - days * dayMs;
  if (version.tags.length === 0) {
    const days = policy.deleteUntaggedOlderThanDays;
    return days !== undefined && olderThan(days) ? `untagged, last active ${version.lastActiveAt}, older than ${days} days` : undefined;
  }
  const days = policy.deleteTaggedOlderThanDays;
  const patterns = policy.deleteTags ?? [];
  if (days === undefined || !version.tags.every((tag) => patterns.some((pattern) => patternMatches(pattern, tag)))) return undefined;
  return olderThan(days) ? `tagged ${version.tags.join(', ')}, last active ${version.lastActiveAt}, older than ${days} days` : undefined;
}
