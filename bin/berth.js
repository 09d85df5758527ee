#!/usr/bin/env -S node --max-semi-space-size=2 --initial-old-space-size=32 --no-concurrent-array-buffer-sweeping --expose-gc --interrupt-budget=540672
'use strict';
// A CommonJS script (bin/package.json), which Node starts without its ES module loader.
//
// V8 flags, read only at start (hence the shebang; `npm start` passes them too):
// - The young generation is held to 2 MiB semi-spaces (V8 grows them to 16 MiB): a loaded server
//   keeps 20 to 40 MB less resident memory.
// - The old generation may reach 32 MiB before its first full collection. Started lower, V8 set
//   its limit a few MiB above the server's 18 MiB of live objects and, each full collection being
//   short of room, kept it there: 2 GiB of uploads ran 59 full collections (0.9 s of CPU).
//   Once the first collection has room, the limit grows with the heap: 1 full collection in
//   8 GiB of uploads, peak resident memory unchanged (130 MB).
// - Array buffers are swept at once after a scavenge, not concurrently. An upload's socket buffers
//   are dead ArrayBuffers; when V8 checked the external memory before a concurrent sweep had
//   freed them, it started a full collection every 25 MiB of upload (a third of its time).
// - `gc` is exposed so that uploads can collect the young generation every few MiB received:
//   V8 itself would wait until their dead socket buffers held tens of MiB (see
//   src/streams/young-collections.ts).
// - The interrupt budget: see below.
const v8 = require('node:v8');
// Node compiles its own modules from a code cache built into it, which V8 takes only while the
// flags that enter V8's hash of its flags are at their defaults; otherwise each module is compiled
// anew, some 30 ms of every start. The heap's sizes are taken as the heap is made, and `gc`, once
// exposed, stays: those flags are set back to V8's defaults (Node 20's) before any other module
// loads, and so is the interrupt budget. How array buffers are swept is not hashed, and stays.
// test/ops/node-flags.test.ts checks this against the Node it runs on.
const v8FlagDefaults = ['--max-semi-space-size=0', '--initial-old-space-size=0', '--no-expose-gc', '--interrupt-budget=67584'];
const [defaultInterruptBudget] = v8FlagDefaults.filter((flag) => flag.startsWith('--interrupt-budget='));
for (const flag of v8FlagDefaults) v8.setFlagsFromString(flag);

// File writes and fsyncs run on libuv's thread pool; its default of 4 threads makes concurrent
// pushes queue behind each other's fsyncs. It must be sized before the pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '16';

// The compiled sources bundled by `npm run build` (scripts/bundle.mjs), compiled through V8's code
// cache. A server writes the cache once it has answered a request, so that it holds the code of a
// start and of a request.
const path = require('node:path');
const { loadBundle, requireBuiltinsOf, saveCodeCacheOnceServing } = require('../dist/bundle/loader.cjs');
const bundle = path.join(__dirname, '../dist/bundle/main.cjs');
requireBuiltinsOf(bundle);
// Compiled, and its code cache made, under V8's default flags.
const berth = loadBundle(bundle);
// V8 compiles a function with TurboFan once it has run some budget of bytecode. With the default
// budget, starting ran enough of find-my-way's and Fastify's route registration and of
// EventEmitter's removeListener to compile them: code that never runs again, which left an idle
// server 5 to 6 MB larger (TurboFan's own pages and memory). Eight times the budget compiles
// nothing before the first requests, with room for a start twice as busy. It is V8's own again
// once the command has started (for a server, once it listens), so that a request's code is
// compiled after some hundreds of requests rather than some thousands. The first line gives it
// for the functions Node creates before this script runs.
v8.setFlagsFromString('--interrupt-budget=540672');
berth.exports.main(process.argv).then(() => {
  v8.setFlagsFromString(defaultInterruptBudget);
  if (process.argv[2] !== 'serve') return;
  saveCodeCacheOnceServing(berth, 5000);
  // Starting leaves megabytes of garbage (the bundle's source as read, the code cache) which the
  // first full collection frees only once the heap has grown past --initial-old-space-size.
  // Collected a second after the server listens, so that the first requests do not wait on it.
  setTimeout(() => globalThis.gc?.(), 1000).unref();
});
