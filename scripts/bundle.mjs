// Bundles the compiled server (dist/src) into dist/bundle, which bin/berth.js runs: Node 20 then
// reads a few files rather than resolving and compiling some 180 modules of Berth and hundreds of
// its dependencies one by one, which was most of the time to start and a part of the memory.
// Left out, and loaded from node_modules when used: better-sqlite3 (a native addon), and what
// only some installations use (PostgreSQL, S3, YAML configuration, OIDC's JOSE).
//
// The server is one CommonJS file, so that bin/berth.js can compile it through V8's code cache
// (src/cli/bundle-loader.ts), which Node 20 offers only to scripts. The SQLite checkpoint worker
// is an ES module of its own, beside the code that starts it.
import { mkdir, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { build } from 'esbuild';
import { builtinsListFile } from '../dist/src/cli/bundle-loader.js';
import { lazyBuiltins, namespace as lazyNamespace } from './lazy-builtins.mjs';

const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning' };
const external = ['better-sqlite3', 'pg', 'jose', 'yaml', '@aws-sdk/*'];

const server = 'dist/bundle/main.cjs';
// Kept in memory, and written once made ASCII.
const {
  outputFiles: [output],
  metafile,
} = await build({
  ...common,
  entryPoints: ['dist/src/cli/main.js'],
  outfile: server,
  format: 'cjs',
  external,
  // The sources are ES modules, strict by definition; so stays the script that holds them.
  banner: { js: "'use strict';\nconst importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': 'importMetaUrl' },
  // A script compiled by node:vm can run import() only through an experimental loader: the
  // packages loaded on demand are required instead (jose, an ES module, through require(esm)).
  supported: { 'dynamic-import': false },
  // Smaller to read, hash and keep in memory. Names are kept, so that stack traces name functions.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [lazyBuiltins],
  write: false,
  metafile: true,
});
await mkdir('dist/bundle', { recursive: true });
await writeFile(server, asciiOnly(output.text));
// The Node modules the server requires, which a start loads before it sets V8 flags at run time
// (bin/berth.js); not those that stand-ins load on first use.
await writeFile(builtinsListFile(server), JSON.stringify(requiredBuiltins(metafile)));

// bin/berth.js, a CommonJS script, loads the server through this.
await build({
  ...common,
  entryPoints: ['dist/src/cli/bundle-loader.js'],
  outfile: 'dist/bundle/loader.cjs',
  format: 'cjs',
});

await build({
  ...common,
  entryPoints: ['dist/src/db/sqlite/checkpoint-worker.js'],
  outfile: 'dist/bundle/checkpoint-worker.js',
  format: 'esm',
  external,
});

function requiredBuiltins({ inputs }) {
  const names = new Set();
  for (const [file, { imports }] of Object.entries(inputs)) {
    if (file.startsWith(`${lazyNamespace}:`)) continue;
    for (const { path, external } of imports) if (external && isBuiltin(path)) names.add(`node:${path.replace(/^node:/, '')}`);
  }
  return [...names].sort();
}

// esbuild escapes strings and names, but not the comments it keeps. V8 holds a source with one
// character past ASCII in two bytes per character, for as long as the server runs, and Node
// decodes it more slowly. Escaped, a comment's character only reads differently.
function asciiOnly(source) {
  return source.replace(/[^\x00-\x7f]/g, (char) => {
    // In a line comment these would end the line, and the rest of it would become code.
    if (char === '\u2028' || char === '\u2029') throw new Error(`${server}: a line or paragraph separator`);
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
