/**
 * `npm run bench:pages`: the web pages of a package with many versions, timed inside the server.
 * A Berth in this process (SQLite, files) gets a package of BENCH_PAGE_VERSIONS versions (10,000
 * by default), the newest BENCH_PAGE_TAGS of them tagged (100), then a signed-in viewer asks for
 * its package page, its versions pages and a version page, BENCH_PAGE_REQUESTS times each (200),
 * through Fastify's `inject`: the time from the request entering the server to its last byte,
 * without a socket. Reports p50, p95 and the largest, and each page's weight with its stylesheet
 * and script, uncompressed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAccountName } from '../../src/accounts/names.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { parseTokenScopes } from '../../src/auth/scopes.js';
import { loadConfig } from '../../src/config.js';
import { createBerth } from '../../src/server.js';
import { imageManifest, pushBlob, putManifest } from '../../test/support/berth-pushes.js';
import { sha256 } from '../../test/support/digests.js';
import { webSignIn } from '../../test/support/web-sign-in.js';

const versions = Number(process.env.BENCH_PAGE_VERSIONS ?? 10_000);
const tags = Number(process.env.BENCH_PAGE_TAGS ?? 100);
const requests = Number(process.env.BENCH_PAGE_REQUESTS ?? 200);

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-pages-'));
  const berth = await createBerth(loadConfig({ dataDir, publicUrl: 'http://registry.test:5000' }, {}), {
    logger: false,
    env: { BERTH_ADMIN_USERNAME: 'root', BERTH_ADMIN_PASSWORD: randomBytes(16).toString('hex') },
    print: () => undefined,
  });
  try {
    const password = randomBytes(12).toString('hex');
    const alice = await berth.accounts.createUser(parseAccountName('alice'), { passwordHash: await hashPassword(password) });
    const { token } = await berth.accessTokens.create(alice.id, parseTokenScopes(['read:packages', 'write:packages', 'delete:packages']));
    const auth = `Basic ${Buffer.from(`alice:${token}`).toString('base64')}`;

    const started = Date.now();
    const config = await pushBlob(berth, 'alice/app', auth, JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { 'org.opencontainers.image.description': 'A package with many versions' } } }));
    const layer = await pushBlob(berth, 'alice/app', auth, randomBytes(64 * 1024));
    for (let i = 0; i < versions; i += 1) {
      const manifest = imageManifest(config, layer, { 'org.opencontainers.image.version': String(i) });
      // The newest ones are tagged, as a release history would have it; the others by digest.
      await putManifest(berth, 'alice/app', auth, i >= versions - tags ? `v${i}` : sha256(JSON.stringify(manifest)), manifest);
      if ((i + 1) % 1000 === 0) log(`${i + 1} versions pushed (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
    const pkg = await berth.packages.require('alice/app');
    const newest = (await berth.packages.versions(pkg, 'active', 1, 0)).items[0];

    // Signed in, as the target asks: the pages then also decide what the viewer may do.
    const session = await webSignIn(berth.app, 'alice', password);
    const headers = { cookie: session.cookie, accept: 'text/html' };

    const base = '/users/alice/packages/container';
    const pages = [
      ['package page', `${base}/package/app`],
      ['versions, first page', `${base}/app/versions`],
      ['versions, page 100', `${base}/app/versions?page=100`],
      ['versions, tagged', `${base}/app/versions?filter=tagged`],
      ['version page', `${base}/app/${newest?.id}`],
      ['owner list', '/users/alice/packages'],
    ] as const;
    const rows: string[] = [];
    for (const [name, url] of pages) {
      const first = await berth.app.inject({ method: 'GET', url, headers });
      if (first.statusCode !== 200) throw new Error(`${url}: ${first.statusCode}`);
      const assets = [...first.body.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((match) => match[1] as string);
      let weight = first.rawPayload.length;
      for (const asset of assets) weight += (await berth.app.inject({ method: 'GET', url: asset })).rawPayload.length;
      for (let i = 0; i < 20; i += 1) await berth.app.inject({ method: 'GET', url, headers });
      const times: number[] = [];
      for (let i = 0; i < requests; i += 1) {
        const start = process.hrtime.bigint();
        const res = await berth.app.inject({ method: 'GET', url, headers });
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
        if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`);
      }
      times.sort((a, b) => a - b);
      rows.push(
        `| ${name} | \`${url.replace(base, '…')}\` | ${quantile(times, 0.5).toFixed(1)} | ${quantile(times, 0.95).toFixed(1)} | ${(times.at(-1) ?? 0).toFixed(1)} | ${(first.rawPayload.length / 1024).toFixed(1)} | ${(weight / 1024).toFixed(1)} |`,
      );
    }
    process.stdout.write(
      [
        `Pages of a package with ${versions} versions, ${tags} tagged; ${requests} requests each after 20 to warm up, signed in; Node ${process.version}, ${os.cpus().length} CPUs.`,
        '',
        '| Page | Path | p50 ms | p95 ms | max ms | HTML KiB | HTML+CSS+JS KiB |',
        '|---|---|---|---|---|---|---|',
        ...rows,
        '',
      ].join('\n'),
    );
  } finally {
    await berth.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
