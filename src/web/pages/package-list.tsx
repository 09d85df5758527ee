import type { PackageRecord } from '../../packages/package-service.js';
import { Layout, type PageContext, PostButton } from '../layout.js';
import { packagePagePath, packagePathPrefix } from '../../packages/package-json.js';

export interface PackageListProps {
  context: PageContext;
  title: string;
  packages: PackageRecord[];
  empty: string;
  /** With a value, the list is under a search box over names and descriptions. */
  search?: string;
  /** Deleted packages the viewer may restore. */
  deleted?: PackageRecord[];
}

export function PackageListPage({ context, title, packages, empty, search, deleted }: PackageListProps) {
  return (
    <Layout context={context} title={title}>
      {search !== undefined && (
        <form role="search" method="get" action="/">
          <label for="q">Search packages</label>{' '}
          <input type="search" id="q" name="q" value={search} maxLength={100} /> <button type="submit">Search</button>
        </form>
      )}
      <h1>{title}</h1>
      {packages.length === 0 ? (
        <p class="muted">{empty}</p>
      ) : (
        <ul class="items">
          {packages.map((pkg) => (
            <li>
              <a class="name" href={packagePagePath(pkg)}>
                {pkg.repository}
              </a>{' '}
              <span class="badge">{pkg.visibility}</span>
              {pkg.metadata.description && <div>{pkg.metadata.description}</div>}
              <div class="muted">
                Updated <time datetime={pkg.updatedAt}>{pkg.updatedAt.slice(0, 10)}</time> · {pkg.downloadCount} downloads
              </div>
            </li>
          ))}
        </ul>
      )}
      {deleted && deleted.length > 0 && (
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
