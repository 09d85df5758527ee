import { packagePagePath, packagePathPrefix } from '../../packages/package-json.js';
import type { PackageRecord, VersionRecord } from '../../packages/package-service.js';
import { Layout, Notice, type PageContext, PostButton } from '../layout.js';

export type VersionFilter = 'tagged' | 'untagged' | 'deleted';
export const versionFilters: readonly VersionFilter[] = ['tagged', 'untagged', 'deleted'];

export interface VersionsPageProps {
  context: PageContext;
  pkg: PackageRecord;
  filter: VersionFilter;
  versions: VersionRecord[];
  page: number;
  hasMore: boolean;
  /** Whether the viewer may delete and restore versions. */
  admin: boolean;
  error?: string;
}

/** `…/container/{name}/versions`: the package's versions, filtered, a page at a time. */
export function VersionsPage({ context, pkg, filter, versions, page, hasMore, admin, error }: VersionsPageProps) {
  const base = versionsPath(pkg);
  return (
    <Layout context={context} title={`Versions of ${pkg.repository}`}>
      <p class="muted">
        <a href={packagePagePath(pkg)}>{pkg.repository}</a> / versions
      </p>
      <h1>Versions</h1>
      <Notice notice={error === undefined ? undefined : { kind: 'error', text: error }} />
      <nav aria-label="Filter versions">
        {versionFilters.map((each) => (
          <>
            {each === filter ? (
              <strong aria-current="page">{each}</strong>
            ) : (
              <a href={`${base}?filter=${each}`}>{each}</a>
            )}{' '}
          </>
        ))}
      </nav>
      {versions.length === 0 ? (
        <p class="muted">No {filter} versions.</p>
      ) : (
        <ul class="items">
          {versions.map((version) => (
            <li>
              <a class="name" href={versionPath(pkg, version.id)}>
                <code>{version.digest}</code>
              </a>
              <div>{version.tags.length > 0 ? version.tags.join(', ') : <span class="muted">untagged</span>}</div>
              <div class="muted">
                {version.deletedAt
                  ? `Deleted ${version.deletedAt.slice(0, 10)}${version.deletedByPolicy ? ` by the retention policy of ${policyOwner(version.deletedByPolicy)}` : ''}`
                  : `Published ${version.createdAt.slice(0, 10)}`}
              </div>
              {admin && (
                <PostButton
                  context={context}
                  action={`${versionPath(pkg, version.id)}/${version.deletedAt ? 'restore' : 'delete'}`}
                  label={version.deletedAt ? 'Restore' : 'Delete'}
                  what={version.digest}
                  danger={!version.deletedAt}
                  confirm={version.deletedAt ? undefined : 'Delete this version? It can be restored for 30 days.'}
                />
              )}
            </li>
          ))}
        </ul>
      )}
      <nav aria-label="Pages">
        {page > 1 && <a href={`${base}?filter=${filter}&page=${page - 1}`}>Previous</a>} {hasMore && <a href={`${base}?filter=${filter}&page=${page + 1}`}>Next</a>}
      </nav>
    </Layout>
  );
}

export function versionsPath(pkg: PackageRecord): string {
  return `${packagePathPrefix(pkg)}/versions`;
}

/** A version's page, the REST API's `html_url` of a version. */
export function versionPath(pkg: PackageRecord, id: number): string {
  return `${packagePathPrefix(pkg)}/${id}`;
}

/** `package:acme/app` reads "acme/app", `org:acme` "acme". */
function policyOwner(by: string): string {
  return by.slice(by.indexOf(':') + 1);
}
