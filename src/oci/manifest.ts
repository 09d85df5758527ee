import { RegistryError } from './errors.js';
import { type Descriptor, checkImageManifest, checkIndex } from './manifest-shape.js';
import {
  bareMediaType,
  isMediaTypeSyntax,
  isImageManifestMediaType,
  isIndexMediaType,
  isNonDistributableLayer,
  isSchema1MediaType,
  mediaTypes,
} from './media-types.js';

/** The largest manifest accepted, as Distribution and most registries do (OCI: "at least 4 MiB"). */
export const maxManifestBytes = 4 * 1024 * 1024;

export interface ParsedManifest {
  mediaType: string;
  kind: 'image' | 'index';
  /** Blobs that must exist in the repository (config and distributable layers). */
  blobs: Descriptor[];
  /** Child manifests of an index, which must exist in the repository. */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** `artifactType`, or for an image without one the config media type (spec "Listing Referrers"). */
  artifactType?: string;
  annotations: Record<string, string>;
  config?: Descriptor;
  /** Of an image: the size of its config and every layer, non-distributable ones too. */
  imageBytes?: number;
}

/**
 * Parses and checks a pushed manifest (OCI Image Spec manifest and index, Docker v2 schema 2 and
 * manifest list). The media type comes from the body's `mediaType` or, if absent, the request's
 * Content-Type; both must agree when both are present.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid('manifest is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('manifest must be a JSON object');
  const body = json as Record<string, unknown>;

  if (contentType && !isMediaTypeSyntax(contentType)) throw invalid(`Content-Type "${contentType.slice(0, 200)}" is not a media type`);
  const declared = typeof body.mediaType === 'string' ? body.mediaType : undefined;
  const header = bareMediaType(contentType);
  if (body.schemaVersion === 1 || (declared && isSchema1MediaType(declared)) || (header && isSchema1MediaType(header))) {
    throw invalid('Docker image manifest schema 1 is not supported: push schema 2 or OCI manifests');
  }
  if (body.mediaType !== undefined && typeof body.mediaType !== 'string') throw invalid('mediaType must be a string');
  if (declared && header && declared !== header && header !== 'application/json' && header !== 'application/octet-stream') {
    throw invalid(`Content-Type "${header}" does not match the manifest's mediaType "${declared}"`);
  }
  const mediaType = declared ?? guessMediaType(body, header);

  if (isIndexMediaType(mediaType)) {
    const index = checkIndex(body);
    return {
      mediaType,
      kind: 'index',
      blobs: [],
      manifests: index.manifests,
      ...(index.subject ? { subject: index.subject } : {}),
      ...(index.artifactType ? { artifactType: index.artifactType } : {}),
      annotations: index.annotations ?? {},
    };
  }
  if (isImageManifestMediaType(mediaType)) {
    const image = checkImageManifest(body);
    const config = image.config;
    const layers = image.layers.filter((layer) => !isNonDistributableLayer(layer.mediaType));
    const artifactType = image.artifactType ?? config.mediaType;
    return {
      mediaType,
      kind: 'image',
      blobs: [config, ...layers],
      manifests: [],
      config,
      ...(image.subject ? { subject: image.subject } : {}),
      artifactType,
      imageBytes: image.layers.reduce((total, layer) => total + layer.size, config.size),
      annotations: image.annotations ?? {},
    };
  }
  throw invalid(`unsupported manifest media type "${mediaType.slice(0, 200)}"`);
}

/** OCI manifests may omit `mediaType`; then the Content-Type, or the shape, tells. */
function guessMediaType(body: Record<string, unknown>, header: string | undefined): string {
  if (header && (isIndexMediaType(header) || isImageManifestMediaType(header))) return header;
  if (Array.isArray(body.manifests)) return mediaTypes.ociIndex;
  if (body.config !== undefined) return mediaTypes.ociManifest;
  throw invalid('cannot tell the manifest media type: set mediaType or Content-Type');
}

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message);
}
