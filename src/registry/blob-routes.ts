import { parseRangeHeader } from '../http/range.js';
import { replyWithBody } from '../http/reply-with-body.js';
import { parseDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { RegistryHandler } from './route-context.js';

/**
 * `GET` and `HEAD /v2/<name>/blobs/<digest>`, with single byte ranges (206, 416). A GET of a blob
 * whose store can hand it out itself is a 307 to the store's URL, which the spec lets clients follow.
 */
export const getBlob: RegistryHandler = async ({ services }, request, reply, { name, reference }) => {
  const digest = parseDigest(reference);
  const blob = await services.blobs.find(name, digest);
  const size = blob.size;
  // The store's URL may expire: the redirect is not cached, and the range goes with the client.
  const location = request.method === 'GET' ? await blob.redirectUrl() : undefined;
  if (location) return reply.code(307).headers({ 'Docker-Content-Digest': digest, Location: location, 'Cache-Control': 'no-store', 'Content-Length': 0 }).send();
  reply.headers({
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Accept-Ranges': 'bytes',
    'Content-Type': 'application/octet-stream',
    'Cache-Control': 'max-age=31536000',
  });
  const range = parseRangeHeader(request.headers.range, size);
  if (range === 'unsatisfiable') {
    throw new RegistryError('UNSUPPORTED', `range not satisfiable for a blob of ${size} bytes`, {
      condition: 'range-not-satisfiable',
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }
  if (range) {
    reply.code(206).header('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    reply.header('Content-Length', range.end - range.start + 1);
  } else {
    reply.code(200).header('Content-Length', size);
  }
  if (request.method === 'HEAD') return reply.send();
  const sender = await blob.open(range);
  return replyWithBody(reply, (response) => sender.sendTo(response));
};

/** `DELETE /v2/<name>/blobs/<digest>`: the blob leaves the repository (202). */
export const deleteBlob: RegistryHandler = async ({ services }, _request, reply, { name, reference }) => {
  await services.blobs.delete(name, parseDigest(reference));
  return reply.code(202).header('Content-Length', 0).send();
};
