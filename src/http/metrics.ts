import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { CollectionReport } from '../gc/garbage-collector.js';
import { RequestMetrics } from './request-metrics.js';

/** The Prometheus metrics Berth exports at `GET /metrics`. */
export interface HttpMetrics {
  registry: Registry;
  requests: RequestMetrics;
}

/** One account's storage as `/metrics` exports it. */
export interface AccountStorageSample {
  account: string;
  usedBytes: number;
  quotaBytes: number | null;
}

/** How long a storage reading serves scrapes: it sums every namespace's references. */
const storageReadingMs = 60_000;

export interface MetricSources {
  uploadsInProgress: () => number;
  /** The last garbage collection this node ran, if any. */
  lastCollection: () => CollectionReport | undefined;
  /** Storage per account (with accounts on). */
  storage?: () => Promise<AccountStorageSample[]>;
}

export function createMetrics({ uploadsInProgress, lastCollection, storage }: MetricSources): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'berth_' });
  if (storage) storageGauges(registry, storage);
  new Gauge({
    name: 'berth_uploads_in_progress',
    help: 'Blob upload requests currently streaming',
    registers: [registry],
    collect() {
      this.set(uploadsInProgress());
    },
  });
  // Gauges of the last collection rather than counters: with several nodes, each reports the runs
  // it made, and the last run anywhere is the one with the latest timestamp.
  const collectionGauge = (name: string, help: string, figure: (report: CollectionReport) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const report = lastCollection();
        if (report) this.set(figure(report));
      },
    });
  collectionGauge('berth_gc_last_run_timestamp_seconds', 'When the last garbage collection on this node started', (report) => Date.parse(report.startedAt) / 1000);
  collectionGauge('berth_gc_last_duration_seconds', 'How long the last garbage collection on this node took', (report) => report.durationMs / 1000);
  collectionGauge('berth_gc_last_blobs_reclaimed', 'Blobs (and orphaned stored blobs) the last garbage collection removed', (report) => report.blobsRemoved + report.orphansRemoved);
  collectionGauge('berth_gc_last_bytes_reclaimed', 'Bytes the last garbage collection removed', (report) => report.bytesReclaimed + report.orphanBytesReclaimed);
  collectionGauge('berth_blob_bytes_stored', 'Bytes of the blobs the registry keeps, as of the last garbage collection', (report) => report.bytesStored);
  return { registry, requests: new RequestMetrics(registry) };
}

/**
 * Storage per account: one series per account that holds anything or has a quota, so the label's
 * cardinality is the number of accounts (never packages or repositories). Read at most once a
 * minute, whatever the scrape interval; a failed reading keeps the last one.
 */
function storageGauges(registry: Registry, read: () => Promise<AccountStorageSample[]>): void {
  let reading: { at: number; samples: Promise<AccountStorageSample[]> } | undefined;
  const samples = (): Promise<AccountStorageSample[]> => {
    const now = Date.now();
    if (!reading || now - reading.at >= storageReadingMs) {
      const previous = reading;
      const next = read().catch(() => previous?.samples ?? []);
      reading = { at: now, samples: next };
    }
    return reading.samples;
  };
  new Gauge({
    name: 'berth_storage_used_bytes',
    help: "Bytes of distinct blobs and manifests referenced by an account's live images",
    labelNames: ['account'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const sample of await samples()) this.set({ account: sample.account }, sample.usedBytes);
    },
  });
  new Gauge({
    name: 'berth_storage_quota_bytes',
    help: "An account's storage quota, for accounts that have one",
    labelNames: ['account'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const sample of await samples()) if (sample.quotaBytes !== null) this.set({ account: sample.account }, sample.quotaBytes);
    },
  });
}
