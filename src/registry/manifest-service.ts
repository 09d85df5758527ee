import type { AuditContext } from '../audit/audit-context.js';
import type { Actor } from '../auth/access.js';
import { type Digest, digestAlgorithm, digestOf } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { type ParsedManifest, parseManifest } from '../oci/manifest.js';
import { mediaTypes } from '../oci/media-types.js';
import type { RepositoryName } from '../oci/names.js';
import { type ManifestEvents, ManifestListeners } from './manifest-events.js';
import { type RegistryMetadata, type StoredManifest, newManifest } from './metadata.js';
import { type Reference, parseReference } from './reference.js';
import { type StorageGuard, admit, unlimitedStorage } from './storage-guard.js';

export interface PushedManifest {
  digest: Digest;
  subject: Digest | undefined;
}

/** Pushing, pulling and deleting manifests, and the referrers of a subject. */
export class ManifestService {
  constructor(
    private readonly metadata: RegistryMetadata,
    private readonly events: ManifestEvents = new ManifestListeners(),
    private readonly guard: StorageGuard = unlimitedStorage,
  ) {}

  async push(name: RepositoryName, referenceText: string, content: Buffer, contentType: string | undefined, actor: Actor = {}): Promise<PushedManifest> {
    const reference = parseReference(referenceText);
    if (!reference) throw new RegistryError('MANIFEST_INVALID', `invalid tag "${referenceText.slice(0, 200)}"`);
    const manifest = parseManifest(content, contentType);
    const digest = this.digestFor(reference, content);
    await this.checkChildren(name, manifest);
    // Its blobs were uploaded (and counted) before, unless they were uploaded long ago and
    // referenced by nothing since; children of an index are manifests the namespace holds already.
    // A blob not linked in the repository adds nothing here: storing the manifest refuses it.
    await admit(this.guard, name, [{ digest, size: content.length }, ...manifest.blobs.map((blob) => ({ digest: blob.digest }))]);
    const tag = reference.kind === 'tag' ? reference.tag : undefined;
    const record = await this.events.pushing({ name, digest, tag, content, manifest, actor });
    await this.metadata.putManifest(name, newManifest(digest, content, manifest), tag, record?.write, record?.before);
    await record?.after();
    return { digest, subject: manifest.subject?.digest };
  }

  async get(name: RepositoryName, referenceText: string): Promise<StoredManifest> {
    const reference = parseReference(referenceText);
    const manifest =
      reference === undefined
        ? undefined
        : reference.kind === 'tag'
          ? await this.metadata.manifestByTag(name, reference.tag)
          : await this.metadata.manifestByDigest(name, reference.digest);
    if (!manifest) throw await this.unknown(name, referenceText);
    return manifest;
  }

  /** Counts a download of a manifest whose bytes were served (GET, not HEAD). */
  downloaded(name: RepositoryName, digest: Digest): void {
    this.events.downloaded(name, digest);
  }

  /** By digest: the manifest and every tag on it. By tag: only the tag. */
  async delete(name: RepositoryName, referenceText: string, actor: Actor = {}): Promise<void> {
    const reference = parseReference(referenceText);
    const deleted =
      reference === undefined
        ? false
        : reference.kind === 'tag'
          ? await this.deleteTag(name, reference.tag)
          : await this.deleteByDigest(name, reference.digest, actor.audit);
    if (!deleted) throw await this.unknown(name, referenceText);
  }

  private async deleteTag(name: RepositoryName, tag: string): Promise<boolean> {
    if (!(await this.metadata.manifestByTag(name, tag))) return false;
    await this.events.tagDeleting(name, tag);
    return this.metadata.deleteTag(name, tag);
  }

  private async deleteByDigest(name: RepositoryName, digest: Digest, audit: AuditContext | undefined): Promise<boolean> {
    if (!(await this.metadata.manifestByDigest(name, digest))) return false;
    const record = await this.events.deleting(name, digest, audit);
    const deleted = await this.metadata.deleteManifest(name, digest, record?.write);
    await record?.after();
    return deleted;
  }

  /** The referrers API answer: an OCI index of the manifests whose `subject` is `digest`. */
  async referrers(name: RepositoryName, digest: Digest, artifactType: string | undefined): Promise<object> {
    const referrers = await this.metadata.referrers(name, digest, artifactType);
    return {
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: referrers.map((referrer) => ({
        mediaType: referrer.mediaType,
        digest: referrer.digest,
        size: referrer.size,
        ...(referrer.artifactType ? { artifactType: referrer.artifactType } : {}),
        ...(referrer.annotations ? { annotations: referrer.annotations } : {}),
      })),
    };
  }

  private digestFor(reference: Reference, content: Buffer): Digest {
    if (reference.kind === 'tag') return digestOf(content);
    const actual = digestOf(content, digestAlgorithm(reference.digest));
    if (actual !== reference.digest) {
      throw new RegistryError('DIGEST_INVALID', `manifest digest ${actual} does not match ${reference.digest}`);
    }
    return actual;
  }

  /**
   * Every child manifest of an index must be in the repository; `subject` need not exist (spec).
   * Blobs are checked as the manifest is stored, in its transaction (`RegistryMetadata`).
   */
  private async checkChildren(name: RepositoryName, manifest: ParsedManifest): Promise<void> {
    const missing = await this.metadata.missingManifests(
      name,
      manifest.manifests.map((child) => child.digest),
    );
    if (missing.length > 0) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references ${missing.length} unknown manifest(s)`, {
        detail: { digests: missing },
      });
    }
  }

  private async unknown(name: RepositoryName, reference: string): Promise<RegistryError> {
    if (!(await this.metadata.repositoryExists(name))) {
      return new RegistryError('NAME_UNKNOWN', undefined, { detail: { name } });
    }
    return new RegistryError('MANIFEST_UNKNOWN', undefined, { detail: { reference: reference.slice(0, 200) } });
  }
}
