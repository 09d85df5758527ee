import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Visibility } from '../db/schema.js';
import { type ListedPackage, type PackageListQuery, defaultPackageListQuery, packageListSearch, pagePackages, parsePackageListQuery } from './package-list-query.js';

const userVisibilities: readonly Visibility[] = ['public', 'private'];

function listed(name: string, fields: Partial<ListedPackage> = {}): ListedPackage {
  return { name, visibility: 'private', downloadCount: 0, lastPublishedAt: '2024-01-01T00:00:00.000Z', ...fields };
}

const query = (fields: Partial<PackageListQuery>): PackageListQuery => ({ ...defaultPackageListQuery, ...fields });
const names = (packages: ListedPackage[]) => packages.map((pkg) => pkg.name);

describe('parsePackageListQuery', () => {
  it('reads q, visibility, sort and page', () => {
    assert.deepEqual(parsePackageListQuery({ q: '  Web ', visibility: 'public', sort: 'downloads', page: '3' }, userVisibilities), {
      name: 'Web',
      visibility: 'public',
      sort: 'downloads',
      page: 3,
    });
  });

  it('treats unknown values, and a visibility the owner cannot have, as no filter and the default order', () => {
    assert.deepEqual(parsePackageListQuery({ visibility: 'secret', sort: 'stars' }, userVisibilities), defaultPackageListQuery);
    assert.equal(parsePackageListQuery({ visibility: 'internal' }, userVisibilities).visibility, undefined);
    assert.equal(parsePackageListQuery({ visibility: 'internal' }, ['public', 'private', 'internal']).visibility, 'internal');
    assert.deepEqual(parsePackageListQuery(undefined, userVisibilities), defaultPackageListQuery);
  });

  it('takes a page that is not a positive integer as the first', () => {
    for (const page of ['0', '-1', '2.5', 'abc', '', ' 2', '1e3']) assert.equal(parsePackageListQuery({ page }, userVisibilities).page, 1, page);
    assert.equal(parsePackageListQuery({ page: '007' }, userVisibilities).page, 7);
    assert.equal(parsePackageListQuery({ page: '9'.repeat(30) }, userVisibilities).page, Number.MAX_SAFE_INTEGER);
  });

  it('ignores a parameter given twice and cuts a long name filter at 100 characters', () => {
    assert.deepEqual(parsePackageListQuery({ q: ['a', 'b'], sort: ['name', 'downloads'] }, userVisibilities), defaultPackageListQuery);
    assert.equal(parsePackageListQuery({ q: 'x'.repeat(150) }, userVisibilities).name.length, 100);
  });
});

describe('pagePackages', () => {
  const packages = [
    listed('web', { visibility: 'public', downloadCount: 5, lastPublishedAt: '2024-03-01T00:00:00.000Z' }),
    listed('api', { downloadCount: 5, lastPublishedAt: '2024-02-01T00:00:00.000Z' }),
    listed('Web-Tools', { downloadCount: 9, lastPublishedAt: '2024-01-01T00:00:00.000Z' }),
    listed('empty', { downloadCount: 0, lastPublishedAt: null }),
    listed('db', { visibility: 'public', downloadCount: 1, lastPublishedAt: '2024-03-01T00:00:00.000Z' }),
  ];

  it('sorts by the newest publication first, by downloads, or by name; ties by name', () => {
    assert.deepEqual(names(pagePackages(packages, query({ sort: 'published' })).items), ['db', 'web', 'api', 'Web-Tools', 'empty']);
    assert.deepEqual(names(pagePackages(packages, query({ sort: 'downloads' })).items), ['Web-Tools', 'api', 'web', 'db', 'empty']);
    assert.deepEqual(names(pagePackages(packages, query({ sort: 'name' })).items), ['Web-Tools', 'api', 'db', 'empty', 'web']);
  });

  it('filters by a part of the name whatever its case, and by visibility, and counts what matches', () => {
    const byName = pagePackages(packages, query({ name: 'WEB' }));
    assert.deepEqual(names(byName.items), ['web', 'Web-Tools']);
    assert.equal(byName.total, 2);
    const publicWeb = pagePackages(packages, query({ name: 'web', visibility: 'public' }));
    assert.deepEqual([names(publicWeb.items), publicWeb.total], [['web'], 1]);
    assert.equal(pagePackages(packages, query({ visibility: 'internal' })).total, 0);
  });

  it('cuts pages of 30, and answers an empty page past the end with the count and the last page', () => {
    const many = Array.from({ length: 61 }, (_, i) => listed(`p${String(i).padStart(2, '0')}`));
    const first = pagePackages(many, query({ sort: 'name' }));
    assert.deepEqual([first.items.length, first.items[0]?.name, first.items[29]?.name, first.total, first.lastPage], [30, 'p00', 'p29', 61, 3]);
    const third = pagePackages(many, query({ sort: 'name', page: 3 }));
    assert.deepEqual(names(third.items), ['p60']);
    const past = pagePackages(many, query({ sort: 'name', page: 4 }));
    assert.deepEqual([past.items, past.total, past.lastPage], [[], 61, 3]);
    assert.equal(pagePackages([], query({})).lastPage, 1);
  });

  it('leaves the list it was given as it was', () => {
    const given = [listed('b'), listed('a')];
    pagePackages(given, query({ sort: 'name' }));
    assert.deepEqual(names(given), ['b', 'a']);
  });
});

describe('packageListSearch', () => {
  it('writes only what differs from the defaults, encoded', () => {
    assert.equal(packageListSearch(defaultPackageListQuery), '');
    assert.equal(packageListSearch(query({ page: 1, sort: 'published' })), '');
    assert.equal(packageListSearch(query({ name: 'a&b "c"<', visibility: 'private', sort: 'name', page: 2 })), '?q=a%26b+%22c%22%3C&visibility=private&sort=name&page=2');
  });
});
