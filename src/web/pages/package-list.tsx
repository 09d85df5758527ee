import type { Visibility } from '../../db/schema.js';
import type { PackageRecord, VersionRecord } from '../../packages/package-service.js';
import { Day } from '../day.js';
import { Layout, Notice, type PageContext, PostButton } from '../layout.js';
import { packagePagePath, packagePathPrefix } from '../../packages/package-json.js';
import { type PackageListQuery, type PackageSort, packageListSearch, packageSorts } from '../package-list-query.js';

export interface PackageListProps {
  context: PageContext;
  title: string;
  packages: PackageRecord[];
  empty: string;
  /** With a value, the list is under a search box over names and descriptions. */
  search?: string;
  /** The newest versions of the listed packages, for a signed-in viewer's home. */
  recent?: ReadonlyArray<{ pkg: PackageRecord; version: VersionRecord }>;
}

/** The home page: the viewer's packages or the public ones, or those a search found. */
export function PackageListPage({ context, title, packages, empty, search, recent }: PackageListProps) {
  return (
    <Layout context={context} title={title}>
      {search !== undefined && (
        <form role="search" method="get" action="/">
          <label for="q">Search packages</label>{' '}
          <input type="search" id="q" name="q" value={search} maxLength={100} /> <button type="submit">Search</button>
        </form>
      )}
      <h1>{title}</h1>
      {packages.length === 0 ? <p class="muted">{empty}</p> : <PackageItems packages={packages} />}
      {recent && recent.length > 0 && <RecentPushes pushes={recent} />}
    </Layout>
  );
}

/** The newest versions of the packages on the page, each linked to its version page. */
function RecentPushes({ pushes }: { pushes: ReadonlyArray<{ pkg: PackageRecord; version: VersionRecord }> }) {
  return (
    <section aria-labelledby="recent-pushes">
      <h2 id="recent-pushes">Recent pushes</h2>
      <ul class="recent-pushes">
        {pushes.map(({ pkg, version }) => (
          <li key={version.id}>
            <a href={`${packagePathPrefix(pkg)}/${version.id}`}>
              {pkg.repository}
              {version.tags.length > 0 ? `:${version.tags.join(', :')}` : ''}
            </a>{' '}
            <code>{version.digest.slice(0, 'sha256:'.length + 12)}</code>{' '}
            <span class="muted">pushed {new Date(version.createdAt).toISOString().slice(0, 16).replace('T', ' ')} UTC</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export interface OwnerPackagesProps {
  context: PageContext;
  /** The owner's name as shown. */
  ownerName: string;
  /** The path of the list, `/users/{user}/packages` or `/orgs/{org}/packages`. */
  path: string;
  /** One page of the packages the viewer may read that match `query`. */
  packages: PackageRecord[];
  /** How many packages match `query`, over all pages. */
  total: number;
  lastPage: number;
  query: PackageListQuery;
  /** The visibilities the owner's packages can have, offered as filters. */
  visibilities: readonly Visibility[];
  /** Deleted packages the viewer may restore. */
  deleted: PackageRecord[];
  error?: string;
}

const sortLabels: Record<PackageSort, string> = { published: 'Recently published', downloads: 'Most downloads', name: 'Name' };
const visibilityLabels: Record<Visibility, string> = { public: 'Public', private: 'Private', internal: 'Internal' };

/** `/users/{user}/packages` and `/orgs/{org}/packages`: filtered by name and visibility, sorted, a page at a time. */
export function OwnerPackagesPage({ context, ownerName, path, packages, total, lastPage, query, visibilities, deleted, error }: OwnerPackagesProps) {
  const title = `Packages of ${ownerName}`;
  const filtered = query.name !== '' || query.visibility !== undefined;
  const pageHref = (page: number) => `${path}${packageListSearch({ ...query, page })}`;
  return (
    <Layout context={context} title={title}>
      <h1>{title}</h1>
      <Notice notice={error === undefined ? undefined : { kind: 'error', text: error }} />
      <form class="filters" role="search" aria-label="Filter packages" method="get" action={path}>
        <div>
          <label for="package-name">Name contains</label>
          <input type="search" id="package-name" name="q" value={query.name} maxLength={100} />
        </div>
        <div>
          <label for="package-visibility">Visibility</label>
          <select id="package-visibility" name="visibility">
            <option value="" selected={query.visibility === undefined}>
              All
            </option>
            {visibilities.map((each) => (
              <option value={each} selected={query.visibility === each}>
                {visibilityLabels[each]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="package-sort">Sort by</label>
          <select id="package-sort" name="sort">
            {packageSorts.map((each) => (
              <option value={each} selected={query.sort === each}>
                {sortLabels[each]}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Apply</button>
      </form>
      <p class="count">
        {total} {total === 1 ? 'package' : 'packages'}
      </p>
      {packages.length > 0 ? (
        <PackageItems packages={packages} />
      ) : (
        <p class="muted">
          {total > 0
            ? `Page ${query.page} is past the end of the list, which has ${lastPage} ${lastPage === 1 ? 'page' : 'pages'}.`
            : filtered
              ? 'No package you can see matches these filters.'
              : 'No packages you can see.'}
        </p>
      )}
      {(query.page > 1 || query.page < lastPage) && (
        <nav aria-label="Pages">
          {query.page > 1 && (
            <a rel="prev" href={pageHref(Math.min(query.page - 1, lastPage))}>
              Previous
            </a>
          )}{' '}
          {query.page < lastPage && (
            <a rel="next" href={pageHref(query.page + 1)}>
              Next
            </a>
          )}
        </nav>
      )}
      {deleted.length > 0 && (
        <>
          <h2>Deleted packages</h2>
          <p class="muted">They can be restored for 30 days after their deletion, unless a new package took the name.</p>
          <ul class="items">
            {deleted.map((pkg) => (
              <li>
                <span class="name">{pkg.repository}</span> <span class="muted">deleted {(pkg.deletedAt ?? '').slice(0, 10)}</span>
                <PostButton context={context} action={`${packagePathPrefix(pkg)}/restore`} label="Restore" what={pkg.repository} />
              </li>
            ))}
          </ul>
        </>
      )}
    </Layout>
  );
}

function PackageItems({ packages }: { packages: PackageRecord[] }) {
  return (
    <ul class="items">
      {packages.map((pkg) => (
        <li>
          <a class="name" href={packagePagePath(pkg)}>
            {pkg.repository}
          </a>{' '}
          <span class="badge">{pkg.visibility}</span>
          {pkg.metadata.description && <div>{pkg.metadata.description}</div>}
          <div class="muted">
            {pkg.lastPublishedAt ? (
              <>
                Published <Day at={pkg.lastPublishedAt} />
              </>
            ) : (
              <>
                Updated <Day at={pkg.updatedAt} />
              </>
            )}{' '}
            · {pkg.downloadCount} {pkg.downloadCount === 1 ? 'download' : 'downloads'}
          </div>
        </li>
      ))}
    </ul>
  );
}
