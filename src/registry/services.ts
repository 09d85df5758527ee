import type { DatabaseEngine } from '../db/engine.js';
import type { BlobStore } from '../storage/blob-store.js';
import { BlobService } from './blob-service.js';
import { ManifestListeners } from './manifest-events.js';
import { ManifestService } from './manifest-service.js';
import { RegistryMetadata } from './metadata.js';
import { type StorageGuard, unlimitedStorage } from './storage-guard.js';
import { type UploadLimits, UploadService } from './upload-service.js';

/** The registry's services, wired over one blob store and one metadata database. */
export interface RegistryServices {
  metadata: RegistryMetadata;
  blobs: BlobService;
  uploads: UploadService;
  manifests: ManifestService;
  /** Where layers above the registry (packages) subscribe to manifest pushes, deletions and pulls. */
  events: ManifestListeners;
}

/** `guard` is asked before a push stores anything (storage quotas); by default nothing is refused. */
export function createRegistryServices(engine: DatabaseEngine, store: BlobStore, limits: UploadLimits, guard: StorageGuard = unlimitedStorage): RegistryServices {
  const metadata = new RegistryMetadata(engine);
  const blobs = new BlobService(store, metadata, guard);
  const events = new ManifestListeners();
  return {
    metadata,
    blobs,
    uploads: new UploadService(store, metadata, limits, (name, run) => engine.exclusively(name, run), guard),
    manifests: new ManifestService(metadata, events, guard),
    events,
  };
}
