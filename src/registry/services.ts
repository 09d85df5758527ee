import type { Database } from '../db/schema.js';
import type { BlobStore } from '../storage/blob-store.js';
import { BlobService } from './blob-service.js';
import type { ManifestEvents } from './manifest-events.js';
import { ManifestService } from './manifest-service.js';
import { RegistryMetadata } from './metadata.js';
import { type UploadLimits, UploadService } from './upload-service.js';

/** The registry's services, wired over one blob store and one metadata database. */
export interface RegistryServices {
  metadata: RegistryMetadata;
  blobs: BlobService;
  uploads: UploadService;
  manifests: ManifestService;
}

/** `events` is built over the metadata and blobs, for listeners (packages) that read them too. */
export function createRegistryServices(
  db: Database,
  store: BlobStore,
  limits: UploadLimits,
  events?: (services: Pick<RegistryServices, 'metadata' | 'blobs'>) => ManifestEvents,
): RegistryServices {
  const metadata = new RegistryMetadata(db);
  const blobs = new BlobService(store, metadata);
  return {
    metadata,
    blobs,
    uploads: new UploadService(store, metadata, limits),
    manifests: new ManifestService(metadata, events?.({ metadata, blobs })),
  };
}
