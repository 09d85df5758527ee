import type { RepositoryName } from '../oci/names.js';
import { parseDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { sendJson } from '../http/send-json.js';
import { mediaTypes } from '../oci/media-types.js';
import { pageRequest, paginate } from './pagination.js';
import { type RegistryHandler, queryParam } from './route-context.js';

/** A tags page is returned whole up to this size, and never larger. */
const maxTagsPage = 10_000;
const defaultCatalogPage = 1_000;

/** `GET /v2/<name>/tags/list` with `n`, `last` and `Link`, in lexical order. */
export const listTags: RegistryHandler = async ({ services }, request, reply, { name }) => {
  const page = pageRequest(request, maxTagsPage, maxTagsPage);
  const result = await paginate(page, (limit, last) => services.metadata.listTags(name, limit, last), `/v2/${name}/tags/list`);
  if (!result) throw new RegistryError('NAME_UNKNOWN', undefined, { detail: { name } });
  if (result.link) reply.header('Link', result.link);
  return sendJson(reply, { name, tags: result.items });
};

/** `GET /v2/_catalog` with `n`, `last` and `Link`. */
export const listRepositories: RegistryHandler = async ({ services, authorizer }, request, reply) => {
  const page = pageRequest(request, defaultCatalogPage, maxTagsPage);
  // Only repositories the caller can pull are listed; pages are filled from further rows so that
  // `n` and `Link` keep their meaning.
  const fetch = async (limit: number, last: string | undefined) => {
    const names: RepositoryName[] = [];
    let cursor = last;
    while (names.length < limit) {
      const batch = await services.metadata.listRepositories(Math.max(limit, 100), cursor);
      const mayPull = await authorizer.pullable(request, batch);
      names.push(...batch.filter(mayPull).slice(0, limit - names.length));
      if (batch.length < Math.max(limit, 100)) break;
      cursor = batch[batch.length - 1];
    }
    return names;
  };
  const result = await paginate(page, fetch, '/v2/_catalog');
  if (result?.link) reply.header('Link', result.link);
  return sendJson(reply, { repositories: result?.items ?? [] });
};

/** `GET /v2/<name>/referrers/<digest>`: always 200 with an index, filtered by `artifactType`. */
export const listReferrers: RegistryHandler = async ({ services }, request, reply, { name, reference }) => {
  const digest = parseDigest(reference);
  const artifactType = queryParam(request, 'artifactType') || undefined;
  const index = await services.manifests.referrers(name, digest, artifactType);
  if (artifactType) reply.header('OCI-Filters-Applied', 'artifactType');
  return sendJson(reply, index, mediaTypes.ociIndex);
};

/** `GET /v2/`: the API is here (and, once signed in, usable). */
export const apiBase: RegistryHandler = async (_context, _request, reply) => {
  return sendJson(reply, {});
};
