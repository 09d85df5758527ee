import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { RequestMetrics } from './request-metrics.js';

interface Answered {
  route: string;
  method: string;
  status: number;
  seconds: number;
  received: number;
  sent: number;
}

const answered: Answered[] = [
  { route: 'manifest_get', method: 'GET', status: 200, seconds: 0.0004, received: 0, sent: 520 },
  { route: 'manifest_get', method: 'GET', status: 200, seconds: 0.001, received: 0, sent: 520 },
  { route: 'manifest_get', method: 'GET', status: 404, seconds: 0.003, received: 0, sent: 90 },
  { route: 'manifest_get', method: 'HEAD', status: 200, seconds: 0.02, received: 0, sent: 0 },
  { route: 'blob_upload_patch', method: 'PATCH', status: 202, seconds: 75, received: 5_000_000, sent: 0 },
  { route: 'blob_upload_patch', method: 'PATCH', status: 416, seconds: 0.06, received: 0, sent: 120 },
];

/** The same requests through prom-client's own counters and histogram, as Berth recorded them before. */
async function promClientText(): Promise<string> {
  const registry = new Registry();
  const requests = new Counter({ name: 'berth_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const duration = new Histogram({
    name: 'berth_http_request_duration_seconds',
    help: 'HTTP request latency by route and method',
    labelNames: ['route', 'method'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const bytesIn = new Counter({ name: 'berth_http_request_bytes_total', help: 'Request body bytes received, by route', labelNames: ['route'], registers: [registry] });
  const bytesOut = new Counter({ name: 'berth_http_response_bytes_total', help: 'Response body bytes sent, by route', labelNames: ['route'], registers: [registry] });
  for (const { route, method, status, seconds, received, sent } of answered) {
    requests.inc({ route, method, status: String(status) });
    duration.observe({ route, method }, seconds);
    if (received > 0) bytesIn.inc({ route }, received);
    if (sent > 0) bytesOut.inc({ route }, sent);
  }
  return registry.metrics();
}

/** Each line as a comparable sample: comments kept, labels sorted (their order carries no meaning). */
function samples(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const match = /^(\w+)\{(.*)\} (.+)$/.exec(line);
      if (!match) return line;
      const labels = (match[2] as string).split(/,(?=\w+=")/).sort().join(',');
      return `${match[1]}{${labels}} ${match[3]}`;
    })
    .sort();
}

describe('RequestMetrics', () => {
  it('exports the same samples as prom-client\'s counters and histogram fed the same requests', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry);
    for (const { route, method, status, seconds, received, sent } of answered) metrics.record(route, method, status, seconds, received, sent);
    const text = await registry.metrics();
    assert.deepEqual(samples(text), samples(await promClientText()));
    // A few lines spelled out, so that a change shared by both sides still shows.
    assert.match(text, /^berth_http_requests_total\{route="manifest_get",method="GET",status="200"\} 2$/m);
    assert.match(text, /^berth_http_request_duration_seconds_bucket\{route="manifest_get",method="GET",le="0.001"\} 2$/m);
    assert.match(text, /^berth_http_request_duration_seconds_bucket\{route="manifest_get",method="GET",le="0.005"\} 3$/m);
    assert.match(text, /^berth_http_request_duration_seconds_bucket\{route="blob_upload_patch",method="PATCH",le="60"\} 1$/m);
    assert.match(text, /^berth_http_request_duration_seconds_bucket\{route="blob_upload_patch",method="PATCH",le="\+Inf"\} 2$/m);
    assert.match(text, /^berth_http_request_duration_seconds_count\{route="manifest_get",method="HEAD"\} 1$/m);
    assert.match(text, /^berth_http_request_bytes_total\{route="blob_upload_patch"\} 5000000$/m);
    assert.match(text, /^berth_http_response_bytes_total\{route="manifest_get"\} 1130$/m);
  });

  it('exports its metrics with their help and type before any request, and no samples', async () => {
    const registry = new Registry();
    new RequestMetrics(registry);
    const text = await registry.metrics();
    assert.match(text, /^# TYPE berth_http_requests_total counter$/m);
    assert.match(text, /^# TYPE berth_http_request_duration_seconds histogram$/m);
    assert.doesNotMatch(text, /^berth_http_/m);
  });
});
