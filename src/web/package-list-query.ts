import type { Visibility } from '../db/schema.js';
import type { PackageRecord } from '../packages/package-service.js';

export const packageSorts = ['published', 'downloads', 'name'] as const;
export type PackageSort = (typeof packageSorts)[number];

/** Packages on one page of an owner's list, as on GitHub. */
export const packagesPerPage = 30;

/** The longest name filter kept; as the home page's search. */
const maxNameFilterLength = 100;

/** What an owner's package list shows, from its query string (`q`, `visibility`, `sort`, `page`). */
export interface PackageListQuery {
  /** Part of the package name, matched whatever its case; empty for every name. */
  name: string;
  /** Only packages of this visibility; undefined for all of them. */
  visibility: Visibility | undefined;
  sort: PackageSort;
  /** 1-based. */
  page: number;
}

export const defaultPackageListQuery: PackageListQuery = { name: '', visibility: undefined, sort: 'published', page: 1 };

/** What of a package the list filters and sorts on. */
export type ListedPackage = Pick<PackageRecord, 'name' | 'visibility' | 'downloadCount' | 'lastPublishedAt'>;

/**
 * Reads a package list's query string. As on GitHub, a value it does not know means no filter
 * or the default order rather than an error; a visibility the owner cannot have (`internal` for
 * a user) is one of those, so that the form never shows a filter other than the one applied. A
 * page that is not a positive integer is the first.
 */
export function parsePackageListQuery(query: unknown, allowedVisibilities: readonly Visibility[]): PackageListQuery {
  const fields = typeof query === 'object' && query !== null ? (query as Record<string, unknown>) : {};
  // A parameter given twice arrives as an array: it is ignored, as an unknown value.
  const field = (key: string): string | undefined => (typeof fields[key] === 'string' ? fields[key] : undefined);
  const visibility = field('visibility');
  const sort = field('sort');
  const page = field('page') ?? '';
  return {
    name: (field('q') ?? '').trim().slice(0, maxNameFilterLength),
    visibility: allowedVisibilities.find((each) => each === visibility),
    sort: packageSorts.find((each) => each === sort) ?? defaultPackageListQuery.sort,
    page: /^\d+$/.test(page) && Number(page) >= 1 ? Math.min(Number(page), Number.MAX_SAFE_INTEGER) : 1,
  };
}

export interface PackageListPage<T> {
  /** The packages of the page asked for; none when it is past the end. */
  items: T[];
  /** How many packages match the filters, over all pages. */
  total: number;
  /** The last page that has packages (1 when none match). */
  lastPage: number;
}

/**
 * Filters, sorts and cuts one page out of packages the viewer may read. It runs after the
 * readability filter, which is not SQL, so that counts and pages cover only readable packages.
 */
export function pagePackages<T extends ListedPackage>(packages: readonly T[], query: PackageListQuery): PackageListPage<T> {
  const needle = query.name.toLowerCase();
  const matching = packages.filter((pkg) => (query.visibility === undefined || pkg.visibility === query.visibility) && pkg.name.toLowerCase().includes(needle));
  const sorted = matching.sort(orderOf(query.sort));
  const start = (query.page - 1) * packagesPerPage;
  return {
    items: sorted.slice(start, start + packagesPerPage),
    total: sorted.length,
    lastPage: Math.max(1, Math.ceil(sorted.length / packagesPerPage)),
  };
}

/** The query string of a list with `query`, leaving out what is the default, with a leading `?` when not empty. */
export function packageListSearch(query: PackageListQuery): string {
  const params = new URLSearchParams();
  if (query.name !== '') params.set('q', query.name);
  if (query.visibility !== undefined) params.set('visibility', query.visibility);
  if (query.sort !== defaultPackageListQuery.sort) params.set('sort', query.sort);
  if (query.page > 1) params.set('page', String(query.page));
  const search = params.toString();
  return search === '' ? '' : `?${search}`;
}

/** Text compares by code unit, not by locale, so that an order is the same on every server. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName(a: ListedPackage, b: ListedPackage): number {
  return compareText(a.name, b.name);
}

function orderOf(sort: PackageSort): (a: ListedPackage, b: ListedPackage) => number {
  switch (sort) {
    case 'name':
      return byName;
    case 'downloads':
      return (a, b) => b.downloadCount - a.downloadCount || byName(a, b);
    case 'published':
      // Times are ISO 8601 in UTC, which order as text; a package without a live version goes last.
      return (a, b) => compareText(b.lastPublishedAt ?? '', a.lastPublishedAt ?? '') || byName(a, b);
  }
}
