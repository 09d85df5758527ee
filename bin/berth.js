#!/usr/bin/env -S node --max-semi-space-size=8
// V8's young generation is held to 8 MiB semi-spaces (its default grows them to 16 MiB), so it
// takes at most half the memory it otherwise would. Smaller ones were measured to make an upload
// slower: its socket buffers then outlive the young generation, and the external memory they
// hold drives a full collection every 25 MiB (a third of the upload's time). V8 reads the flag
// only at start, hence the shebang; `npm start` passes it too.
// File writes and fsyncs run on libuv's thread pool; its default of 4 threads makes concurrent
// pushes queue behind each other's fsyncs. It must be sized before the pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '16';

const { main } = await import('../dist/src/cli/main.js');
await main(process.argv);
