import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAb } from './ab.js';

const report = `Concurrency Level:      64
Time taken for tests:   3.000 seconds
Complete requests:      74578
Failed requests:        0
Keep-Alive requests:    74578
Requests per second:    24859.31 [#/sec] (mean)
`;
const percentiles = 'Percentage served,Time in ms\n0,0.334\n49,2.075\n50,2.081\n98,4.691\n99,4.865\n100,85.261\n';

describe('parseAb', () => {
  it('reads the rate, the request count and the p50 and p99 latencies in ms', () => {
    assert.deepEqual(parseAb(report, percentiles), { rate: 24859.31, requests: 74578, p50: 2.081, p99: 4.865 });
  });

  it('fails a run with answers other than 2xx, or of differing lengths', () => {
    assert.throws(() => parseAb(report.replace('Keep-Alive', 'Non-2xx responses:      12\nKeep-Alive'), percentiles), /12 answers/);
    assert.throws(() => parseAb(report.replace('Failed requests:        0', 'Failed requests:        3'), percentiles), /3 requests failed/);
  });
});
