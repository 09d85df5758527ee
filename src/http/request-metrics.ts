import type { Metric, Registry } from 'prom-client';

/** Upper bounds of the latency histogram's buckets, in seconds. */
const latencyBounds = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The requests of one route and method: counts by status, and their latency. */
interface RouteSeries {
  route: string;
  method: string;
  byStatus: Map<number, number>;
  /** Requests per latency bucket, not cumulative; the last counts those above every bound. */
  buckets: number[];
  seconds: number;
}

/** What a metric gives prom-client's registry when scraped (the shape of its own metrics' `get()`). */
interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * The series of `/metrics` that every request adds to: requests by route, method and status, their
 * latency, and body bytes by route. Each request adds to plain records; they become Prometheus
 * samples only when scraped.
 *
 * prom-client's own counters and histograms hash and check their label object on every call, a
 * large share of a manifest GET's own work. Here a request costs two map lookups by names that are
 * the same strings every time, and a few additions.
 */
export class RequestMetrics {
  private readonly routes = new Map<string, Map<string, RouteSeries>>();
  private readonly bytesIn = new Map<string, number>();
  private readonly bytesOut = new Map<string, number>();

  constructor(registry: Registry) {
    const metrics = [
      metric('berth_http_requests_total', 'HTTP requests by route, method and status', 'counter', () => this.requestSamples()),
      metric('berth_http_request_duration_seconds', 'HTTP request latency by route and method', 'histogram', () => this.latencySamples()),
      metric('berth_http_request_bytes_total', 'Request body bytes received, by route', 'counter', () => byRoute(this.bytesIn)),
      metric('berth_http_response_bytes_total', 'Response body bytes sent, by route', 'counter', () => byRoute(this.bytesOut)),
    ];
    // The registry takes any object with a name and a `get()` giving its samples; its types name
    // only prom-client's own classes.
    for (const each of metrics) registry.registerMetric(each as unknown as Metric);
  }

  /** Adds one answered request: its latency in seconds, and its body bytes each way. */
  record(route: string, method: string, status: number, seconds: number, received: number, sent: number): void {
    const series = this.series(route, method);
    series.byStatus.set(status, (series.byStatus.get(status) ?? 0) + 1);
    let bucket = 0;
    while (bucket < latencyBounds.length && seconds > (latencyBounds[bucket] as number)) bucket++;
    series.buckets[bucket] = (series.buckets[bucket] as number) + 1;
    series.seconds += seconds;
    if (received > 0) this.bytesIn.set(route, (this.bytesIn.get(route) ?? 0) + received);
    if (sent > 0) this.bytesOut.set(route, (this.bytesOut.get(route) ?? 0) + sent);
  }

  private series(route: string, method: string): RouteSeries {
    let methods = this.routes.get(route);
    if (!methods) {
      methods = new Map();
      this.routes.set(route, methods);
    }
    let series = methods.get(method);
    if (!series) {
      series = { route, method, byStatus: new Map(), buckets: new Array<number>(latencyBounds.length + 1).fill(0), seconds: 0 };
      methods.set(method, series);
    }
    return series;
  }

  private *allSeries(): Iterable<RouteSeries> {
    for (const methods of this.routes.values()) yield* methods.values();
  }

  private requestSamples(): Sample[] {
    const samples: Sample[] = [];
    for (const { route, method, byStatus } of this.allSeries()) {
      for (const [status, count] of byStatus) samples.push({ labels: { route, method, status: String(status) }, value: count });
    }
    return samples;
  }

  private latencySamples(): Sample[] {
    const name = 'berth_http_request_duration_seconds';
    const samples: Sample[] = [];
    for (const { route, method, buckets, seconds } of this.allSeries()) {
      let cumulative = 0;
      latencyBounds.forEach((bound, index) => {
        cumulative += buckets[index] as number;
        samples.push({ metricName: `${name}_bucket`, labels: { route, method, le: bound }, value: cumulative });
      });
      const count = cumulative + (buckets[latencyBounds.length] as number);
      samples.push(
        { metricName: `${name}_bucket`, labels: { route, method, le: '+Inf' }, value: count },
        { metricName: `${name}_sum`, labels: { route, method }, value: seconds },
        { metricName: `${name}_count`, labels: { route, method }, value: count },
      );
    }
    return samples;
  }
}

function metric(name: string, help: string, type: 'counter' | 'histogram', samples: () => Sample[]) {
  const described = { name, help, type, aggregator: 'sum' };
  return { ...described, get: () => ({ ...described, values: samples() }) };
}

function byRoute(bytes: Map<string, number>): Sample[] {
  return [...bytes].map(([route, value]) => ({ labels: { route }, value }));
}
