import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../support/registry-process.js';

const bin = readFileSync(path.join(repoRoot(), 'bin/berth.js'), 'utf8');
/** The node flags of bin/berth.js's first line. */
const shebangFlags = (/^#!\/usr\/bin\/env -S node (.*)$/m.exec(bin)?.[1] ?? '').split(' ');
/** The flags bin/berth.js sets back to V8's defaults as it starts. */
const flagDefaults = JSON.parse((/const v8FlagDefaults = (\[.*\]);/.exec(bin)?.[1] ?? '[]').replaceAll("'", '"')) as string[];

/**
 * A program that sets the V8 flags it is given (as bin/berth.js does), then reports what a
 * code cache made by a Node run without flags is worth to it, and what its heap looks like.
 */
const program = `
const v8 = require('node:v8');
const { Script } = require('node:vm');
const [mode, cacheFile, ...flags] = process.argv.slice(2);
for (const flag of flags) v8.setFlagsFromString(flag);
const source = 'function add(a, b) { return a + b; } add(1, 2);';
if (mode === 'make') {
  const script = new Script(source);
  script.runInThisContext();
  require('node:fs').writeFileSync(cacheFile, script.createCachedData());
} else {
  const script = new Script(source, { cachedData: require('node:fs').readFileSync(cacheFile) });
  // Short-lived objects, so that the young generation grows as far as it may.
  let kept = [];
  let largestNewSpace = 0;
  for (let i = 0; i < 400_000; i++) {
    kept.push({ i, list: [i] });
    if (kept.length > 50_000) kept = [];
    if (i % 10_000 === 0) {
      const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
      largestNewSpace = Math.max(largestNewSpace, newSpace.space_size);
    }
  }
  console.log(JSON.stringify({ rejected: script.cachedDataRejected, largestNewSpace, gc: typeof globalThis.gc }));
}`;

describe("bin/berth.js's V8 flags", () => {
  let dir: string;
  let cacheFile: string;
  let script: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-node-flags-'));
    script = path.join(dir, 'program.cjs');
    cacheFile = path.join(dir, 'cache');
    writeFileSync(script, program);
    execFileSync(process.execPath, [script, 'make', cacheFile]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const run = (nodeFlags: string[], setFlags: string[]) =>
    JSON.parse(execFileSync(process.execPath, [...nodeFlags, script, 'use', cacheFile, ...setFlags], { encoding: 'utf8' })) as {
      rejected: boolean;
      largestNewSpace: number;
      gc: string;
    };

  it("are set back to defaults under which V8 takes a code cache made without flags, as it takes Node's own", () => {
    assert.ok(flagDefaults.length > 0, 'bin/berth.js lists the flags it sets back');
    assert.equal(run(shebangFlags, []).rejected, true, "the first line's flags alone make V8 refuse the cache");
    assert.equal(run(shebangFlags, flagDefaults).rejected, false);
  });

  it('keep the young generation small and gc exposed once set back', () => {
    const seen = run(shebangFlags, flagDefaults);
    // Two semi-spaces of at most 2 MiB; V8's default lets them grow to 16 MiB each.
    assert.ok(seen.largestNewSpace <= 4 * 1024 * 1024, `new space reached ${seen.largestNewSpace} bytes`);
    assert.ok(run([], []).largestNewSpace > 4 * 1024 * 1024, 'without the flags the same program grows it further');
    assert.equal(seen.gc, 'function');
  });
});
