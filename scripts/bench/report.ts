import { readFile, writeFile } from 'node:fs/promises';
import { type MetricDef, flatWithin, machineMetrics, metrics, scalePairs, targetText, verdict } from './metrics.js';
import { formatNumber, median } from './stats.js';

export type Figures = Record<string, number[]>;

export interface Results {
  berth: Figures;
  distribution: Figures;
  /** Machine limits and the bare Node server, per round. */
  machine: Figures;
}

export interface RowSummary {
  metric: MetricDef;
  berth: number;
  distribution: number;
  ratio: number;
  bound: number;
  /** The bound's own ratio to Distribution, for a bound that is a bare server (NaN otherwise). */
  boundRatio: number;
  verdict: ReturnType<typeof verdict>;
  boundVerdict: ReturnType<typeof verdict>;
}

/** The two figures side by side: their column names and the name of their ratio. */
export interface Columns {
  first: string;
  second: string;
  ratio: string;
}

export const berthAndDistribution: Columns = { first: 'Berth', second: 'Distribution', ratio: 'Berth/Dist' };

/** One row per metric of `defs` measured; `berth` is the first column and `distribution` the second. */
export function summarize(results: Results, defs: MetricDef[] = metrics): RowSummary[] {
  return defs
    .filter((metric) => results.berth[metric.key] !== undefined || results.distribution[metric.key] !== undefined)
    .map((metric) => {
      const berth = median(results.berth[metric.key] ?? []);
      const distribution = median(results.distribution[metric.key] ?? []);
      // A time above a floor can be below it (negative); a ratio to one that is not positive says nothing.
      const ratio = distribution > 0 ? berth / distribution : Number.NaN;
      const bound = metric.bound ? median(results.machine[metric.bound.key] ?? []) : Number.NaN;
      const boundVerdict = metric.bound?.atLeast !== undefined && Number.isFinite(bound) ? (berth / bound >= metric.bound.atLeast ? 'met' : 'missed') : 'n/a';
      const boundRatio = metric.bound?.server && distribution > 0 ? bound / distribution : Number.NaN;
      return { metric, berth, distribution, ratio, bound, boundRatio, verdict: verdict(metric.target, berth, ratio), boundVerdict };
    });
}

export function resultsTable(rows: RowSummary[], columns: Columns = berthAndDistribution): string {
  // Without a machine bound in any row (the scale-out profile), its two columns are left out.
  const bounded = rows.some((row) => row.metric.bound !== undefined);
  const lines = [
    `| Scenario | Unit | Better | ${columns.first} | ${columns.second} | ${columns.ratio} | Target | Verdict |${bounded ? ` Machine bound | ${columns.first} % of bound |` : ''}`,
    `|---|---|---|---:|---:|---:|---|---|${bounded ? '---:|---:|' : ''}`,
  ];
  for (const row of rows) {
    const { metric } = row;
    const bound = metric.bound && Number.isFinite(row.bound) ? `${formatNumber(row.bound)} (${metric.bound.label})` : '';
    // A share of a time above a floor says nothing when either time is below its floor.
    const share = metric.bound && row.bound > 0 && row.berth > 0 ? `${Math.round((100 * row.berth) / row.bound)}%${metric.bound.atLeast ? ` (target ${Math.round(metric.bound.atLeast * 100)}%: ${row.boundVerdict})` : ''}` : '';
    lines.push(
      `| ${metric.label} | ${metric.unit} | ${metric.better === 'higher' ? 'higher' : 'lower'} | ${formatNumber(row.berth)} | ${formatNumber(row.distribution)} | ${Number.isFinite(row.ratio) ? `${row.ratio.toFixed(2)}x` : 'n/a'} | ${targetText(metric.target)} | ${verdictText(row)} |${bounded ? ` ${bound} | ${share} |` : ''}`,
    );
  }
  return lines.join('\n');
}

/**
 * The verdict, and for a missed target whose bound is a bare server that misses it too, that
 * bound's own ratio: the target then asks more than a server without Berth's work reaches here.
 */
export function verdictText(row: RowSummary): string {
  if (!row.metric.target) return '';
  if (row.verdict !== 'missed' || !Number.isFinite(row.boundRatio)) return row.verdict;
  const boundMisses = verdict(row.metric.target, row.bound, row.boundRatio) === 'missed';
  return boundMisses ? `missed (the bound's own: ${row.boundRatio.toFixed(2)}x)` : 'missed';
}

/** Berth's small and large cases side by side (see `scalePairs`); `sizes` names the two cases. */
export function scaleTable(berth: Figures, sizes: { small: string; large: string }): string {
  const lines = [
    `| Figure | Unit | ${sizes.small} | ${sizes.large} | Large/small | Target | Verdict |`,
    '|---|---|---:|---:|---:|---|---|',
  ];
  for (const pair of scalePairs) {
    const small = median(berth[pair.small] ?? []);
    const large = median(berth[pair.large] ?? []);
    if (!Number.isFinite(small) || !Number.isFinite(large)) continue;
    const ratio = large / small;
    const flat = pair.better === 'higher' ? ratio >= 1 / flatWithin : ratio <= flatWithin;
    const target = pair.better === 'higher' ? `>= ${(1 / flatWithin).toFixed(2)}x` : `<= ${flatWithin.toFixed(2)}x`;
    lines.push(`| ${pair.label} | ${pair.unit} | ${formatNumber(small)} | ${formatNumber(large)} | ${ratio.toFixed(2)}x | ${target} | ${flat ? 'met' : 'missed'} |`);
  }
  return lines.join('\n');
}

export function machineTable(machine: Figures): string {
  const lines = ['| Machine limit | Unit | Median | Rounds |', '|---|---|---:|---|'];
  for (const metric of machineMetrics) {
    const values = machine[metric.key];
    if (!values) continue;
    lines.push(`| ${metric.label} | ${metric.unit} | ${formatNumber(median(values))} | ${values.map(formatNumber).join(', ')} |`);
  }
  return lines.join('\n');
}

/** Every round's figure, for readers who want the spread behind a median. */
export function roundsTable(
  results: Results,
  defs: Array<{ key: string; label: string; unit: string }> = [
    ...metrics,
    ...scalePairs.flatMap((pair) => [
      { key: pair.small, label: `${pair.label}, small`, unit: pair.unit },
      { key: pair.large, label: `${pair.label}, large`, unit: pair.unit },
    ]),
  ],
  columns: Columns = berthAndDistribution,
): string {
  const lines = [`| Figure | ${columns.first} rounds | ${columns.second} rounds |`, '|---|---|---|'];
  const rows = defs;
  for (const metric of rows) {
    const berth = results.berth[metric.key];
    const distribution = results.distribution[metric.key];
    if (!berth && !distribution) continue;
    lines.push(`| ${metric.label} (${metric.unit}) | ${(berth ?? []).map(formatNumber).join(', ')} | ${(distribution ?? []).map(formatNumber).join(', ')} |`);
  }
  return lines.join('\n');
}

/**
 * The heading of the scale-out profile's section of docs/performance.md. The profiles each write
 * only their own section, after the rest of the file; `npm run bench` rewrites the rest and keeps them.
 */
export const profileHeading = '## Scale-out profile: PostgreSQL + S3';

/** The heading of the garbage collection profile's section (`npm run bench:gc`). */
export const gcProfileHeading = '## Garbage collection profile';

/**
 * The heading of the section of docs/performance.md kept by hand (figures behind design choices,
 * measured once): `npm run bench` writes it back where it was, after the rounds.
 */
export const keptByHandHeading = '## Measurements behind design choices';

/** The section kept by hand, from its heading to the next section's, if the report has it. */
export function keptByHandSection(text: string): string | undefined {
  const at = sectionStart(text, keptByHandHeading);
  if (at === -1) return undefined;
  const next = text.indexOf('\n## ', at + keptByHandHeading.length);
  return `${text.slice(at, next === -1 ? undefined : next + 1).trimEnd()}\n`;
}

/** Every profile's heading: a profile's section runs from its heading to the next of these, or to the end. */
const profileHeadings = [profileHeading, gcProfileHeading];

function sectionStart(text: string, heading: string): number {
  const at = text.indexOf(`\n${heading}\n`);
  return at === -1 ? -1 : at + 1;
}

/** The profiles' sections of a report (from the first of their headings to the end), if it has any. */
export function profileSection(text: string): string | undefined {
  const starts = profileHeadings.map((heading) => sectionStart(text, heading)).filter((at) => at !== -1);
  return starts.length === 0 ? undefined : text.slice(Math.min(...starts));
}

/**
 * Writes `section` as the section of `heading` in `file`: in place of the one there, or after
 * everything else when there is none. The rest of the file, other profiles' sections included, is kept.
 */
export async function writeProfileSection(file: string, section: string, heading: string = profileHeading): Promise<void> {
  const existing = await readFile(file, 'utf8').catch(() => '');
  const body = `${section.trimEnd()}\n`;
  const at = sectionStart(existing, heading);
  if (at === -1) {
    const rest = existing.trimEnd();
    await writeFile(file, rest ? `${rest}\n\n${body}` : body);
    return;
  }
  const next = profileHeadings.map((other) => sectionStart(existing, other)).filter((start) => start > at).sort((a, b) => a - b)[0];
  const before = existing.slice(0, at).trimEnd();
  const after = next === undefined ? '' : existing.slice(next);
  await writeFile(file, `${before ? `${before}\n\n` : ''}${body}${after ? `\n${after}` : ''}`);
}
