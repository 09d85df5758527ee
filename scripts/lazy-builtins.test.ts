import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

// Tests run from the checkout's root, where the bundle script and its plugin live.
const pluginFile = pathToFileURL(path.resolve('scripts/lazy-builtins.mjs')).href;

describe('the lazy-builtins bundle plugin', () => {
  let dir: string;
  let lazyBuiltins: Plugin;
  before(async () => {
    ({ lazyBuiltins } = (await import(pluginFile)) as { lazyBuiltins: Plugin });
    dir = mkdtempSync(path.join(tmpdir(), 'berth-lazy-builtins-'));
    mkdirSync(path.join(dir, 'node_modules', 'dep'), { recursive: true });
    // A dependency that requires http2 as it loads, as fastify does, and exports it.
    writeFileSync(path.join(dir, 'node_modules', 'dep', 'index.js'), `const http2 = require('node:http2');\nmodule.exports = { http2 };\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Bundles `entry` with the plugin, runs it in a new Node, and returns what it printed. */
  async function bundleAndRun(entry: string): Promise<Record<string, unknown>> {
    writeFileSync(path.join(dir, 'entry.js'), entry);
    const output = path.join(dir, 'out.cjs');
    await build({ entryPoints: [path.join(dir, 'entry.js')], bundle: true, platform: 'node', format: 'cjs', outfile: output, plugins: [lazyBuiltins], logLevel: 'error' });
    return JSON.parse(execFileSync(process.execPath, [output], { encoding: 'utf8' })) as Record<string, unknown>;
  }

  it("loads a module a dependency requires only when the dependency first uses it, and then it is Node's own", async () => {
    const seen = await bundleAndRun(`
      const loaded = () => process.moduleLoadList.includes('NativeModule http2');
      const { http2 } = require('./node_modules/dep/index.js');
      const atStart = loaded();
      const createServer = http2.createServer;
      const real = require('node:http2');
      console.log(JSON.stringify({
        atStart,
        afterUse: loaded(),
        same: createServer === real.createServer,
        constant: http2.constants.NGHTTP2_SESSION_SERVER === real.constants.NGHTTP2_SESSION_SERVER,
        has: 'createSecureServer' in http2,
        keys: Object.keys(http2).sort().join() === Object.keys(real).sort().join(),
      }));`);
    assert.deepEqual(seen, { atStart: false, afterUse: true, same: true, constant: true, has: true, keys: true });
  });

  it("leaves the server's own imports as they are", async () => {
    const seen = await bundleAndRun(`
      const http2 = require('node:http2');
      console.log(JSON.stringify({ atStart: process.moduleLoadList.includes('NativeModule http2'), real: typeof http2.createServer }));`);
    assert.deepEqual(seen, { atStart: true, real: 'function' });
  });
});
