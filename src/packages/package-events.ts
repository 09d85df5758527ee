import type { Transaction } from 'kysely';
import type { AuditContext } from '../audit/audit-context.js';
import { recordAudit } from '../audit/audit-log.js';
import type { Schema } from '../db/schema.js';
import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { ParsedManifest } from '../oci/manifest.js';
import type { Descriptor } from '../oci/manifest-shape.js';
import { isImageManifestMediaType } from '../oci/media-types.js';
import type { RepositoryName } from '../oci/names.js';
import type { ManifestEvents, ChangeRecord, PushedManifestEvent } from '../registry/manifest-events.js';
import type { RegistryMetadata } from '../registry/metadata.js';
import type { BlobService } from '../registry/blob-service.js';
import type { DownloadCounter } from './download-counter.js';
import { ConfigLabels } from './config-labels.js';
import { ImmutableTagError, ListedByTaggedIndexError } from './errors.js';
import { type ImageMetadata, imageMetadata } from './image-metadata.js';
import type { PackageService } from './package-service.js';

/** Links packages to source repositories (see source-repositories.ts). */
export interface SourceLinker {
  /** The repository the image names in `org.opencontainers.image.source`, if known. */
  linkFromSource(packageId: number, repository: RepositoryName, source: string, created: boolean, audit?: AuditContext): Promise<void>;
  /** A package created by a repository token is linked to that repository. */
  linkCreatedBy(packageId: number, repositoryId: number, audit?: AuditContext): Promise<void>;
}

/**
 * Turns registry pushes into packages and versions: the first push creates the package, every
 * manifest becomes a version, and the newest image's annotations and labels become the package's
 * metadata. Downloads are counted in memory (see DownloadCounter).
 */
export class PackageEvents implements ManifestEvents {
  private readonly configLabels: ConfigLabels;

  constructor(
    private readonly packages: PackageService,
    private readonly metadata: RegistryMetadata,
    blobs: BlobService,
    private readonly downloads: DownloadCounter,
    private readonly links?: SourceLinker,
  ) {
    this.configLabels = new ConfigLabels(blobs);
  }

  async pushing(event: PushedManifestEvent): Promise<ChangeRecord> {
    const { manifest } = event;
    // Signatures, SBOMs and other referrers describe an image; they do not make a newest version.
    // Read now, before the transaction: blob reads must not hold up the group commit.
    const metadata = manifest.subject ? undefined : await this.readMetadata(event.name, manifest);
    // Only a push to an immutable tag checks anything in the transaction.
    const { tag } = event;
    const rule = tag === undefined ? undefined : await this.packages.immutableTags.ruleFor(event.name, tag);
    let recorded: { pkg: { id: number; created: boolean }; firstPublish: boolean; reported: boolean } | undefined;
    return {
      ...(rule &&
        tag !== undefined && {
          before: (trx) => refused(this.packages.within(trx).immutableTags.refuseMoving(event.name, tag, event.digest, rule)),
        }),
      write: async (trx) => {
        recorded = await this.record(trx, event, metadata);
      },
      after: async () => {
        if (!recorded) return;
        // Only a push some listener recorded wakes it: a burst of pushes nobody listens to leaves
        // the webhooks' deliverer asleep, and its yielding to requests unspent.
        const { pkg, firstPublish, reported } = recorded;
        if (reported) this.packages.committed();
        if (pkg.created && event.actor.sourceRepositoryId !== undefined) await this.links?.linkCreatedBy(pkg.id, event.actor.sourceRepositoryId, event.actor.audit);
        if (metadata?.source && this.links) await this.links.linkFromSource(pkg.id, event.name, metadata.source, firstPublish, event.actor.audit);
      },
    };
  }

  /** The package (created at the first push) and its version for a pushed manifest. */
  private async record(trx: Transaction<Schema>, event: PushedManifestEvent, metadata: ImageMetadata | undefined) {
    const packages = this.packages.within(trx);
    const { manifest } = event;
    const pkg = await packages.ensure(event.name, event.actor.userId);
    if (!pkg) return undefined;
    let size = event.content.length;
    if (manifest.kind === 'image') {
      size += manifest.imageBytes ?? 0;
    } else {
      for (const child of manifest.manifests) size += (await packages.versionSize(pkg.id, child.digest)) ?? child.size;
    }
    const created = await packages.recordVersion(pkg.id, {
      digest: event.digest,
      mediaType: manifest.mediaType,
      artifactType: manifest.artifactType ?? null,
      subject: manifest.subject?.digest ?? null,
      size,
      platforms: platformsOf(manifest.manifests),
    });
    // A multi-arch push creates the package with its first (untagged) platform image and may name
    // the source only on the index: the first publish lasts until the first tag.
    const firstPublish = !pkg.published;
    await packages.pushed(pkg.id, { tagged: event.tag !== undefined, metadata });
    // A new version is published; a tag set on one the package had moved (or was set again).
    let reported = false;
    if (created || event.tag !== undefined) {
      reported = await packages.report(created ? 'published' : 'updated', { packageId: pkg.id, ownerId: pkg.ownerId, digest: event.digest, tag: event.tag, actorId: event.actor.userId });
    }
    // The first tag publishes the package; later pushes are the registry's request log's business.
    if (firstPublish && event.tag !== undefined) {
      const owner = await trx.selectFrom('packages').innerJoin('accounts', 'accounts.id', 'packages.owner_id').select(['accounts.id', 'accounts.name']).where('packages.id', '=', pkg.id).executeTakeFirstOrThrow();
      await recordAudit(trx, { action: 'package.publish', owner, target: event.name, details: { tag: event.tag, digest: event.digest, created: pkg.created }, context: event.actor.audit });
    }
    return { pkg, firstPublish, reported };
  }

  async deleting(name: RepositoryName, digest: Digest, audit?: AuditContext): Promise<ChangeRecord | undefined> {
    const write = await refused(this.packages.manifestDeleting(name, digest, audit));
    return write && { write, after: async () => this.packages.committed() };
  }

  async tagDeleting(name: RepositoryName, tag: string): Promise<void> {
    await refused(this.packages.tagDeleting(name, tag));
  }

  downloaded(name: RepositoryName, digest: Digest): void {
    this.downloads.count(name, digest);
  }

  /** For an index, its annotations, then each platform image's; for an image, annotations then labels. */
  private async readMetadata(name: RepositoryName, manifest: ParsedManifest): Promise<ImageMetadata> {
    const sources: Array<Record<string, unknown> | undefined> = [manifest.annotations];
    if (manifest.kind === 'image') {
      sources.push(await this.configLabels.of(manifest.config));
      return imageMetadata(sources);
    }
    for (const child of manifest.manifests) {
      if (!isImageManifestMediaType(child.mediaType) || isAttestation(child)) continue;
      const stored = await this.metadata.manifestByDigest(name, child.digest);
      if (!stored) continue;
      const parsed = safeJson(stored.content) as { annotations?: Record<string, unknown>; config?: Descriptor } | undefined;
      sources.push(parsed?.annotations, await this.configLabels.of(parsed?.config));
    }
    return imageMetadata(sources);
  }
}

/**
 * The package rules that refuse a change on `/v2`, answered as `403 DENIED` with the rule in the
 * message. The spec's error table has no code for "conflicts with the repository's state";
 * `DENIED` ("requested access to the resource is denied") is what the registry answers for any
 * change it will not make for this caller, and clients show its message. A 400 would say the
 * request was malformed, and would be retried by none and understood by none.
 */
async function refused<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof ImmutableTagError) throw new RegistryError('DENIED', error.message, { detail: { tag: error.tag, pattern: error.rule.pattern } });
    if (error instanceof ListedByTaggedIndexError) throw new RegistryError('DENIED', error.message, { detail: { indexes: error.parents.map((parent) => parent.digest) } });
    throw error;
  }
}

/** `os/architecture[/variant]` of an index's platform images (attestations left out). */
function platformsOf(children: Descriptor[]): string[] {
  const platforms: string[] = [];
  for (const child of children) {
    const platform = child.platform;
    if (!platform || isAttestation(child) || platform.os === 'unknown') continue;
    platforms.push([platform.os, platform.architecture, platform.variant].filter(Boolean).join('/'));
  }
  return platforms;
}

/** BuildKit's attestation manifests: `unknown/unknown` with `vnd.docker.reference.type`. */
function isAttestation(child: Descriptor): boolean {
  return child.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
}

function safeJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
