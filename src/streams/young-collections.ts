/**
 * Collections of V8's young generation, asked for by streams of received bytes.
 *
 * Node hands every socket read to JavaScript in a buffer of its own. An upload allocates little
 * else, so the young generation fills slowly, and V8 frees those buffers only once the memory they
 * hold outside its heap crosses a limit of its own, tens of MiB above the last collection: a fast
 * upload keeps that much garbage resident. A young collection every few MiB of a stream frees the
 * buffers already consumed; it costs well under a millisecond, as the young generation is small
 * (`--max-semi-space-size`, see `bin/berth.js`).
 *
 * The collector is V8's `gc` function, which `--expose-gc` (in `bin/berth.js`'s node flags) puts
 * on the global object. Without the flag (the tests, or Node run without Berth's flags) streams go
 * on as before, without these collections.
 */

export type Collector = (options: { type: 'minor' }) => void;

/** Bytes received between two collections. */
export const collectEveryBytes = 8 * 1024 * 1024;

const v8Collector = (globalThis as { gc?: Collector }).gc;

/** Counts the bytes streams pass and collects the young generation every `collectEveryBytes`. */
export class YoungCollections {
  private sinceLast = 0;

  constructor(private readonly collect: Collector | undefined) {}

  passed(bytes: number): void {
    if (!this.collect) return;
    this.sinceLast += bytes;
    if (this.sinceLast < collectEveryBytes) return;
    this.sinceLast = 0;
    this.collect({ type: 'minor' });
  }
}

/** The process's own: garbage is the process's, whichever uploads made it. */
export const receivedBytes = new YoungCollections(v8Collector);
