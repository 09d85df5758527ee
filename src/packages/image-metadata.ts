/**
 * The package page's metadata, read from the standard OCI annotation keys (OCI Image Spec,
 * "Pre-Defined Annotation Keys") as ghcr.io shows them.
 */
export interface ImageMetadata {
  description?: string;
  licenses?: string;
  source?: string;
  title?: string;
  version?: string;
  revision?: string;
  created?: string;
  url?: string;
  documentation?: string;
  vendor?: string;
}

const prefix = 'org.opencontainers.image.';

/** Longest value kept for each key, in characters; ghcr.io keeps 512 of a description, 256 of licenses. */
const maxLength: Record<keyof ImageMetadata, number> = {
  description: 512,
  licenses: 256,
  source: 2048,
  title: 256,
  version: 256,
  revision: 256,
  created: 64,
  url: 2048,
  documentation: 2048,
  vendor: 256,
};

/**
 * Picks each key from the first source that has it. Callers order the sources: for an index, its
 * own annotations and then its platform images'; for an image, its manifest annotations and then
 * its config labels. Over-long values are cut at a character boundary, never rejected.
 */
export function imageMetadata(sources: ReadonlyArray<Readonly<Record<string, unknown>> | undefined>): ImageMetadata {
  const metadata: ImageMetadata = {};
  for (const key of Object.keys(maxLength) as Array<keyof ImageMetadata>) {
    for (const source of sources) {
      const value = source?.[prefix + key];
      if (typeof value !== 'string') continue;
      const text = plainText(value).trim();
      if (text === '') continue;
      metadata[key] = truncateCharacters(text, maxLength[key]);
      break;
    }
  }
  return metadata;
}

/** The metadata as the annotations it was read from, so that it can be a source again. */
export function metadataAnnotations(metadata: ImageMetadata): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) if (value !== undefined) annotations[prefix + key] = value;
  return annotations;
}

/** Cuts to at most `max` characters (code points), never splitting a surrogate pair. */
export function truncateCharacters(text: string, max: number): string {
  const characters = Array.from(text);
  return characters.length <= max ? text : characters.slice(0, max).join('');
}

/** Descriptions are shown as text: control characters other than line breaks and tabs are dropped. */
function plainText(value: string): string {
  return value.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
}

/** The `config.Labels` of an image configuration (OCI Image Spec "config"), if any. */
export function configLabels(config: unknown): Record<string, unknown> | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  const inner = (config as { config?: unknown }).config;
  if (typeof inner !== 'object' || inner === null) return undefined;
  const labels = (inner as { Labels?: unknown }).Labels;
  return typeof labels === 'object' && labels !== null ? (labels as Record<string, unknown>) : undefined;
}
