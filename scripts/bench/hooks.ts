/**
 * `npm run bench:hooks` (and the `hooks` scenario of `npm run bench`): manifest PUT on a Berth
 * server with three active webhooks against none. Berth (SQLite, files, authentication on) runs as
 * its own process on loopback, allowed to deliver to 127.0.0.1; three hooks of the bench user
 * (every package event) point at a receiver in this process that answers 204. Rounds alternate
 * which goes first (none, three, three, none, ...): with hooks, by turning them active; a round
 * is BENCH_MANIFESTS PUTs by tag (300 quick, 1000 otherwise) at c=16 through the bench's lean
 * client, started once every delivery of the rounds before was received. Prints a markdown table:
 * the median rate and p99 of each, and the ratio, and how long the last deliveries took after the
 * last PUT.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchConfig } from './config.js';
import { HttpClient, runPool } from './http-client.js';
import { startBerth, stopProcess } from './processes.js';
import { RegistryClient, imageManifest, sha256 } from './registry-client.js';
import { median, percentile, secondsSince } from './stats.js';

const config = benchConfig();
const repository = 'bench/hooks';
const puts = Number(process.env.BENCH_MANIFESTS ?? config.manifestCount);
const pairs = Math.max(2, config.rounds * 2);

function log(line: string): void {
  process.stderr.write(`[bench hooks] ${line}\n`);
}

async function main(): Promise<void> {
  let received = 0;
  const receiver = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received += 1;
      response.statusCode = 204;
      response.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const root = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-hooks-'));
  const berth = await startBerth(path.join(root, 'data'), root, { env: { BERTH_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' } });
  const client = new RegistryClient('berth', new HttpClient(berth.url, 128), berth.credentials);
  const api = async (method: string, url: string, body?: object) => {
    const response = await fetch(`${berth.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${berth.credentials.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? undefined : ((await response.json()) as { id: number });
  };
  try {
    await client.authorize(repository);
    const configBlob = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = Buffer.from('a layer for the hooks bench');
    const configRef = { digest: sha256(configBlob), size: configBlob.length };
    const layerRef = { digest: sha256(layer), size: layer.length };
    await client.pushBlob(repository, configRef.digest, configBlob, configBlob.length);
    await client.pushBlob(repository, layerRef.digest, layer, layer.length);
    // The first push creates the package: rounds then measure pushes into a package that has hooks or not.
    await client.putManifest(repository, 'warm-up', imageManifest(configRef, layerRef, 'warm-up'));
    const hooks: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const hook = await api('POST', '/api/user/hooks', { config: { url: `${receiverUrl}/hook${i}`, secret: `secret-${i}` }, events: ['package'], active: false });
      hooks.push(hook!.id);
    }
    const setActive = async (active: boolean) => {
      for (const id of hooks) await api('PATCH', `/api/user/hooks/${id}`, { active });
    };

    const rates: Record<'none' | 'three', number[]> = { none: [], three: [] };
    const p99s: Record<'none' | 'three', number[]> = { none: [], three: [] };
    let expected = 0;
    let lastPut = 0;
    const drains: number[] = [];
    // How many of a round's deliveries had arrived when its last PUT was answered.
    const duringRound: number[] = [];
    const drained = async () => {
      const deadline = Date.now() + 300_000;
      while (received < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    for (let round = 0; round < pairs; round += 1) {
      const order: Array<'none' | 'three'> = round % 2 === 0 ? ['none', 'three'] : ['three', 'none'];
      for (const arm of order) {
        // The deliveries of the round before are sent first, so that a round without hooks does not pay for them.
        await drained();
        await setActive(arm === 'three');
        const bodies = Array.from({ length: puts }, (_, i) => imageManifest(configRef, layerRef, `${round}-${arm}-${i}-${Date.now()}`));
        const start = performance.now();
        const latencies = await runPool(puts, 16, (i) => client.putManifest(repository, `r${round}-${arm}-${i}`, bodies[i] as Buffer));
        const seconds = secondsSince(start);
        lastPut = performance.now();
        latencies.sort((a, b) => a - b);
        rates[arm].push(puts / seconds);
        p99s[arm].push(percentile(latencies, 99));
        if (arm === 'three') {
          duringRound.push(received - expected);
          expected += 3 * puts;
          await drained();
          drains.push((performance.now() - lastPut) / 1000);
        }
        log(`round ${round + 1} ${arm}: ${(puts / seconds).toFixed(0)} PUT/s, p99 ${percentile(latencies, 99).toFixed(1)} ms`);
      }
    }
    // Pings were not sent (the hooks were made inactive); every PUT with hooks active makes three deliveries.
    const none = median(rates.none);
    const three = median(rates.three);
    const lines = [
      '| Figure | No hooks | 3 active hooks | Ratio |',
      '|---|---:|---:|---:|',
      `| Manifest PUT by tag, c=16 (PUT/s) | ${none.toFixed(0)} | ${three.toFixed(0)} | ${(three / none).toFixed(3)} |`,
      `| Manifest PUT, p99 (ms) | ${median(p99s.none).toFixed(1)} | ${median(p99s.three).toFixed(1)} | ${(median(p99s.three) / median(p99s.none)).toFixed(3)} |`,
      '',
      `${pairs} rounds of each, alternating, ${puts} PUTs each${config.quick ? ' (BENCH_QUICK)' : ''}. Deliveries received: ${received} of ${expected}, the last of a round's a median ${median(drains).toFixed(2)} s after its last PUT, a median ${median(duringRound).toFixed(0)} of a round's ${3 * puts} while its PUTs ran; each round starts once the deliveries of the one before were received.`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    client.close();
    await stopProcess(berth);
    receiver.close();
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
