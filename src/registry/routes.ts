import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessRequest, RepositoryAction } from '../auth/access.js';
import { setAsideMalformedContentType } from '../http/content-type.js';
import { RegistryError } from '../oci/errors.js';
import { type RepositoryName, parseRepositoryName } from '../oci/names.js';
import { deleteBlob, getBlob } from './blob-routes.js';
import { apiBase, listReferrers, listRepositories, listTags } from './listing-routes.js';
import { deleteManifest, getManifest, putManifest } from './manifest-routes.js';
import type { RegistryHandler, RegistryRouteOptions } from './route-context.js';
import { appendUpload, cancelUpload, completeUpload, mountSourceAccess, startUpload, uploadStatus } from './upload-routes.js';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Endpoint {
  /** Stable route name for metrics and logs. */
  name: string;
  handler: RegistryHandler;
  /** What the caller must be allowed, checked before the handler runs. */
  access: RepositoryAction | 'catalog' | 'base';
  /** Access the request can use but does not need, named in a challenge too (see Authorizer). */
  wanted?: (request: FastifyRequest) => AccessRequest[];
}

interface PathPattern {
  /** Matches the path; group 1 is the repository name, group 2 the reference, if any. */
  pattern: RegExp;
  methods: Partial<Record<Method, Endpoint>>;
}

/**
 * The /v2 API. Repository names contain slashes, so paths are matched here by patterns anchored
 * at the end (as Distribution does) rather than by the framework's router; the first pattern that
 * matches the path decides, and a method it lacks is 405. A path ending in `/manifests/<ref>`
 * matches no other pattern, so manifests, the most requested, are tried first; an upload start
 * (`/blobs/uploads`) must come before blobs, whose pattern would take `uploads` for a digest.
 */
const paths: PathPattern[] = [
  {
    pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    methods: {
      GET: { name: 'manifest_get', handler: getManifest, access: 'pull' },
      HEAD: { name: 'manifest_head', handler: getManifest, access: 'pull' },
      PUT: { name: 'manifest_put', handler: putManifest, access: 'push' },
      DELETE: { name: 'manifest_delete', handler: deleteManifest, access: 'delete' },
    },
  },
  { pattern: /^\/v2\/?$/, methods: { GET: { name: 'base', handler: apiBase, access: 'base' } } },
  { pattern: /^\/v2\/_catalog$/, methods: { GET: { name: 'catalog', handler: listRepositories, access: 'catalog' } } },
  {
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/,
    methods: { POST: { name: 'upload_start', handler: startUpload, access: 'push', wanted: mountSourceAccess } },
  },
  {
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
    methods: {
      GET: { name: 'upload_status', handler: uploadStatus, access: 'push' },
      PATCH: { name: 'upload_append', handler: appendUpload, access: 'push' },
      PUT: { name: 'upload_complete', handler: completeUpload, access: 'push' },
      DELETE: { name: 'upload_cancel', handler: cancelUpload, access: 'push' },
    },
  },
  {
    pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
    methods: {
      GET: { name: 'blob_get', handler: getBlob, access: 'pull' },
      HEAD: { name: 'blob_head', handler: getBlob, access: 'pull' },
      DELETE: { name: 'blob_delete', handler: deleteBlob, access: 'delete' },
    },
  },
  { pattern: /^\/v2\/(.+)\/tags\/list$/, methods: { GET: { name: 'tags_list', handler: listTags, access: 'pull' } } },
  {
    pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/,
    methods: { GET: { name: 'referrers', handler: listReferrers, access: 'pull' } },
  },
];

export const registryRoutes: FastifyPluginAsync<RegistryRouteOptions> = async (app, options) => {
  const dispatch = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('Docker-Distribution-API-Version', 'registry/2.0');
    const path = request.url.split('?', 1)[0] ?? '';
    const { pattern, match } = matchPath(path);
    const endpoint = pattern.methods[request.method as Method];
    if (!endpoint) {
      reply.header('Allow', Object.keys(pattern.methods).join(', '));
      throw new RegistryError('UNSUPPORTED', `${request.method} is not supported on ${path}`, { condition: 'method-not-allowed' });
    }
    request.routeName = endpoint.name;
    const name = match[1] === undefined ? undefined : parseRepositoryName(decode(match[1]));
    await options.authorizer.authorize(request, accessFor(endpoint, name), endpoint.wanted?.(request));
    const reference = match[2] === undefined ? '' : decode(match[2]);
    return endpoint.handler(options, request, reply, { name: name ?? ('' as RepositoryName), reference });
  };
  app.addHook('onRequest', setAsideMalformedContentType);
  app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/v2', handler: dispatch });
  app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/v2/*', handler: dispatch });
};

function matchPath(path: string): { pattern: PathPattern; match: RegExpExecArray } {
  for (const pattern of paths) {
    const match = pattern.pattern.exec(path);
    if (match) return { pattern, match };
  }
  throw new RegistryError('UNSUPPORTED', `no endpoint ${path.slice(0, 200)}`, { condition: 'no-endpoint' });
}

function accessFor(endpoint: Endpoint, name: RepositoryName | undefined): AccessRequest {
  if (endpoint.access === 'base' || endpoint.access === 'catalog') return { type: 'registry', name: endpoint.access };
  if (!name) throw new Error(`route ${endpoint.name} has no repository name`);
  return { type: 'repository', name, actions: [endpoint.access] };
}

function decode(segment: string): string {
  // Most paths carry no escapes, and decoding is a measurable part of a manifest GET.
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RegistryError('NAME_INVALID', 'malformed percent-encoding in the path');
  }
}
