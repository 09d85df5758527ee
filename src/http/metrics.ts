import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The Prometheus metrics Berth exports at `GET /metrics`. */
export interface HttpMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  duration: Histogram<'route' | 'method'>;
  bytesIn: Counter<'route'>;
  bytesOut: Counter<'route'>;
}

export function createMetrics(uploadsInProgress: () => number): HttpMetrics {
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
