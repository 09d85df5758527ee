import { MiB } from './stats.js';

/** Sizes and counts of one bench run; BENCH_QUICK=1 shrinks them to finish within two minutes. */
export interface BenchConfig {
  quick: boolean;
  rounds: number;
  blobBytes: number;
  chunkBytes: number;
  /** Times each blob push and pull runs in a round; the round keeps the median. */
  transferRepeats: number;
  parallelPulls: number;
  smallCount: number;
  smallBytes: number;
  smallConcurrency: number;
  /**
   * Manifest PUTs per round: enough that a WAL checkpoint, which one round's window holds and the
   * next does not, moves the rate little.
   */
  manifestCount: number;
  /** Manifest PUTs in each burst of the webhooks bench, which runs many bursts. */
  hookBurstCount: number;
  manifestConcurrency: number;
  readSeconds: number;
  readConcurrency: number;
  tagCount: number;
  tagPage: number;
  /** Berth only: tags of the repository whose reads must cost what a small one's do, and repositories listed by _catalog. */
  scaleTagCount: number;
  scaleRepositoryCount: number;
  /** Sequential full tags-list requests per round (their median is reported). */
  tagListRepeats: number;
  bigBytes: number;
  loopbackBytes: number;
  /** Starts of each registry on its data directory once the scenarios have run (their median is reported). */
  startRepeats: number;
}

export function benchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === '1';
  // Quick runs default to one round so they stay under two minutes on a busy 2-CPU machine.
  const rounds = Number(env.BENCH_ROUNDS ?? (quick ? 1 : 3));
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error('BENCH_ROUNDS must be an integer from 1 to 20');
  return {
    quick,
    rounds,
    blobBytes: quick ? 64 * MiB : 256 * MiB,
    chunkBytes: 16 * MiB,
    transferRepeats: 3,
    parallelPulls: 8,
    smallCount: quick ? 500 : 2000,
    smallBytes: 4096,
    smallConcurrency: 32,
    manifestCount: quick ? 300 : 3000,
    hookBurstCount: quick ? 300 : 1000,
    manifestConcurrency: 16,
    readSeconds: quick ? 2 : 10,
    readConcurrency: 64,
    tagCount: quick ? 2000 : 10_000,
    tagPage: 100,
    scaleTagCount: quick ? 5000 : 100_000,
    scaleRepositoryCount: quick ? 1000 : 10_000,
    tagListRepeats: quick ? 3 : 10,
    bigBytes: quick ? 512 * MiB : 2048 * MiB,
    loopbackBytes: quick ? 256 * MiB : 1024 * MiB,
    startRepeats: quick ? 3 : 7,
  };
}
