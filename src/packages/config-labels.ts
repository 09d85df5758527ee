import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest-shape.js';
import type { BlobService } from '../registry/blob-service.js';
import { configLabels, imageMetadata, metadataAnnotations } from './image-metadata.js';

/** Image configurations larger than this are not read for labels (they are a few KiB in practice). */
const maxConfigBytes = 1024 * 1024;
const configMediaTypes = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

/**
 * The package-page labels of image configurations (`org.opencontainers.image.*`), as a source for
 * `imageMetadata`. A digest names fixed content, so what was read from a configuration never goes
 * stale; the most recently used are remembered, since pushes of several tags, of the platforms of
 * one release, or of retried builds share configurations and would otherwise read the same blob
 * at every manifest PUT. Only the cut values are kept, so an entry is small whatever the labels.
 */
export class ConfigLabels {
  private readonly remembered = new Map<Digest, Record<string, string> | undefined>();

  constructor(
    private readonly blobs: Pick<BlobService, 'content'>,
    private readonly capacity = 1024,
  ) {}

  async of(config: Descriptor | undefined): Promise<Record<string, string> | undefined> {
    if (!config || !configMediaTypes.has(config.mediaType) || config.size > maxConfigBytes) return undefined;
    if (this.remembered.has(config.digest)) {
      const labels = this.remembered.get(config.digest);
      // Map order is insertion order: re-inserting makes this the most recently used.
      this.remembered.delete(config.digest);
      this.remembered.set(config.digest, labels);
      return labels;
    }
    // Larger than it said it was, or not JSON: no labels. Not stored yet: not remembered either,
    // since it may be pushed later.
    const content = await this.blobs.content(config.digest, maxConfigBytes);
    if (content === undefined) return undefined;
    const labels = metadataAnnotations(imageMetadata([configLabels(safeJson(content))]));
    const kept = Object.keys(labels).length > 0 ? labels : undefined;
    this.remembered.set(config.digest, kept);
    if (this.remembered.size > this.capacity) this.remembered.delete(this.remembered.keys().next().value as Digest);
    return kept;
  }
}

function safeJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
