// Bundles the compiled server (dist/src) into dist/bundle, which bin/berth.js runs: Node 20 then
// reads a few files rather than resolving and compiling some 180 modules of Berth and hundreds of
// its dependencies one by one, which was most of the time to start and a part of the memory.
// Left out, and loaded from node_modules when used: better-sqlite3 (a native addon), and what
// only some installations use (PostgreSQL, S3, YAML configuration, OIDC's JOSE), as before.
// The SQLite checkpoint worker is an entry of its own, beside the code that starts it.
import { build } from 'esbuild';

await build({
  entryPoints: { main: 'dist/src/cli/main.js', 'checkpoint-worker': 'dist/src/db/sqlite/checkpoint-worker.js' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', 'pg', 'jose', 'yaml', '@aws-sdk/*'],
  // CommonJS dependencies call require() for Node's own modules, which an ES module lacks.
  banner: { js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);" },
  logLevel: 'warning',
});
