import { packagePagePath } from '../../packages/package-json.js';
import type { PackageRecord, VersionRecord } from '../../packages/package-service.js';
import type { Referrer } from '../../registry/metadata.js';
import { Day } from '../day.js';
import { CopyableCommand, Layout, type PageContext } from '../layout.js';
import { Table } from '../table.js';
import { versionsPath } from './versions.js';

/** What the page shows of a manifest's own JSON: its layers or the images of an index. */
export interface ManifestParts {
  layers: Array<{ digest: string; size: number; mediaType: string }>;
  manifests: Array<{ digest: string; size: number; platform: string | undefined }>;
  annotations: Record<string, string>;
}

export function VersionPage({ context, pkg, version, parts, referrers }: { context: PageContext; pkg: PackageRecord; version: VersionRecord; parts: ManifestParts | undefined; referrers: Referrer[] }) {
  return (
    <Layout context={context} title={`${pkg.repository}@${version.digest.slice(0, 19)}`}>
      <p class="muted">
        <a href={packagePagePath(pkg)}>{pkg.repository}</a> / <a href={versionsPath(pkg)}>versions</a>
      </p>
      <h1>
        <code>{version.digest}</code>
      </h1>
      <CopyableCommand label="Pull this version" command={`docker pull ${context.registryHost}/${pkg.repository}@${version.digest}`} />
      <dl class="details">
        <dt>Tags</dt>
        <dd>{version.tags.length > 0 ? version.tags.join(', ') : 'none'}</dd>
        <dt>Media type</dt>
        <dd>{version.mediaType}</dd>
        {version.artifactType && (
          <>
            <dt>Artifact type</dt>
            <dd>{version.artifactType}</dd>
          </>
        )}
        <dt>Size</dt>
        <dd>{version.size} bytes (manifest)</dd>
        <dt>Published</dt>
        <dd>
          <Day at={version.createdAt} />
        </dd>
        {version.deletedAt && (
          <>
            <dt>Deleted</dt>
            <dd>{version.deletedAt.slice(0, 10)}</dd>
          </>
        )}
      </dl>
      {parts && parts.manifests.length > 0 && (
        <>
          <h2>Platforms</h2>
          <Table columns={['Platform', 'Digest', 'Size']}>
            {parts.manifests.map((child) => (
              <tr>
                <td>{child.platform ?? 'unknown'}</td>
                <td>
                  <code>{child.digest}</code>
                </td>
                <td>{child.size}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
      {parts && parts.layers.length > 0 && (
        <>
          <h2>Layers</h2>
          <Table columns={['Digest', 'Media type', 'Size']}>
            {parts.layers.map((layer) => (
              <tr>
                <td>
                  <code>{layer.digest}</code>
                </td>
                <td>{layer.mediaType}</td>
                <td>{layer.size}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
      {parts && Object.keys(parts.annotations).length > 0 && (
        <>
          <h2>Annotations</h2>
          <dl class="details">
            {Object.entries(parts.annotations).map(([key, value]) => (
              <>
                <dt>{key}</dt>
                <dd>{value}</dd>
              </>
            ))}
          </dl>
        </>
      )}
      {version.parents.length > 0 && (
        <>
          <h2>Listed by</h2>
          <ul>
            {version.parents.map((parent) => (
              <li>
                <code>{parent}</code>
              </li>
            ))}
          </ul>
        </>
      )}
      {referrers.length > 0 && (
        <>
          <h2>Referrers</h2>
          <ul>
            {referrers.map((referrer) => (
              <li>
                <code>{referrer.digest}</code> <span class="muted">{referrer.artifactType ?? referrer.mediaType}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </Layout>
  );
}

/** The parts of a manifest's JSON the page shows; undefined for bytes that are not such JSON. */
export function manifestParts(content: Buffer): ManifestParts | undefined {
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const body = json as { layers?: unknown; manifests?: unknown; annotations?: unknown };
  const descriptors = (list: unknown) => (Array.isArray(list) ? list.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null) : []);
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const number = (value: unknown) => (typeof value === 'number' ? value : 0);
  return {
    layers: descriptors(body.layers).map((layer) => ({ digest: text(layer['digest']), size: number(layer['size']), mediaType: text(layer['mediaType']) })),
    manifests: descriptors(body.manifests).map((child) => {
      const platform = child['platform'] as { os?: unknown; architecture?: unknown; variant?: unknown } | undefined;
      const parts = platform ? [text(platform.os), text(platform.architecture), text(platform.variant)].filter(Boolean) : [];
      return { digest: text(child['digest']), size: number(child['size']), platform: parts.length > 0 ? parts.join('/') : undefined };
    }),
    annotations:
      typeof body.annotations === 'object' && body.annotations !== null
        ? Object.fromEntries(Object.entries(body.annotations as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
        : {},
  };
}
