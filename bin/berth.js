#!/usr/bin/env node
// File writes and fsyncs run on libuv's thread pool; its default of 4 threads makes concurrent
// pushes queue behind each other's fsyncs. It must be sized before the pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '16';

const { main } = await import('../dist/src/cli/main.js');
await main(process.argv);
