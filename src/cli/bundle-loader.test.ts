import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { builtinsListFile } from './bundle-loader.js';

const loader = fileURLToPath(new URL('./bundle-loader.js', import.meta.url));

interface Start {
  codeCache: string;
  answer: string;
  dir: string;
  file: string;
}

/**
 * Loads the bundle in a new Node process, runs its main() and, when asked, saves the code cache.
 * A new process each time, as a server start is: within one, V8 would find the code compiled by
 * an earlier load in its own memory and never look at the cache.
 */
function start(bundle: string, { save = false } = {}): Start {
  // A file, not -e: the cache is kept per node options, and -e's program would be one of them.
  const program = path.join(path.dirname(bundle), 'start.mjs');
  writeFileSync(
    program,
    `const { loadBundle } = await import(${JSON.stringify(loader)});
    const loaded = loadBundle(process.argv[2]);
    const result = await loaded.exports.main([]);
    if (process.argv[3] === 'save') loaded.saveCodeCache();
    process.stdout.write(JSON.stringify({ codeCache: loaded.codeCache, ...result }));`,
  );
  const output = execFileSync(process.execPath, [program, bundle, save ? 'save' : 'no-save'], { encoding: 'utf8' });
  return JSON.parse(output) as Start;
}

// A bundle whose main() says where it runs from, with enough functions that V8 caches code.
function bundleSource(answer: string): string {
  return `'use strict';
const path = require('node:path');
function answerOf(argv) { return argv.length === 0 ? ${JSON.stringify(answer)} : argv.join(' '); }
exports.main = async (argv) => ({ answer: answerOf(argv), dir: __dirname, file: path.basename(__filename) });
`;
}

describe('loadBundle', () => {
  let dir: string;
  let bundle: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-bundle-'));
    bundle = path.join(dir, 'main.cjs');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const caches = () => readdirSync(dir).filter((name) => name.endsWith('.v8-cache'));
  const onlyCache = () => {
    const found = caches();
    assert.equal(found.length, 1, `one cache file: ${found.join(', ')}`);
    return path.join(dir, found[0]!);
  };

  it('runs a CommonJS bundle with its own require, __dirname and __filename', () => {
    writeFileSync(bundle, bundleSource('first'));
    assert.deepEqual(start(bundle), { codeCache: 'none', answer: 'first', dir, file: 'main.cjs' });
    assert.deepEqual(caches(), [], 'a cache only when asked for');
  });

  it('keeps the compiled code beside the bundle, readable by all, and compiles from it next time', () => {
    writeFileSync(bundle, bundleSource('first'));
    start(bundle, { save: true });
    const cache = onlyCache();
    assert.equal(statSync(cache).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(dir).sort(), [path.basename(cache), 'main.cjs', 'start.mjs'].sort(), 'no partial file left');

    const written = readFileSync(cache);
    const second = start(bundle, { save: true });
    assert.equal(second.codeCache, 'accepted');
    assert.equal(second.answer, 'first');
    assert.deepEqual(readFileSync(cache), written, 'an accepted cache is not rewritten');
  });

  it('never runs a cache made for another source, even of the same length', () => {
    writeFileSync(bundle, bundleSource('first'));
    start(bundle, { save: true });
    // V8 tells sources apart by their length only: it would take the cache of the first.
    writeFileSync(bundle, bundleSource('other'));
    assert.deepEqual(start(bundle), { codeCache: 'none', answer: 'other', dir, file: 'main.cjs' });
  });

  it('compiles the source when the cache is damaged, and replaces it', () => {
    writeFileSync(bundle, bundleSource('first'));
    start(bundle, { save: true });
    const cache = onlyCache();
    const damaged = readFileSync(cache);
    const middle = Math.floor(damaged.length / 2);
    damaged.writeUInt8(damaged.readUInt8(middle) ^ 0xff, middle);
    writeFileSync(cache, damaged);

    assert.deepEqual(start(bundle, { save: true }), { codeCache: 'none', answer: 'first', dir, file: 'main.cjs' });
    assert.equal(start(bundle).codeCache, 'accepted');

    writeFileSync(cache, damaged.subarray(0, 3));
    assert.equal(start(bundle).codeCache, 'none', 'a file too short to hold its checksum');
  });

  it('compiles the source when V8 refuses the cache, and replaces it', () => {
    writeFileSync(bundle, bundleSource('first'));
    start(bundle, { save: true });
    const ofFirst = readFileSync(onlyCache());
    rmSync(onlyCache());
    writeFileSync(bundle, bundleSource('a longer answer'));
    start(bundle, { save: true });
    // A whole cache with its checksum, but of another source: V8 sees the length differ.
    writeFileSync(onlyCache(), ofFirst);

    assert.deepEqual(start(bundle, { save: true }), { codeCache: 'rejected', answer: 'a longer answer', dir, file: 'main.cjs' });
    assert.equal(start(bundle).codeCache, 'accepted');
  });

  it('starts without a cache where it cannot keep one', () => {
    writeFileSync(bundle, bundleSource('first'));
    start(bundle, { save: true });
    const cache = onlyCache();
    // A directory where the cache should be: it can be neither read nor replaced.
    rmSync(cache);
    mkdirSync(path.join(cache, 'in-the-way'), { recursive: true });

    assert.deepEqual(start(bundle, { save: true }), { codeCache: 'none', answer: 'first', dir, file: 'main.cjs' });
    assert.deepEqual(readdirSync(dir).sort(), [path.basename(cache), 'main.cjs', 'start.mjs'].sort(), 'no partial file left');
  });
});

// A bundle whose main() starts an HTTP server, as `berth serve` does, and says its port.
const serverBundleSource = `'use strict';
const http = require('node:http');
exports.main = () => new Promise((resolve) => {
  const server = http.createServer((request, response) => response.end('served'));
  server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port }));
});
`;

describe('saveCodeCacheOnceServing', () => {
  let dir: string;
  let bundle: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-bundle-'));
    bundle = path.join(dir, 'main.cjs');
    writeFileSync(bundle, serverBundleSource);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const caches = () => readdirSync(dir).filter((name) => name.endsWith('.v8-cache'));

  /** Starts the server bundle in a new process, which saves its cache once serving; resolves with its port. */
  async function serve(fallbackMs: number) {
    const program = path.join(dir, 'serve.mjs');
    writeFileSync(
      program,
      `const { loadBundle, saveCodeCacheOnceServing } = await import(${JSON.stringify(loader)});
      const loaded = loadBundle(process.argv[2]);
      const { port } = await loaded.exports.main([]);
      saveCodeCacheOnceServing(loaded, Number(process.argv[3]));
      process.stdout.write(port + '\\n');`,
    );
    const child = spawn(process.execPath, [program, bundle, String(fallbackMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    return { port: Number(line.toString().trim()), stop: () => child.kill() };
  }

  /** Waits, a bounded time, until a cache file is there; answers how long that took. */
  async function cacheAppears(): Promise<number> {
    const since = performance.now();
    for (let tries = 0; tries < 200 && caches().length === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(caches().length, 1, 'a cache file appeared');
    return performance.now() - since;
  }

  it('saves the cache once the server has answered its first request', async (t) => {
    const server = await serve(60_000);
    t.after(server.stop);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(caches(), [], 'no cache while no request has been answered');
    const response = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.equal(await response.text(), 'served');
    await cacheAppears();
  });

  it('saves the cache after the fallback when no request comes', async (t) => {
    // Long enough that the check just after the start never meets a cache a busy machine let save.
    const server = await serve(2000);
    t.after(server.stop);
    assert.deepEqual(caches(), [], 'not at once');
    await cacheAppears();
  });
});

describe('requireBuiltinsOf', () => {
  let dir: string;
  let bundle: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-bundle-'));
    bundle = path.join(dir, 'main.cjs');
    // A bundle that says whether it ran.
    writeFileSync(bundle, `'use strict';\nglobalThis.bundleRan = true;\n`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Which of `watched` Node has loaded after requireBuiltinsOf in a new process, and whether the bundle ran. */
  function afterRequiring(watched: string[]): { loaded: string[]; bundleRan: boolean } {
    const program = path.join(dir, 'builtins.mjs');
    writeFileSync(
      program,
      `const { requireBuiltinsOf } = await import(${JSON.stringify(loader)});
      requireBuiltinsOf(process.argv[2]);
      const watched = ${JSON.stringify(watched)};
      const loaded = watched.filter((name) => process.moduleLoadList.includes('NativeModule ' + name));
      process.stdout.write(JSON.stringify({ loaded, bundleRan: globalThis.bundleRan === true }));`,
    );
    return JSON.parse(execFileSync(process.execPath, [program, bundle], { encoding: 'utf8' })) as { loaded: string[]; bundleRan: boolean };
  }

  it('loads the Node modules listed beside the bundle, and nothing else the list names', () => {
    writeFileSync(builtinsListFile(bundle), JSON.stringify(['node:http2', 'dgram', './main.cjs']));
    assert.deepEqual(afterRequiring(['http2', 'dgram', 'readline']), { loaded: ['http2', 'dgram'], bundleRan: false });
  });

  it('loads nothing for a bundle without a list', () => {
    assert.deepEqual(afterRequiring(['http2', 'dgram']), { loaded: [], bundleRan: false });
  });

  it("lists, for the server's bundle, the modules it requires as it loads but not those its stand-ins load on first use", () => {
    // Tests run from the checkout's root, after `npm run build`.
    const listed = JSON.parse(readFileSync(builtinsListFile(path.resolve('dist/bundle/main.cjs')), 'utf8')) as string[];
    for (const name of ['node:http', 'node:crypto', 'node:stream', 'node:zlib']) assert.ok(listed.includes(name), `${name} listed`);
    for (const name of ['node:http2', 'node:child_process', 'node:dns']) assert.ok(!listed.includes(name), `${name} not listed`);
  });
});
