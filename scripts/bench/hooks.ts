/**
 * `npm run bench:hooks` (and the `hooks` scenario of `npm run bench`): manifest PUT on a Berth
 * server with three active webhooks against none. Berth (SQLite, files, authentication on) runs as
 * its own process on loopback, allowed to deliver to 127.0.0.1; three hooks of the bench user
 * (every package event) point at a receiver in this process that answers 204. Rounds alternate
 * which goes first (none, three, three, none, ...): with hooks, by turning them active. Each round
 * starts once every delivery of the rounds before was received and its outcome recorded, on a
 * node idle for a moment. Two kinds of round, each PUTs by tag at c=16 through the bench's lean
 * client: a burst of BENCH_MANIFESTS (300 quick, 1000 otherwise), shorter than the deliverer
 * yields to requests; and sustained load, four times as many, longer than that, so that the
 * deliveries share the CPUs with the pushes. Prints a markdown table: the median rate, p99 and
 * Berth's own CPU time per PUT of each, the median of the rounds' ratios, and how long the last
 * deliveries took after the last PUT.
 * BENCH_HOOKS_SUSTAINED_ONLY=1 runs only the sustained rounds (to profile them).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchConfig } from './config.js';
import { HttpClient, runPool } from './http-client.js';
import { processCpuSeconds } from './load.js';
import { startBerth, stopProcess } from './processes.js';
import { RegistryClient, imageManifest, sha256 } from './registry-client.js';
import { median, percentile, secondsSince } from './stats.js';

const config = benchConfig();
const repository = 'bench/hooks';
const puts = Number(process.env.BENCH_MANIFESTS ?? config.hookBurstCount);
/**
 * Pairs of rounds of each kind. A burst lasts under a second, and one burst's ratio scatters
 * widely from round to round: it gets twice as many.
 */
const burstPairs = Math.max(2, config.rounds * 4);
const sustainedPairs = Math.max(2, config.rounds * 2);
/** Longer than a node's lull before it counts as idle (`RequestsInFlight`). */
const idlePauseMs = 200;
/** Enough PUTs at c=16 to keep Berth busy for longer than its deliverer yields (1 s by default). */
const sustainedPuts = Number(process.env.BENCH_SUSTAINED_MANIFESTS ?? 4 * puts);

type Arm = 'none' | 'three';

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

    let expected = 0;
    const drained = async () => {
      const deadline = Date.now() + 300_000;
      while (received < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    // Received is not done: Berth then commits each delivery's outcome. A round starts once the
    // newest delivery of every hook has its outcome, so that it does not pay for the round before.
    const recorded = async () => {
      const deadline = Date.now() + 300_000;
      for (const id of hooks) {
        for (;;) {
          const [newest] = (await api('GET', `/api/user/hooks/${id}/deliveries?per_page=1`)) as unknown as Array<{ status: string }>;
          if (!newest || newest.status !== 'pending' || Date.now() > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };

    /** Rounds of `count` PUTs, alternating which arm goes first; each starts on an idle node whose deliveries are done. */
    const rounds = async (label: string, key: string, count: number, pairs: number) => {
      const rates: Record<Arm, number[]> = { none: [], three: [] };
      const p99s: Record<Arm, number[]> = { none: [], three: [] };
      // Berth's own CPU time per PUT (all its threads), which the client's share of the CPUs does not move.
      const cpuPerPut: Record<Arm, number[]> = { none: [], three: [] };
      const drains: number[] = [];
      // How many of a round's deliveries had arrived when its last PUT was answered.
      const duringRound: number[] = [];
      // Round 0 warms both arms up and is not counted.
      for (let round = 0; round <= pairs; round += 1) {
        const counted = round > 0;
        const order: Arm[] = round % 2 === 0 ? ['none', 'three'] : ['three', 'none'];
        for (const arm of order) {
          await drained();
          await recorded();
          await setActive(arm === 'three');
          // A registry token lasts minutes; the whole bench lasts longer.
          await client.authorize(repository);
          // A burst starts on an idle node (see IdleGate), whichever round came before.
          await new Promise((resolve) => setTimeout(resolve, idlePauseMs));
          const bodies = Array.from({ length: count }, (_, i) => imageManifest(configRef, layerRef, `${key}-${round}-${arm}-${i}-${Date.now()}`));
          const cpuBefore = await processCpuSeconds(berth.pid);
          const start = performance.now();
          const latencies = await runPool(count, 16, (i) => client.putManifest(repository, `${key}-r${round}-${arm}-${i}`, bodies[i] as Buffer));
          const seconds = secondsSince(start);
          const cpu = (((await processCpuSeconds(berth.pid)) - cpuBefore) * 1e6) / count;
          const lastPut = performance.now();
          latencies.sort((a, b) => a - b);
          if (counted) {
            rates[arm].push(count / seconds);
            p99s[arm].push(percentile(latencies, 99));
            cpuPerPut[arm].push(cpu);
          }
          if (arm === 'three') {
            duringRound.push(received - expected);
            expected += 3 * count;
            await drained();
            drains.push((performance.now() - lastPut) / 1000);
          }
          log(`${label} round ${round + 1} ${arm}: ${(count / seconds).toFixed(0)} PUT/s in ${seconds.toFixed(2)} s, p99 ${percentile(latencies, 99).toFixed(1)} ms, Berth CPU ${cpu.toFixed(0)} µs a PUT${counted ? '' : ' (warm-up)'}`);
        }
      }
      // The two arms of a round run one after the other: each round's ratio, then their median,
      // leaves out how the machine and the growing database drift from round to round.
      const row = (figure: string, values: Record<Arm, number[]>, digits: number) => {
        const ratios = values.three.map((three, i) => three / (values.none[i] as number));
        return `| ${figure} | ${median(values.none).toFixed(digits)} | ${median(values.three).toFixed(digits)} | ${median(ratios).toFixed(3)} |`;
      };
      return {
        rows: [
          row(`Manifest PUT by tag, c=16, ${label} (PUT/s)`, rates, 0),
          row(`Manifest PUT, ${label}, p99 (ms)`, p99s, 1),
          row(`Berth CPU time per PUT, ${label} (µs)`, cpuPerPut, 0),
        ],
        summary: `${label}: ${pairs} rounds of each of ${count} PUTs, ${count === puts && config.quick ? '(BENCH_QUICK) ' : ''}the last delivery of a round received a median ${median(drains).toFixed(2)} s after its last PUT, a median ${median(duringRound).toFixed(0)} of a round's ${3 * count} deliveries while its PUTs ran.`,
      };
    };
    // Pings were not sent (the hooks were made inactive); every PUT with hooks active makes three deliveries.
    const burst = process.env.BENCH_HOOKS_SUSTAINED_ONLY ? { rows: [], summary: '' } : await rounds('a burst', 'burst', puts, burstPairs);
    // Load that lasts longer than the deliverer yields (`webhookYield`, 1 s by default): deliveries then share the CPUs.
    const sustained = await rounds('sustained', 'sustained', sustainedPuts, sustainedPairs);
    const lines = [
      '| Figure | No hooks | 3 active hooks | Ratio |',
      '|---|---:|---:|---:|',
      ...burst.rows,
      ...sustained.rows,
      '',
      `Rounds alternate which goes first, after a warm-up round of each that is not counted; the ratio is the median of each round's (its two arms ran one after the other). Each round starts once the deliveries of the one before were received and their outcomes recorded, and the node was idle for ${idlePauseMs} ms. Deliveries received: ${received} of ${expected}.`,
      `- ${burst.summary}`,
      `- ${sustained.summary}`,
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
