import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CollectionReport } from '../gc/garbage-collector.js';

/** The Prometheus metrics Berth exports at `GET /metrics`. */
export interface HttpMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  duration: Histogram<'route' | 'method'>;
  bytesIn: Counter<'route'>;
  bytesOut: Counter<'route'>;
}

export interface MetricSources {
  uploadsInProgress: () => number;
  /** The last garbage collection this node ran, if any. */
  lastCollection: () => CollectionReport | undefined;
}

export function createMetrics({ uploadsInProgress, lastCollection }: MetricSources): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'berth_' });
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
  return {
    registry,
    requests: new Counter({
      name: 'berth_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'berth_http_request_duration_seconds',
      help: 'HTTP request latency by route and method',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    bytesIn: new Counter({
      name: 'berth_http_request_bytes_total',
      help: 'Request body bytes received, by route',
      labelNames: ['route'],
      registers: [registry],
    }),
    bytesOut: new Counter({
      name: 'berth_http_response_bytes_total',
      help: 'Response body bytes sent, by route',
      labelNames: ['route'],
      registers: [registry],
    }),
  };
}
