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

export function summarize(results: Results): RowSummary[] {
  return metrics
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

export function resultsTable(rows: RowSummary[]): string {
  const lines = [
    '| Scenario | Unit | Better | Berth | Distribution | Berth/Dist | Target | Verdict | Machine bound | Berth % of bound |',
    '|---|---|---|---:|---:|---:|---|---|---:|---:|',
  ];
  for (const row of rows) {
    const { metric } = row;
    const bound = metric.bound && Number.isFinite(row.bound) ? `${formatNumber(row.bound)} (${metric.bound.label})` : '';
    const share = metric.bound && Number.isFinite(row.bound) ? `${Math.round((100 * row.berth) / row.bound)}%${metric.bound.atLeast ? ` (target ${Math.round(metric.bound.atLeast * 100)}%: ${row.boundVerdict})` : ''}` : '';
    lines.push(
      `| ${metric.label} | ${metric.unit} | ${metric.better === 'higher' ? 'higher' : 'lower'} | ${formatNumber(row.berth)} | ${formatNumber(row.distribution)} | ${Number.isFinite(row.ratio) ? `${row.ratio.toFixed(2)}x` : 'n/a'} | ${targetText(metric.target)} | ${metric.target ? row.verdict : ''} | ${bound} | ${share} |`,
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
export function roundsTable(results: Results): string {
  const lines = ['| Figure | Berth rounds | Distribution rounds |', '|---|---|---|'];
  const rows = [...metrics, ...scalePairs.flatMap((pair) => [
    { key: pair.small, label: `${pair.label}, small`, unit: pair.unit },
    { key: pair.large, label: `${pair.label}, large`, unit: pair.unit },
  ])];
  for (const metric of rows) {
    const berth = results.berth[metric.key];
    const distribution = results.distribution[metric.key];
    if (!berth && !distribution) continue;
    lines.push(`| ${metric.label} (${metric.unit}) | ${(berth ?? []).map(formatNumber).join(', ')} | ${(distribution ?? []).map(formatNumber).join(', ')} |`);
  }
  return lines.join('\n');
}
