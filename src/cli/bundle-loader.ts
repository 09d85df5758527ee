import diagnosticsChannel from 'node:diagnostics_channel';
import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire, isBuiltin } from 'node:module';
import path from 'node:path';
import { Script } from 'node:vm';
import { crc32 } from 'node:zlib';

/** What a bundle's CommonJS module exports: the `berth` command line. */
export interface BundleExports {
  main(argv: string[]): Promise<void>;
}

/** Whether V8 compiled the bundle from a code cache: none was kept, or it took or refused it. */
export type CodeCacheUse = 'none' | 'accepted' | 'rejected';

export interface LoadedBundle {
  readonly exports: BundleExports;
  readonly codeCache: CodeCacheUse;
  /** Keeps the code compiled so far for the next start, unless V8 took it from the cache. */
  saveCodeCache(): void;
}

/**
 * Runs a CommonJS bundle through V8's code cache. Compiling the bundle's source is a large part
 * of Berth's time to start, and Node 20 keeps no compiled code between runs of a program (Node
 * 22's module compile cache does it for every module). With a cache, V8 reads the bytecode of
 * every function compiled before the cache was made, the server's start included, and compiles
 * only what is new.
 *
 * The cache sits beside the bundle, one file per bundle content, Node version and V8 flags: V8
 * itself refuses a cache made by another V8 or other flags, but it tells sources apart only by
 * their length. A `npm run build` starts from an empty `dist/`, so old caches go with it.
 */
export function loadBundle(file: string): LoadedBundle {
  const source = readFileSync(file);
  const cacheFile = codeCacheFile(file, source);
  const cachedData = readCodeCache(cacheFile);
  // The bundle is ASCII (scripts/bundle.mjs sees to it), which Latin-1 decodes as a plain copy.
  const script = new Script(Module.wrap(source.toString('latin1')), { filename: file, cachedData });
  const codeCache: CodeCacheUse = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
  const module = { exports: {} as BundleExports };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  return {
    exports: module.exports,
    codeCache,
    saveCodeCache() {
      if (codeCache === 'accepted') return;
      // Written under a new name, made durable, then renamed: a process starting meanwhile reads
      // the old cache or the new one, never half of one. An installation the server may not
      // write (a container image owned by root) just starts without the cache.
      const partial = `${cacheFile}.${process.pid}.partial`;
      try {
        writeCodeCache(partial, script.createCachedData());
        renameSync(partial, cacheFile);
      } catch {
        rmSync(partial, { force: true });
      }
    },
  };
}

/**
 * Saves the bundle's code cache once the process has answered its first HTTP request, so that the
 * cache holds the code that serves a request as well as the code of the start; the first request
 * of each later start would otherwise compile it again. Without a request (an HTTP/2 server, whose
 * responses Node does not announce on this channel, or no traffic yet) it is saved `fallbackMs`
 * after this call.
 */
export function saveCodeCacheOnceServing(bundle: LoadedBundle, fallbackMs: number): void {
  if (bundle.codeCache === 'accepted') return;
  const responses = diagnosticsChannel.channel('http.server.response.finish');
  let saved = false;
  const save = () => {
    if (saved) return;
    saved = true;
    clearTimeout(fallback);
    responses.unsubscribe(onResponse);
    bundle.saveCodeCache();
  };
  // After the response's own callbacks have run, so that their code is compiled too.
  const onResponse = () => setImmediate(save);
  const fallback = setTimeout(save, fallbackMs).unref();
  responses.subscribe(onResponse);
}

/**
 * Requires the Node modules that the bundle in `file` requires, as the build lists them beside it
 * (`builtinsListFile`); a bundle without a list loads them as it runs. Node compiles its own
 * modules from a code cache built into it, which V8 takes only while the flags it hashes are at
 * their defaults: a start calls this before it sets any at run time (see bin/berth.js).
 */
export function requireBuiltinsOf(file: string): void {
  let listed: string[];
  try {
    listed = JSON.parse(readFileSync(builtinsListFile(file), 'utf8')) as string[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const require = createRequire(file);
  for (const name of listed) if (isBuiltin(name)) require(name);
}

/** Where the build lists the Node modules that `bundle` requires. */
export function builtinsListFile(bundle: string): string {
  return bundle.replace(/\.cjs$/, '.builtins.json');
}

/** Where the code cache of `bundle`, holding `source`, is kept for Node run with `nodeOptions`. */
export function codeCacheFile(bundle: string, source: Buffer, nodeOptions = process.execArgv): string {
  const runtime = crc32(`${process.version} ${nodeOptions.join(' ')}`);
  const key = crc32(source, runtime).toString(16).padStart(8, '0');
  return `${bundle}.${key}.v8-cache`;
}

// A release build of V8 checks a code cache's header but not its contents, and would run damaged
// bytecode: each cache file ends with the CRC-32 of the rest, and one that does not match is
// not used.
const checksumBytes = 4;

function writeCodeCache(file: string, data: Buffer): void {
  const checksum = Buffer.alloc(checksumBytes);
  checksum.writeUInt32BE(crc32(data));
  const fd = openSync(file, 'w');
  try {
    // Compiled code, no data: readable by all as the bundle is, whatever the umask of the
    // process that made it (an image's build runs as root, its server as another user).
    fchmodSync(fd, 0o644);
    // writeFileSync on a descriptor writes until every byte is out; a writeSync may stop short.
    writeFileSync(fd, data);
    writeFileSync(fd, checksum);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The cache kept in `file`, or nothing when there is none that can be read whole. */
function readCodeCache(file: string): Buffer | undefined {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch {
    return undefined;
  }
  if (content.length <= checksumBytes) return undefined;
  const data = content.subarray(0, content.length - checksumBytes);
  return crc32(data) === content.readUInt32BE(data.length) ? data : undefined;
}
