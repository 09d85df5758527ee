import type { PackageRecord, VersionRecord } from '../../packages/package-service.js';
import { Day } from '../day.js';
import { CopyableCommand, ExternalLink, Layout, type PageContext } from '../layout.js';
import { Table } from '../table.js';
import { settingsPath } from './package-settings.js';
import { versionPath, versionsPath } from './versions.js';

/** Names people know for the artifact types of referrers; others are shown as they are. */
const artifactKinds: Array<[RegExp, string]> = [
  [/sigstore|cosign|signature|notation/i, 'Signatures'],
  [/spdx|cyclonedx|sbom|syft/i, 'SBOMs'],
  [/in-toto|attestation|provenance|slsa/i, 'Attestations'],
];

function kindOf(artifactType: string): string {
  return artifactKinds.find(([pattern]) => pattern.test(artifactType))?.[1] ?? artifactType;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export interface PackagePageProps {
  context: PageContext;
  pkg: PackageRecord;
  /** Whether the viewer may change the package's settings. */
  admin: boolean;
  /** Live versions, newest first. */
  versions: VersionRecord[];
}

export function PackagePage({ context, pkg, versions, admin }: PackagePageProps) {
  const tagged = versions.filter((version) => version.tags.length > 0);
  const newest = tagged[0];
  const referrers = versions.filter((version) => version.subject !== null && version.artifactType !== null);
  const groups = new Map<string, VersionRecord[]>();
  for (const referrer of referrers) {
    const kind = kindOf(referrer.artifactType ?? '');
    groups.set(kind, [...(groups.get(kind) ?? []), referrer]);
  }
  const image = `${context.registryHost}/${pkg.repository}`;
  const { metadata } = pkg;
  return (
    <Layout context={context} title={pkg.repository}>
      <p class="muted">
        <a href={`/${pkg.owner.kind === 'org' ? 'orgs' : 'users'}/${pkg.owner.login}/packages`}>{pkg.owner.login}</a> / package
      </p>
      <h1>
        {pkg.name} <span class="badge">{pkg.visibility}</span>
      </h1>
      {metadata.description ? <p>{metadata.description}</p> : <p class="muted">No description. Add the label org.opencontainers.image.description to the image.</p>}
      <div class="layout">
        <div>
          <h2>Install from the command line</h2>
          {newest ? (
            <>
              <CopyableCommand label="Pull by tag" command={`docker pull ${image}:${newest.tags[0]}`} />
              <p class="muted">Or by digest:</p>
              <CopyableCommand label="Pull by digest" command={`docker pull ${image}@${newest.digest}`} />
            </>
          ) : (
            <p class="muted">No tagged version yet.</p>
          )}

          <h2>Recent tagged versions</h2>
          <p>
            <a href={versionsPath(pkg)}>All versions</a>
            {admin && (
              <>
                {' · '}
                <a href={settingsPath(pkg)}>Package settings</a>
              </>
            )}
          </p>
          {tagged.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <Table columns={['Tags', 'Digest', 'Published']}>
              {tagged.slice(0, 10).map((version) => (
                <tr>
                  <td>{version.tags.join(', ')}</td>
                  <td>
                    <a href={versionPath(pkg, version.id)}>
                      <code>{version.digest.slice(0, 19)}</code>
                    </a>
                  </td>
                  <td>
                    <Day at={version.createdAt} />
                  </td>
                </tr>
              ))}
            </Table>
          )}

          {newest && newest.platforms.length > 0 && (
            <>
              <h2>Platforms of {newest.tags[0]}</h2>
              <ul>
                {newest.platforms.map((platform) => (
                  <li>
                    <code>{platform}</code>
                  </li>
                ))}
              </ul>
            </>
          )}

          {groups.size > 0 && (
            <>
              <h2>Signatures, SBOMs and attestations</h2>
              {[...groups.entries()].map(([kind, items]) => (
                <section>
                  <h3>{kind}</h3>
                  <ul>
                    {items.map((item) => (
                      <li>
                        <code>{item.digest.slice(0, 19)}</code> for <code>{(item.subject ?? '').slice(0, 19)}</code> <span class="muted">{item.artifactType}</span>
                      </li>
                    ))}
                  </ul>
                </section>
              ))}
            </>
          )}
        </div>
        <aside aria-label="Details">
          <section>
            <h2>Details</h2>
            <dl class="details">
              {metadata.licenses && (
                <>
                  <dt>License</dt>
                  <dd>{metadata.licenses}</dd>
                </>
              )}
              {pkg.source ? (
                <>
                  <dt>Repository</dt>
                  <dd>{`${pkg.source.owner.login}/${pkg.source.name}`}</dd>
                </>
              ) : (
                metadata.source && (
                  <>
                    <dt>Source</dt>
                    <dd>
                      <ExternalLink href={metadata.source} />
                    </dd>
                  </>
                )
              )}
              <dt>Visibility</dt>
              <dd>{pkg.visibility}</dd>
              <dt>Downloads</dt>
              <dd>{pkg.downloadCount}</dd>
              <dt>Versions</dt>
              <dd>{pkg.versionCount}</dd>
              {newest && (
                <>
                  <dt>Last published</dt>
                  <dd>
                    <Day at={newest.createdAt} />
                  </dd>
                  <dt>Size</dt>
                  <dd>{formatBytes(newest.size)}</dd>
                </>
              )}
            </dl>
          </section>
        </aside>
      </div>
    </Layout>
  );
}
