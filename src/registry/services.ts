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

/** `events` is built over the metadata, for listeners (packages) that read it too. */
export function createRegistryServices(
  db: Database,
  store: BlobStore,
  limits: UploadLimits,
  events?: (metadata: RegistryMetadata) => ManifestEvents,
): RegistryServices {
  const metadata = new RegistryMetadata(db);
  return {
    metadata,
    blobs: new BlobService(store, metadata),
    uploads: new UploadService(store, metadata, limits),
    manifests: new ManifestService(metadata, events?.(metadata)),
  };
}
