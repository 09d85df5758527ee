import { type MetricDef, machineMetrics, metrics, targetText, verdict } from './metrics.js';
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
  for (const metric of metrics) {
    const berth = results.berth[metric.key];
    const distribution = results.distribution[metric.key];
    if (!berth && !distribution) continue;
    lines.push(`| ${metric.label} (${metric.unit}) | ${(berth ?? []).map(formatNumber).join(', ')} | ${(distribution ?? []).map(formatNumber).join(', ')} |`);
  }
  return lines.join('\n');
}
