import type { DataVersion } from '../db/engine.js';
import type { StoredManifest } from './metadata.js';

export interface ManifestCacheLimits {
  /** Total manifest bytes kept. */
  maxBytes: number;
  /** Larger manifests are always read from the database. */
  maxManifestBytes: number;
}

const defaultLimits: ManifestCacheLimits = { maxBytes: 16 * 1024 * 1024, maxManifestBytes: 256 * 1024 };

/**
 * Manifests recently read, by repository and reference, kept while the database's data version
 * stays the same: any write, by this server or by another process, empties the cache. A manifest
 * GET is the registry's most frequent request, and its SQLite query was a quarter of its CPU time.
 * Oldest entries leave first once the byte limit is reached.
 */
export class ManifestCache {
  private readonly entries = new Map<string, StoredManifest>();
  private bytes = 0;
  private version: number | undefined;

  constructor(
    private readonly dataVersion: DataVersion,
    private readonly limits: ManifestCacheLimits = defaultLimits,
  ) {}

  async read(key: string, load: () => Promise<StoredManifest | undefined>): Promise<StoredManifest | undefined> {
    const version = this.dataVersion.current();
    if (version !== this.version) this.clear(version);
    const cached = this.entries.get(key);
    if (cached) return cached;
    const loaded = await load();
    // A write while the query ran may have made the result stale before it arrived.
    if (loaded && this.dataVersion.current() === version) this.keep(key, loaded);
    return loaded;
  }

  private keep(key: string, manifest: StoredManifest): void {
    if (manifest.size > this.limits.maxManifestBytes || this.entries.has(key)) return;
    for (const [oldestKey, oldest] of this.entries) {
      if (this.bytes + manifest.size <= this.limits.maxBytes) break;
      this.entries.delete(oldestKey);
      this.bytes -= oldest.size;
    }
    this.entries.set(key, manifest);
    this.bytes += manifest.size;
  }

  private clear(version: number): void {
    this.entries.clear();
    this.bytes = 0;
    this.version = version;
  }
}
