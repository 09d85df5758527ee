/**
 * Two builds of Berth side by side, loaded at the same time with the bench's manifest PUT flow:
 * new image manifests (a config and a layer) by new tags, at c=16 each, through the lean client,
 * with authentication on. For "did this change make a push cheaper", which one run per build
 * cannot answer on a machine whose speed drifts from minute to minute: here both builds meet the
 * same drift. Each round gives each server's CPU time per PUT (from /proc) and their ratio, new
 * over old; the verdict is the median of the ratios. Both servers first take a warm-up of the
 * same PUTs, so that V8 has compiled their code. Which side is started first has moved the
 * median by a few percent either way: run it both ways round (NEW OLD too), and take the square
 * root of the first median over the second.
 *   node dist-test/scripts/bench/compare-puts.js OLD_CHECKOUT NEW_CHECKOUT [ROUNDS]
 * Each checkout must be built (npm run build). COMPARE_HOOKS_OLD=N and COMPARE_HOOKS_NEW=N give
 * that side's bench user N active webhooks for every package event, so that each PUT records a
 * change for them: with the same checkout on both sides and hooks on one, this is what the hooks
 * cost a push. Their deliveries go to a closed port and are held back while the server is busy
 * (`BERTH_WEBHOOK_YIELD`), but a side that ends a round first is idle until the other ends it,
 * and its deliverer may work then, partly into the next round: the figure is an upper bound of
 * the push's own share.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { HttpClient, runPool } from './http-client.js';
import { processCpuSeconds } from './load.js';
import { type ServerProcess, startBerth, stopProcess } from './processes.js';
import { RegistryClient, imageManifest, sha256 } from './registry-client.js';
import { median, secondsSince } from './stats.js';

const [oldCheckout, newCheckout, roundsText] = process.argv.slice(2);
if (!oldCheckout || !newCheckout) throw new Error('usage: compare-puts.js OLD_CHECKOUT NEW_CHECKOUT [ROUNDS]');
const rounds = Number(roundsText ?? 8);
const repository = 'bench/compare';
const warmUpPuts = 6000;
const putsPerRound = 2000;
const concurrency = 16;

interface Side {
  label: 'old' | 'new';
  server: ServerProcess;
  client: RegistryClient;
  image: { config: { digest: string; size: number }; layer: { digest: string; size: number } };
}

async function start(label: Side['label'], checkout: string, work: string, hooks: number): Promise<Side> {
  const dataDir = path.join(work, label);
  // Loopback is allowed as a hook's address; the deliverer waits for an idle node for an hour.
  const env = { BERTH_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32', BERTH_WEBHOOK_YIELD: '1h' };
  const server = await startBerth(dataDir, work, { checkout: path.resolve(checkout), name: label, env });
  for (let i = 0; i < hooks; i++) {
    const response = await fetch(`${server.url}/api/user/hooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.credentials.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ config: { url: `http://127.0.0.1:9/hook${i}` }, events: ['package'], active: true }),
    });
    if (!response.ok) throw new Error(`creating a hook: ${response.status} ${await response.text()}`);
  }
  const client = new RegistryClient('berth', new HttpClient(server.url, 128), server.credentials);
  await client.authorize(repository);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(1024);
  for (const blob of [config, layer]) await client.pushBlob(repository, sha256(blob), blob, blob.length);
  return { label, server, client, image: { config: { digest: sha256(config), size: config.length }, layer: { digest: sha256(layer), size: layer.length } } };
}

/** `count` new manifests PUT by new tags; answers the server's CPU seconds and the rate. */
async function puts(side: Side, count: number, round: string): Promise<{ cpuMicros: number; rate: number }> {
  const bodies = Array.from({ length: count }, (_, i) => imageManifest(side.image.config, side.image.layer, `${round}-${i}`));
  const cpuBefore = await processCpuSeconds(side.server.pid);
  const start = performance.now();
  await runPool(count, concurrency, async (i) => {
    await side.client.putManifest(repository, `${round}-${i}`, bodies[i] as Buffer);
  });
  const seconds = secondsSince(start);
  const cpu = (await processCpuSeconds(side.server.pid)) - cpuBefore;
  return { cpuMicros: (cpu * 1e6) / count, rate: count / seconds };
}

const work = await mkdtemp(path.join(os.tmpdir(), 'berth-compare-'));
const sides: Side[] = [];
try {
  const hooks = (name: string) => Number(process.env[name] ?? 0);
  sides.push(await start('old', oldCheckout, work, hooks('COMPARE_HOOKS_OLD')), await start('new', newCheckout, work, hooks('COMPARE_HOOKS_NEW')));
  await Promise.all(sides.map((side) => puts(side, warmUpPuts, 'warm')));
  const ratios: number[] = [];
  console.log('| Round | old µs/PUT | new µs/PUT | new/old | old PUT/s | new PUT/s |\n|---|---:|---:|---:|---:|---:|');
  for (let round = 1; round <= rounds; round++) {
    const [old, fresh] = await Promise.all(sides.map((side) => puts(side, putsPerRound, `r${round}`)));
    const ratio = fresh!.cpuMicros / old!.cpuMicros;
    ratios.push(ratio);
    console.log(`| ${round} | ${old!.cpuMicros.toFixed(0)} | ${fresh!.cpuMicros.toFixed(0)} | ${ratio.toFixed(2)} | ${old!.rate.toFixed(0)} | ${fresh!.rate.toFixed(0)} |`);
  }
  console.log(`\nMedian new/old CPU per PUT over ${rounds} rounds: ${median(ratios).toFixed(3)}`);
} finally {
  for (const side of sides) {
    side.client.close();
    await stopProcess(side.server);
  }
  await rm(work, { recursive: true, force: true });
}
