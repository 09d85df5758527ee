import { sql } from 'kysely';
import { statementPerDialect } from '../db/prepared-query.js';
import type { Database } from '../db/schema.js';
import type { Digest } from '../oci/digest.js';
import { ImmutableTagError, PackageRuleError } from './errors.js';
import { namespaceOf } from './package-access.js';

/** The longest pattern accepted: with tags of at most 128 characters, long patterns serve nobody. */
export const maxPatternLength = 100;
/** The most patterns a package, or an owner's default, may hold; each tagged push tests them all. */
export const maxPatterns = 20;

/** A pattern and where it was set: on the package, or as its owner's default. */
export interface ImmutableTagRule {
  pattern: string;
  /** `package`, or the user or organization whose default it is. */
  setOn: 'package' | 'owner';
  /** The package's repository name, or the owner's name. */
  of: string;
}

/** A package's own patterns and those it takes from its owner. */
export interface PackageImmutableTags {
  patterns: string[];
  ownerPatterns: string[];
}

/**
 * Checks patterns given by a caller and answers them sorted and without duplicates, or throws a
 * `PackageRuleError` naming the first bad one. A pattern is a regular expression (JavaScript
 * syntax, Unicode mode) matched against the whole tag, as if written `^(?:pattern)$`.
 *
 * Tags are at most 128 characters, so only backtracking that grows exponentially with the tag can
 * hurt; it needs a repeated group that can match one text in several ways. Such groups are
 * refused outright: a group repeated by `*`, `+` or `{…}` may contain neither a quantifier nor an
 * alternation (`(a+)+`, `(a|ab)*`), and backreferences are refused. `v\d+(?:\.\d+)?` is accepted,
 * `v\d+(\.\d+)*` is not: write `v[0-9.]+` or spell the parts out.
 */
export function parsePatterns(value: unknown): string[] {
  if (!Array.isArray(value)) throw new PackageRuleError('patterns must be an array of regular expressions');
  if (value.length > maxPatterns) throw new PackageRuleError(`at most ${maxPatterns} patterns`);
  const patterns = new Set<string>();
  for (const item of value) {
    if (typeof item !== 'string' || item.trim() === '') throw new PackageRuleError('each pattern must be a non-empty string');
    patterns.add(checkPattern(item.trim()));
  }
  return [...patterns].sort();
}

function checkPattern(pattern: string): string {
  const quoted = JSON.stringify(pattern.slice(0, maxPatternLength + 20));
  if (pattern.length > maxPatternLength) throw new PackageRuleError(`pattern ${quoted} is longer than ${maxPatternLength} characters`);
  try {
    // Alone first: `a)|(b` compiles only once wrapped, and would then escape the anchors.
    new RegExp(pattern, 'u');
  } catch (error) {
    throw new PackageRuleError(`pattern ${quoted} is not a valid regular expression: ${(error as Error).message}`);
  }
  const risk = backtrackingRisk(pattern);
  if (risk) throw new PackageRuleError(`pattern ${quoted} is refused: ${risk}`);
  return pattern;
}

/** Why matching the pattern could take exponential time, if it could (see `parsePatterns`). */
function backtrackingRisk(pattern: string): string | undefined {
  type Group = { quantified: boolean; alternation: boolean };
  const groups: Group[] = [{ quantified: false, alternation: false }];
  const top = (): Group => groups[groups.length - 1] as Group;
  let i = 0;
  while (i < pattern.length) {
    const char = pattern[i] as string;
    if (char === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'backreferences are not allowed';
      i += 2;
      continue;
    }
    if (char === '[') {
      // A character class is one atom, whatever it holds.
      i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (char === '(') {
      groups.push({ quantified: false, alternation: false });
      i++;
      // `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!`, `(?<name>`: the `?` is not a quantifier.
      if (pattern[i] === '?') {
        i++;
        if (pattern[i] === '<' && pattern[i + 1] !== '=' && pattern[i + 1] !== '!') i = pattern.indexOf('>', i) + 1;
        else i += pattern[i] === '<' ? 2 : 1;
      }
      continue;
    }
    if (char === ')') {
      const group = groups.pop() as Group;
      i++;
      const repeated = pattern[i] === '*' || pattern[i] === '+' || pattern[i] === '{';
      if (repeated && group.quantified) return 'a repeated group may not contain a quantifier';
      if (repeated && group.alternation) return 'a repeated group may not contain an alternation';
      if (group.quantified || repeated || pattern[i] === '?') top().quantified = true;
      continue;
    }
    if (char === '|') top().alternation = true;
    if (char === '*' || char === '+' || char === '?' || char === '{') top().quantified = true;
    i++;
  }
  return undefined;
}

/** Compiled patterns, shared by every check: a few dozen distinct patterns is the usual. */
const compiled = new Map<string, RegExp>();

/** Whether a pattern checked by `parsePatterns` matches the whole tag. */
export function patternMatches(pattern: string, tag: string): boolean {
  return matcher(pattern).test(tag);
}

function matcher(pattern: string): RegExp {
  let regex = compiled.get(pattern);
  if (!regex) {
    if (compiled.size >= 1000) compiled.clear();
    regex = new RegExp(`^(?:${pattern})$`, 'u');
    compiled.set(pattern, regex);
  }
  return regex;
}

/** The package's and its owner's patterns: read by every tagged push, so compiled once. */
const rulesOfRepository = statementPerDialect<{ pattern: string; of: string; set_on: 'package' | 'owner' }, [string, string]>(
  (db) => (repository: never, namespace: never) =>
    db
      .selectFrom('package_immutable_tags')
      .innerJoin('packages', 'packages.id', 'package_immutable_tags.package_id')
      .select(['package_immutable_tags.pattern', 'packages.name as of', sql<'package' | 'owner'>`${sql.lit('package')}`.as('set_on')])
      .where('packages.name', '=', repository)
      .where('packages.deleted_at', 'is', null)
      .unionAll((eb) =>
        eb
          .selectFrom('account_immutable_tags')
          .innerJoin('accounts', 'accounts.id', 'account_immutable_tags.account_id')
          .select(['account_immutable_tags.pattern', 'accounts.name as of', sql<'package' | 'owner'>`${sql.lit('owner')}`.as('set_on')])
          .where('accounts.name_key', '=', namespace),
      ),
);

/**
 * Immutable tags: patterns set on a package, and defaults set on a user or organization that
 * apply to every one of its packages. The two add up: a tag is immutable when it matches any
 * pattern of its package or of the package's owner, so a package can make more tags immutable
 * than its owner asks but not fewer. An immutable tag, once it points at a manifest, may not be
 * moved to another, nor deleted, nor lose its manifest; pushing the same manifest to it again
 * succeeds, since clients retry.
 */
export class ImmutableTags {
  constructor(
    private readonly db: Database,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async ofPackage(packageId: number, ownerId: number): Promise<PackageImmutableTags> {
    const own = await this.db.selectFrom('package_immutable_tags').select('pattern').where('package_id', '=', packageId).orderBy('pattern').execute();
    return { patterns: own.map((row) => row.pattern), ownerPatterns: await this.ofOwner(ownerId) };
  }

  async ofOwner(accountId: number): Promise<string[]> {
    const rows = await this.db.selectFrom('account_immutable_tags').select('pattern').where('account_id', '=', accountId).orderBy('pattern').execute();
    return rows.map((row) => row.pattern);
  }

  /** Replaces a package's own patterns (checked by `parsePatterns`); an empty list clears them. */
  async setForPackage(packageId: number, patterns: readonly string[]): Promise<void> {
    const now = this.clock().toISOString();
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('package_immutable_tags').where('package_id', '=', packageId).execute();
      if (patterns.length > 0) await trx.insertInto('package_immutable_tags').values(patterns.map((pattern) => ({ package_id: packageId, pattern, created_at: now }))).execute();
    });
  }

  /** Replaces the default patterns of a user or organization (checked by `parsePatterns`). */
  async setForOwner(accountId: number, patterns: readonly string[]): Promise<void> {
    const now = this.clock().toISOString();
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('account_immutable_tags').where('account_id', '=', accountId).execute();
      if (patterns.length > 0) await trx.insertInto('account_immutable_tags').values(patterns.map((pattern) => ({ account_id: accountId, pattern, created_at: now }))).execute();
    });
  }

  /** Every rule that applies to the live package of a repository (or to a new one in its namespace). */
  async rulesOf(repository: string): Promise<ImmutableTagRule[]> {
    const { rows } = await rulesOfRepository(this.db, repository, namespaceOf(repository));
    return rows.map((row) => ({ pattern: row.pattern, of: row.of, setOn: row.set_on }));
  }

  /** The first rule that makes `tag` immutable, if any. */
  async ruleFor(repository: string, tag: string): Promise<ImmutableTagRule | undefined> {
    return firstMatch(await this.rulesOf(repository), tag);
  }

  /**
   * Refuses to take any of `tags` (the tags of manifests about to be deleted) away if one is
   * immutable. `action` says what was asked, for the message.
   */
  async refuseRemoving(repository: string, tags: readonly string[], action: string): Promise<void> {
    if (tags.length === 0) return;
    const rules = await this.rulesOf(repository);
    for (const tag of tags) {
      const rule = firstMatch(rules, tag);
      if (rule) throw new ImmutableTagError(tag, rule, action);
    }
  }

  /**
   * Inside the push's transaction, before the tag is written: refuses to point an immutable tag at
   * another manifest than the one it has. The package's row is written first so that, on
   * PostgreSQL, a concurrent push to the same package waits for this one to commit and then sees
   * the tag it wrote.
   */
  async refuseMoving(repository: string, tag: string, digest: Digest, rule: ImmutableTagRule): Promise<void> {
    await this.db.updateTable('packages').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('name', '=', repository).where('deleted_at', 'is', null).execute();
    const current = await this.db
      .selectFrom('tags')
      .innerJoin('repositories', 'repositories.id', 'tags.repository_id')
      .select('tags.digest')
      .where('repositories.name', '=', repository)
      .where('tags.name', '=', tag)
      .executeTakeFirst();
    if (current && current.digest !== digest) throw new ImmutableTagError(tag, rule, `move it from ${current.digest} to ${digest}`);
  }
}

/** The first of `rules` that makes `tag` immutable, if any. */
export function firstMatch(rules: readonly ImmutableTagRule[], tag: string): ImmutableTagRule | undefined {
  return rules.find((rule) => patternMatches(rule.pattern, tag));
}
