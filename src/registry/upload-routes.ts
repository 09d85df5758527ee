import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessRequest } from '../auth/access.js';
import { parseContentRange } from '../http/range.js';
import { requestBody } from '../http/request-body.js';
import { type Digest, parseDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { type RepositoryName, parseRepositoryName } from '../oci/names.js';
import { type RegistryHandler, declaredLength, hasBody, queryParam } from './route-context.js';
import { type ChunkRange, type UploadStatus, rangeHeader } from './upload-service.js';

/**
 * `POST /v2/<name>/blobs/uploads/`: a cross-repository mount (`mount`, `from`), a monolithic push
 * (`digest` with the body), or a new upload session (202).
 */
export const startUpload: RegistryHandler = async ({ services, authorizer }, request, reply, { name }) => {
  const mount = queryParam(request, 'mount');
  const from = queryParam(request, 'from');
  if (mount !== undefined && from !== undefined) {
    const digest = parseDigest(mount);
    const source = parseRepositoryName(from);
    // Without pull on the source, the mount quietly becomes an upload: its blobs must not leak.
    const mayRead = await authorizer.allows(request, { type: 'repository', name: source, actions: ['pull'] });
    if (mayRead && (await services.blobs.mount(name, digest, source))) return blobCreated(reply, name, digest);
  }
  const digestParam = queryParam(request, 'digest');
  if (digestParam !== undefined && mount === undefined) {
    const digest = parseDigest(digestParam);
    await services.uploads.pushMonolithic(name, digest, requestBody(request), declaredLength(request));
    return blobCreated(reply, name, digest);
  }
  const upload = await services.uploads.start(name);
  return uploadAccepted(reply.code(202), name, upload);
};

/**
 * What a cross-repository mount would read: pull on its source. A token for the upload should
 * carry it, or the mount quietly becomes an upload. A `from` that is not a repository name is left
 * out (it is refused later) and never reaches a header.
 */
export function mountSourceAccess(request: FastifyRequest): AccessRequest[] {
  const from = queryParam(request, 'from');
  if (queryParam(request, 'mount') === undefined || from === undefined) return [];
  try {
    return [{ type: 'repository', name: parseRepositoryName(from), actions: ['pull'] }];
  } catch {
    return [];
  }
}

/** `GET /v2/<name>/blobs/uploads/<id>`: where the upload stands (204 with `Range`). */
export const uploadStatus: RegistryHandler = async ({ services }, _request, reply, { name, reference }) => {
  return uploadAccepted(reply.code(204), name, await services.uploads.status(name, reference));
};

/** `PATCH /v2/<name>/blobs/uploads/<id>`: a streamed body, or a chunk with `Content-Range`. */
export const appendUpload: RegistryHandler = async ({ services }, request, reply, { name, reference }) => {
  const range = chunkRange(request.headers['content-range']);
  const status = await services.uploads.append(name, reference, requestBody(request), range, declaredLength(request));
  return uploadAccepted(reply.code(202), name, status);
};

/** `PUT /v2/<name>/blobs/uploads/<id>?digest=`: the optional last chunk, then commit (201). */
export const completeUpload: RegistryHandler = async ({ services }, request, reply, { name, reference }) => {
  const digestParam = queryParam(request, 'digest');
  if (digestParam === undefined) throw new RegistryError('DIGEST_INVALID', 'the digest query parameter is required');
  const digest = parseDigest(digestParam);
  const range = chunkRange(request.headers['content-range']);
  const body = hasBody(request) ? requestBody(request) : undefined;
  await services.uploads.complete(name, reference, digest, body, range, declaredLength(request));
  return blobCreated(reply, name, digest);
};

/** `DELETE /v2/<name>/blobs/uploads/<id>`: abandon the upload and its bytes (204). */
export const cancelUpload: RegistryHandler = async ({ services }, _request, reply, { name, reference }) => {
  await services.uploads.cancel(name, reference);
  return reply.code(204).send();
};

function chunkRange(header: string | undefined): ChunkRange | undefined {
  const range = parseContentRange(header);
  if (range === 'invalid') throw new RegistryError('BLOB_UPLOAD_INVALID', `invalid Content-Range "${header?.slice(0, 100)}"`, { condition: 'range-not-satisfiable' });
  return range;
}

function uploadAccepted(reply: FastifyReply, name: RepositoryName, upload: UploadStatus): FastifyReply {
  return reply
    .headers({
      Location: `/v2/${name}/blobs/uploads/${upload.id}`,
      Range: rangeHeader(upload.size),
      'Docker-Upload-UUID': upload.id,
      'Content-Length': 0,
    })
    .send();
}

function blobCreated(reply: FastifyReply, name: RepositoryName, digest: Digest): FastifyReply {
  return reply
    .code(201)
    .headers({ Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': 0 })
    .send();
}
