import { requestContentType } from '../http/content-type.js';
import { readRequestAtMost } from '../http/request-body.js';
import { RegistryError } from '../oci/errors.js';
import { maxManifestBytes } from '../oci/manifest.js';
import { type RegistryHandler, declaredLength } from './route-context.js';

/** `GET` and `HEAD /v2/<name>/manifests/<reference>`: the exact bytes pushed, as their media type. */
export const getManifest: RegistryHandler = async ({ services }, request, reply, { name, reference }) => {
  const manifest = await services.manifests.get(name, reference);
  reply.code(200).headers({
    'Content-Type': manifest.mediaType,
    'Content-Length': manifest.size,
    'Docker-Content-Digest': manifest.digest,
    ETag: `"${manifest.digest}"`,
  });
  if (request.method === 'GET') services.manifests.downloaded(name, manifest.digest);
  return reply.send(request.method === 'HEAD' ? undefined : manifest.content);
};

/** `PUT /v2/<name>/manifests/<reference>` (201; `OCI-Subject` when the manifest has a subject). */
export const putManifest: RegistryHandler = async ({ services, authorizer }, request, reply, { name, reference }) => {
  const length = declaredLength(request);
  if (length !== undefined && length > maxManifestBytes) throw manifestTooLarge();
  const content = await readRequestAtMost(request, maxManifestBytes);
  if (!content) throw manifestTooLarge();
  const pushed = await services.manifests.push(name, reference, content, requestContentType(request), await authorizer.actor(request));
  reply.code(201).headers({
    Location: `/v2/${name}/manifests/${pushed.digest}`,
    'Docker-Content-Digest': pushed.digest,
    'Content-Length': 0,
  });
  if (pushed.subject) reply.header('OCI-Subject', pushed.subject);
  return reply.send();
};

/** `DELETE /v2/<name>/manifests/<reference>` (202): by digest the manifest and its tags, by tag the tag. */
export const deleteManifest: RegistryHandler = async ({ services, authorizer }, request, reply, { name, reference }) => {
  await services.manifests.delete(name, reference, await authorizer.actor(request));
  return reply.code(202).header('Content-Length', 0).send();
};

function manifestTooLarge(): RegistryError {
  // Closing the connection spares reading the rest of an oversized body.
  return new RegistryError('SIZE_INVALID', `manifest exceeds the limit of ${maxManifestBytes} bytes`, {
    condition: 'too-large',
    headers: { Connection: 'close' },
  });
}
