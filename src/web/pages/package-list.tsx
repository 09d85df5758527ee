import type { PackageRecord } from '../../packages/package-service.js';
import { Layout, type PageContext } from '../layout.js';
import { packagePagePath } from '../../packages/package-json.js';

export function PackageListPage({ context, title, packages, empty }: { context: PageContext; title: string; packages: PackageRecord[]; empty: string }) {
  return (
    <Layout context={context} title={title}>
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
