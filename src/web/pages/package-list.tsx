import type { PackageRecord } from '../../packages/package-service.js';
import { Layout, type PageContext } from '../layout.js';
import { packagePagePath } from '../../packages/package-json.js';

/** A list of packages; with `search`, under a search box over names and descriptions. */
export function PackageListPage({ context, title, packages, empty, search }: { context: PageContext; title: string; packages: PackageRecord[]; empty: string; search?: string }) {
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
    </Layout>
  );
}
