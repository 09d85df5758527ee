import type { Actor } from '../auth/access.js';
import type { Digest } from '../oci/digest.js';
import type { ParsedManifest } from '../oci/manifest.js';
import type { RepositoryName } from '../oci/names.js';

/** A manifest stored by a push, with who pushed it. */
export interface PushedManifestEvent {
  name: RepositoryName;
  digest: Digest;
  tag: string | undefined;
  content: Buffer;
  manifest: ParsedManifest;
  actor: Actor;
}

/**
 * What the registry tells the layers above it (packages) about manifests. The registry does not
 * know packages; it only reports. `downloaded` runs on the pull path and must not wait on I/O.
 */
export interface ManifestEvents {
  pushed(event: PushedManifestEvent): Promise<void>;
  /** Before a manifest is deleted by digest, while it can still be read. */
  deleting(name: RepositoryName, digest: Digest): Promise<void>;
  downloaded(name: RepositoryName, digest: Digest): void;
}

export const noManifestEvents: ManifestEvents = {
  async pushed() {},
  async deleting() {},
  downloaded() {},
};
