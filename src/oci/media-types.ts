/** Media types of the OCI Image Spec and the Docker Image Manifest V2 formats. */
export const mediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** Layers whose bytes live elsewhere (`urls`) and need not be pushed to the registry. */
const nonDistributableLayers = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

export function isNonDistributableLayer(mediaType: string): boolean {
  return nonDistributableLayers.has(mediaType);
}

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === mediaTypes.ociIndex || mediaType === mediaTypes.dockerManifestList;
}

export function isImageManifestMediaType(mediaType: string): boolean {
  return mediaType === mediaTypes.ociManifest || mediaType === mediaTypes.dockerManifest;
}

export function isSchema1MediaType(mediaType: string): boolean {
  return mediaType === mediaTypes.dockerSchema1 || mediaType === mediaTypes.dockerSchema1Signed;
}

/** RFC 6838 `type/subtype` with optional parameters, as the image spec requires of `mediaType`. */
const mediaTypeGrammar = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isMediaType(value: string): boolean {
  return mediaTypeGrammar.test(value);
}

/** `type/subtype`, each an RFC 9110 token, then any parameters (RFC 9110 8.3.1). */
const mediaTypeSyntax = /^\s*[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+\s*(?:;.*)?$/s;

/** Whether a Content-Type header is a media type at all (its parameters are not checked). */
export function isMediaTypeSyntax(contentType: string): boolean {
  return mediaTypeSyntax.test(contentType);
}

/** The media type part of a Content-Type header, without parameters, lowercased. */
export function bareMediaType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const bare = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return bare ? bare : undefined;
}
