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
      const ratio = berth / distribution;
      const bound = metric.bound ? median(results.machine[metric.bound.key] ?? []) : Number.NaN;
      const boundVerdict = metric.bound?.atLeast !== undefined && Number.isFinite(bound) ? (berth / bound >= metric.bound.atLeast ? 'met' : 'missed') : 'n/a';
      return { metric, berth, distribution, ratio, bound, verdict: verdict(metric.target, berth, ratio), boundVerdict };
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
    const share = metric.bound && Number.isFinite(row.bound) ? `${Math.round((100 * row.berth) / row.bound)}%${metric.bound.atLeast ? ` (target ${Math.round(metric.bound.atLeast * 100)}%: ${row.boundVerdict})` : ''}` : '';
    lines.push(
      `| ${metric.label} | ${metric.unit} | ${metric.better === 'higher' ? 'higher' : 'lower'} | ${formatNumber(row.berth)} | ${formatNumber(row.distribution)} | ${Number.isFinite(row.ratio) ? `${row.ratio.toFixed(2)}x` : 'n/a'} | ${targetText(metric.target)} | ${metric.target ? row.verdict : ''} |${bounded ? ` ${bound} | ${share} |` : ''}`,
    );
  }
  return lines.join('\n');
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
 * The heading of the scale-out profile's section of docs/performance.md. That profile writes only
 * its section, the last of the file; `npm run bench` rewrites the rest and keeps it.
 */
export const profileHeading = '## Scale-out profile: PostgreSQL + S3';

/** The scale-out section of a report (from its heading to the end), if it has one. */
export function profileSection(text: string): string | undefined {
  const at = text.indexOf(`\n${profileHeading}\n`);
  return at === -1 ? undefined : text.slice(at + 1);
}

/** Writes `section` as the scale-out section of `file`, replacing the one there, keeping the rest. */
export async function writeProfileSection(file: string, section: string): Promise<void> {
  const existing = await readFile(file, 'utf8').catch(() => '');
  const at = existing.indexOf(`\n${profileHeading}\n`);
  const rest = (at === -1 ? existing : existing.slice(0, at)).trimEnd();
  await writeFile(file, rest ? `${rest}\n\n${section}` : section);
}
