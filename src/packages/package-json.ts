import type { PackageOwner, PackageRecord, VersionRecord } from './package-service.js';
import type { RoleGrant } from './role-holders.js';

/** The package page's path, GitHub's, which the web pages serve. */
export function packagePagePath(pkg: Pick<PackageRecord, 'owner' | 'name'>): string {
  return `${ownerPackagesPath(pkg)}/container/package/${encodeURIComponent(pkg.name)}`;
}

/** Where a package's other pages hang: `…/container/{name}` (`/versions`, `/{id}`, `/settings`). */
export function packagePathPrefix(pkg: Pick<PackageRecord, 'owner' | 'name'>): string {
  return `${ownerPackagesPath(pkg)}/container/${encodeURIComponent(pkg.name)}`;
}

function ownerPackagesPath(pkg: Pick<PackageRecord, 'owner'>): string {
  return `/${pkg.owner.kind === 'org' ? 'orgs' : 'users'}/${pkg.owner.login}/packages`;
}

/**
 * GitHub's JSON shapes for container packages and versions (REST API "Packages"), field by field,
 * with Berth's extras (download counts, image metadata, sizes, platforms) in added fields that
 * GitHub clients ignore.
 */
export class PackageJson {
  constructor(private readonly publicUrl: string) {}

  ownerJson(owner: PackageOwner) {
    return {
      login: owner.login,
      id: owner.id,
      type: owner.kind === 'org' ? 'Organization' : 'User',
      url: `${this.publicUrl}/api/${owner.kind === 'org' ? 'orgs' : 'users'}/${owner.login}`,
    };
  }

  packageUrl(pkg: PackageRecord): string {
    return `${this.publicUrl}/api/${pkg.owner.kind === 'org' ? 'orgs' : 'users'}/${pkg.owner.login}/packages/container/${encodeURIComponent(pkg.name)}`;
  }

  packageHtmlUrl(pkg: PackageRecord): string {
    return `${this.publicUrl}${packagePagePath(pkg)}`;
  }

  package(pkg: PackageRecord) {
    return {
      id: pkg.id,
      name: pkg.name,
      package_type: 'container',
      owner: this.ownerJson(pkg.owner),
      version_count: pkg.versionCount,
      visibility: pkg.visibility,
      url: this.packageUrl(pkg),
      html_url: this.packageHtmlUrl(pkg),
      created_at: pkg.createdAt,
      updated_at: pkg.updatedAt,
      ...(pkg.source
        ? {
            repository: {
              id: pkg.source.id,
              name: pkg.source.name,
              full_name: `${pkg.source.owner.login}/${pkg.source.name}`,
              owner: this.ownerJson(pkg.source.owner),
              private: true,
            },
          }
        : {}),
      // Berth's extras.
      download_count: pkg.downloadCount,
      inherit_access: pkg.inheritAccess,
      image_metadata: pkg.metadata,
      ...(pkg.deletedAt ? { deleted_at: pkg.deletedAt } : {}),
    };
  }

  version(pkg: PackageRecord, version: VersionRecord) {
    return {
      id: version.id,
      name: version.digest,
      url: `${this.packageUrl(pkg)}/versions/${version.id}`,
      package_html_url: this.packageHtmlUrl(pkg),
      html_url: `${this.publicUrl}${packagePathPrefix(pkg)}/${version.id}`,
      created_at: version.createdAt,
      updated_at: version.updatedAt,
      ...(version.deletedAt ? { deleted_at: version.deletedAt, deleted_by_policy: version.deletedByPolicy } : {}),
      metadata: { package_type: 'container', container: { tags: version.tags } },
      // Berth's extras.
      media_type: version.mediaType,
      artifact_type: version.artifactType,
      subject: version.subject,
      size: version.size,
      platforms: version.platforms,
      parents: version.parents,
      download_count: version.downloadCount,
    };
  }

  role(grant: RoleGrant) {
    return { type: grant.kind === 'team' ? 'Team' : 'User', id: grant.id, name: grant.name, role: grant.role };
  }
}
