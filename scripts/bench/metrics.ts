/** The figures the bench reports, how to read them, and the targets of issue 5 they answer to. */
import { layoutShapes } from './real-clients.js';

export type Target =
  /** Berth/Distribution at least `value` (figures where higher is better). */
  | { kind: 'ratioAtLeast'; value: number }
  /** Berth/Distribution at most `value` (latencies, times). */
  | { kind: 'ratioAtMost'; value: number }
  /** Berth's figure at most `value` in the metric's unit. */
  | { kind: 'atMost'; value: number };

export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  target?: Target;
  /**
   * Key of the machine-limit figure this is bounded by, and the fraction of it the issue asks for.
   * `server`: the bound is a bare server doing the same work (not a client's ceiling), so its own
   * ratio to Distribution is about what any server on this machine could reach, and the report
   * gives it beside a missed target.
   */
  bound?: { key: string; label: string; atLeast?: number; server?: boolean };
  /** Only measured on Berth. */
  berthOnly?: boolean;
}

export const metrics: MetricDef[] = [
  { key: 'pushMono', label: "Push blob in one PATCH, clients' flow (HEAD, POST, PATCH, PUT)", unit: 'MiB/s', better: 'higher', target: { kind: 'ratioAtLeast', value: 1.6 }, bound: { key: 'pushMono', label: 'bare hash+write+fsync', atLeast: 0.85, server: true } },
  { key: 'pushChunked', label: 'Push blob, 16 MiB chunks', unit: 'MiB/s', better: 'higher', target: { kind: 'ratioAtLeast', value: 1.8 }, bound: { key: 'pushMono', label: 'bare hash+write+fsync', server: true } },
  { key: 'pullSingle', label: 'Pull blob, single', unit: 'MiB/s', better: 'higher', target: { kind: 'ratioAtLeast', value: 1.2 }, bound: { key: 'pullSingle', label: 'bare stream-out', server: true } },
  // Node has no zero-copy path from a file to a socket, as Go's sendfile: the target is parity, and 90% of what bare Node streams.
  { key: 'pullParallel', label: 'Pull blob, 8 in parallel (total)', unit: 'MiB/s', better: 'higher', target: { kind: 'ratioAtLeast', value: 1.0 }, bound: { key: 'pullParallel', label: 'bare stream-out x8', atLeast: 0.9, server: true } },
  { key: 'pullCpuPerGib', label: 'Pull blob, 8 in parallel: server CPU per GiB served', unit: 's', better: 'lower' },
  { key: 'smallPush', label: "Push 4 KiB blobs, clients' flow, c=32", unit: 'blobs/s', better: 'higher', target: { kind: 'ratioAtLeast', value: 4 } },
  { key: 'smallPushP99', label: "Push 4 KiB blobs, clients' flow, p99", unit: 'ms', better: 'lower' },
  { key: 'smallPushSinglePost', label: 'Push 4 KiB blobs, one POST ?digest= each (no common client sends it), c=32', unit: 'blobs/s', better: 'higher', berthOnly: true, bound: { key: 'ceilingPostRate', label: 'client ceiling, 4 KiB POST' } },
  { key: 'smallPushSinglePostP99', label: 'Push 4 KiB blobs, one POST ?digest= each, p99', unit: 'ms', better: 'lower', berthOnly: true },
  { key: 'manifestPut', label: 'Manifest PUT by tag, c=16', unit: 'PUT/s', better: 'higher', target: { kind: 'ratioAtLeast', value: 4 }, bound: { key: 'ceilingPutRate', label: 'client ceiling, manifest PUT' } },
  { key: 'manifestPutP99', label: 'Manifest PUT, p99', unit: 'ms', better: 'lower' },
  { key: 'getTagRate', label: 'Manifest GET by tag, c=64', unit: 'req/s', better: 'higher', target: { kind: 'ratioAtLeast', value: 10 }, bound: { key: 'ceilingGetRate', label: 'ab ceiling, GET' } },
  { key: 'getTagP50', label: 'Manifest GET by tag, p50', unit: 'ms', better: 'lower' },
  { key: 'getTagP99', label: 'Manifest GET by tag, p99', unit: 'ms', better: 'lower', target: { kind: 'ratioAtMost', value: 0.2 } },
  { key: 'headDigestRate', label: 'Manifest HEAD by digest, c=64', unit: 'req/s', better: 'higher', target: { kind: 'ratioAtLeast', value: 10 }, bound: { key: 'ceilingGetRate', label: 'ab ceiling, GET' } },
  { key: 'headDigestP50', label: 'Manifest HEAD by digest, p50', unit: 'ms', better: 'lower' },
  { key: 'headDigestP99', label: 'Manifest HEAD by digest, p99', unit: 'ms', better: 'lower', target: { kind: 'ratioAtMost', value: 0.2 } },
  { key: 'bigGetTagRate', label: 'Manifest GET by tag, repo of N tags', unit: 'req/s', better: 'higher' },
  { key: 'bigGetTagP50', label: 'Manifest GET by tag, repo of N tags, p50', unit: 'ms', better: 'lower' },
  { key: 'tokenRate', label: 'Registry tokens issued, c=64', unit: 'tokens/s', better: 'higher', berthOnly: true },
  { key: 'tokenP99', label: 'Registry tokens issued, p99', unit: 'ms', better: 'lower', berthOnly: true },
  { key: 'tagsFullMs', label: 'Tags list, N tags, full', unit: 'ms', better: 'lower', target: { kind: 'ratioAtMost', value: 1 } },
  { key: 'tagsPagedMs', label: 'Tags list, N tags, n=100 all pages', unit: 'ms', better: 'lower' },
  { key: 'tagsPages', label: 'Tags list, pages walked with n=100', unit: 'pages', better: 'higher' },
  { key: 'tagsLargestPage', label: 'Tags list, largest page returned for n=100', unit: 'tags', better: 'lower' },
  { key: 'rssPeak', label: 'Peak RSS over the scenarios above', unit: 'MB', better: 'lower', target: { kind: 'ratioAtMost', value: 1.5 } },
  { key: 'rssPeakBerthOnly', label: "Peak RSS once Berth's own scenarios ran too (token issues, the scale setup and reads)", unit: 'MB', better: 'lower', berthOnly: true },
  { key: 'bigPush', label: 'Push big blob streamed (see sizes)', unit: 'MiB/s', better: 'higher' },
  { key: 'bigPull', label: 'Pull big blob', unit: 'MiB/s', better: 'higher' },
  { key: 'bigRss', label: 'Peak RSS pushing+pulling the big blob', unit: 'MB', better: 'lower', target: { kind: 'atMost', value: 150 } },
  // skopeo's copies (real-clients.ts): wall times, and the same above skopeo's local copy of the layout.
  ...layoutShapes.flatMap((shape): MetricDef[] => [
    { key: `skopeoPush${shape.key}`, label: `skopeo push, ${shape.label}`, unit: 'ms', better: 'lower' },
    { key: `skopeoPush${shape.key}Over`, label: `skopeo push, ${shape.label}, above the local copy`, unit: 'ms', better: 'lower', target: { kind: 'ratioAtMost', value: 0.5 }, bound: { key: `skopeoBarePush${shape.key}Over`, label: 'bare registry', server: true } },
    { key: `skopeoPull${shape.key}`, label: `skopeo pull, ${shape.label}`, unit: 'ms', better: 'lower' },
    { key: `skopeoPull${shape.key}Over`, label: `skopeo pull, ${shape.label}, above the local copy`, unit: 'ms', better: 'lower', target: { kind: 'ratioAtMost', value: 0.8 }, bound: { key: `skopeoBarePull${shape.key}Over`, label: 'bare registry', server: true } },
  ]),
  { key: 'idleRss', label: 'Idle RSS after start', unit: 'MB', better: 'lower', target: { kind: 'atMost', value: 70 }, bound: { key: 'bareNodeIdleRss', label: 'bare Node http server' } },
  { key: 'startReadyMs', label: 'Start to ready (existing data dir)', unit: 'ms', better: 'lower', target: { kind: 'atMost', value: 300 }, bound: { key: 'bareNodeStartReadyMs', label: 'bare Node http server' } },
];

/**
 * The scale-out profile (`npm run bench:scale-out`): Berth on PostgreSQL and S3 against
 * Distribution on S3, the same S3 server for both.
 */
export const scaleOutMetrics: MetricDef[] = [
  { key: 'pushClients', label: "Push blob, clients' flow (HEAD, POST, PATCH, PUT)", unit: 'MiB/s', better: 'higher' },
  { key: 'pullSingle', label: 'Pull blob, single, redirected to S3', unit: 'MiB/s', better: 'higher' },
  { key: 'pullParallel', label: 'Pull blob, 8 in parallel (total), redirected to S3', unit: 'MiB/s', better: 'higher' },
  { key: 'streamedPullSingle', label: 'Pull blob, single, streamed by the registry', unit: 'MiB/s', better: 'higher' },
  { key: 'streamedPullParallel', label: 'Pull blob, 8 in parallel (total), streamed by the registry', unit: 'MiB/s', better: 'higher' },
  { key: 'manifestPut', label: 'Manifest PUT by tag, c=16', unit: 'PUT/s', better: 'higher', target: { kind: 'ratioAtLeast', value: 2 } },
  { key: 'manifestPutP99', label: 'Manifest PUT, p99', unit: 'ms', better: 'lower' },
  { key: 'getTagRate', label: 'Manifest GET by tag, c=64', unit: 'req/s', better: 'higher', target: { kind: 'ratioAtLeast', value: 2 } },
  { key: 'getTagP50', label: 'Manifest GET by tag, p50', unit: 'ms', better: 'lower' },
  { key: 'getTagP99', label: 'Manifest GET by tag, p99', unit: 'ms', better: 'lower' },
  { key: 'headDigestRate', label: 'Manifest HEAD by digest, c=64', unit: 'req/s', better: 'higher' },
  { key: 'headDigestP99', label: 'Manifest HEAD by digest, p99', unit: 'ms', better: 'lower' },
];

/** Berth on PostgreSQL and S3 against Berth on SQLite and files, one node each. */
export const engineMetrics: MetricDef[] = [
  { key: 'getTagRate', label: 'Manifest GET by tag, c=64', unit: 'req/s', better: 'higher', target: { kind: 'ratioAtLeast', value: 0.7 } },
  { key: 'getTagP50', label: 'Manifest GET by tag, p50', unit: 'ms', better: 'lower' },
  { key: 'getTagP99', label: 'Manifest GET by tag, p99', unit: 'ms', better: 'lower' },
  { key: 'headDigestRate', label: 'Manifest HEAD by digest, c=64', unit: 'req/s', better: 'higher' },
];

/** Two Berth nodes on one PostgreSQL and one bucket against one of them, and where the CPU went. */
export const nodesMetrics: MetricDef[] = [
  { key: 'getTagRate', label: 'Manifest GET by tag, c=64 in all', unit: 'req/s', better: 'higher', target: { kind: 'ratioAtLeast', value: 1.6 } },
  { key: 'getTagP50', label: 'Manifest GET by tag, p50 (the slower node)', unit: 'ms', better: 'lower' },
  { key: 'getTagP99', label: 'Manifest GET by tag, p99 (the slower node)', unit: 'ms', better: 'lower' },
  { key: 'machineBusyCpus', label: 'CPUs busy on the machine during the GETs', unit: 'CPUs', better: 'lower' },
  { key: 'berthCpus', label: 'CPUs used by the Berth nodes', unit: 'CPUs', better: 'lower' },
  { key: 'benchRestCpus', label: 'CPUs used by ab, PostgreSQL, s3rver and the bench', unit: 'CPUs', better: 'lower' },
  { key: 'foreignCpus', label: 'CPUs used by other processes on the machine (interrupt work left out)', unit: 'CPUs', better: 'lower' },
];

export const machineMetrics: Array<{ key: string; label: string; unit: string }> = [
  { key: 'sha256', label: 'sha256 (node:crypto, 1 MiB updates)', unit: 'MiB/s' },
  { key: 'diskWrite', label: 'Disk write 256 MiB + fdatasync', unit: 'MiB/s' },
  { key: 'loopback', label: 'Loopback TCP (bare node:net)', unit: 'MiB/s' },
  { key: 'pushMono', label: 'Bare Node http: hash + write + fsync (blob size)', unit: 'MiB/s' },
  { key: 'pullSingle', label: 'Bare Node http: stream-out from disk, single', unit: 'MiB/s' },
  { key: 'pullParallel', label: 'Bare Node http: stream-out, 8 in parallel (total)', unit: 'MiB/s' },
  { key: 'ceilingGetRate', label: 'Client ceiling: ab GET c=64 against a bare 200 server', unit: 'req/s' },
  { key: 'ceilingGetP50', label: 'Client ceiling: ab GET p50', unit: 'ms' },
  { key: 'ceilingGetP99', label: 'Client ceiling: ab GET p99', unit: 'ms' },
  { key: 'ceilingPostRate', label: 'Client ceiling: lean client 4 KiB POST c=32', unit: 'req/s' },
  { key: 'ceilingPutRate', label: 'Client ceiling: lean client manifest-sized PUT c=16', unit: 'req/s' },
  { key: 'ceilingPull', label: 'Client ceiling: curl GET of the blob size from memory', unit: 'MiB/s' },
  { key: 'bareNodeIdleRss', label: 'Bare Node http server (node:http only, Berth\'s node flags): idle RSS after start', unit: 'MB' },
  { key: 'bareNodeStartReadyMs', label: 'Bare Node http server: start to ready', unit: 'ms' },
  ...layoutShapes.map((shape) => ({ key: `skopeoFloor${shape.key}`, label: `skopeo local copy (oci: to oci:), ${shape.label}`, unit: 'ms' })),
  ...layoutShapes.flatMap((shape) => [
    { key: `skopeoBarePush${shape.key}Over`, label: `Bare registry (bare-registry.ts): skopeo push, ${shape.label}, above the local copy`, unit: 'ms' },
    { key: `skopeoBarePull${shape.key}Over`, label: `Bare registry: skopeo pull, ${shape.label}, above the local copy`, unit: 'ms' },
  ]),
];

/**
 * Berth's figures that must not grow with size: each measured on a small and a large repository
 * (or registry), with the worse direction of the figure.
 */
export const scalePairs: Array<{ label: string; unit: string; better: 'higher' | 'lower'; small: string; large: string }> = [
  { label: 'Manifest GET by tag, c=64', unit: 'req/s', better: 'higher', small: 'scaleSmallRate', large: 'scaleLargeRate' },
  { label: 'Manifest GET by tag, p50', unit: 'ms', better: 'lower', small: 'scaleSmallP50', large: 'scaleLargeP50' },
  { label: 'Manifest GET by tag, p99', unit: 'ms', better: 'lower', small: 'scaleSmallP99', large: 'scaleLargeP99' },
  { label: 'Tags page, n=100, the last of the repository', unit: 'ms', better: 'lower', small: 'tagsSmallPageMs', large: 'tagsLargePageMs' },
  { label: '_catalog page, n=100, the last of the registry', unit: 'ms', better: 'lower', small: 'catalogSmallPageMs', large: 'catalogLargePageMs' },
];

/** A figure counts as not growing with size when the large case is within this factor of the small one. */
export const flatWithin = 1.25;

export type Verdict = 'met' | 'missed' | 'n/a';

export function targetText(target: Target | undefined): string {
  if (!target) return '';
  if (target.kind === 'ratioAtLeast') return `>= ${target.value}x`;
  if (target.kind === 'ratioAtMost') return target.value === 1 ? '<= 1x (no slower)' : `<= ${target.value}x`;
  return `<= ${target.value}`;
}

export function verdict(target: Target | undefined, berth: number, ratio: number): Verdict {
  if (!target) return 'n/a';
  if (target.kind === 'atMost') return Number.isFinite(berth) ? (berth <= target.value ? 'met' : 'missed') : 'n/a';
  if (!Number.isFinite(ratio)) return 'n/a';
  return (target.kind === 'ratioAtLeast' ? ratio >= target.value : ratio <= target.value) ? 'met' : 'missed';
}
