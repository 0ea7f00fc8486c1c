/**
 * Numbers, metrics, times and durations as a report shows them. Deterministic (no locale, UTC), so a
 * page renders the same on every machine and its tests can assert exact text.
 */
import { isMetricName, METRICS } from '../metrics.ts';

/**
 * A number with `digits` significant digits, no trailing zeros, and thousands separators above 10 000.
 * Non-finite values show as an em dash.
 * @example formatNumber(0.912345) // '0.9123'
 * @example formatNumber(123456.7) // '123,457'
 */
export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 10_000) return Math.round(value).toLocaleString('en-US');
  if (value !== 0 && Math.abs(value) < 1e-4) return value.toExponential(Math.max(0, digits - 3));
  return String(Number(value.toPrecision(digits)));
}

/**
 * A p-value: two significant digits, scientific below 0.001.
 * @example formatPValue(0.04321) // '0.043'
 * @example formatPValue(1.2e-9) // '1.2e-9'
 */
export function formatPValue(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value !== 0 && value < 0.001) return value.toExponential(1);
  return String(Number(value.toPrecision(2)));
}

/** The catalogue label of a metric (`'mape'` → `'MAPE'`), or the name itself when unknown. */
export function metricLabel(metric: string): string {
  return isMetricName(metric) ? METRICS[metric].label : metric;
}

/** Whether larger values of a metric are better (unknown metrics count as lower-is-better). */
export function higherIsBetter(metric: string): boolean {
  return isMetricName(metric) && METRICS[metric].direction === 'higher';
}

/** Whether a metric's values are already in percent (`2.55` means 2.55%). */
export function isPercentMetric(metric: string): boolean {
  return isMetricName(metric) && METRICS[metric].unit === 'percent';
}

/**
 * A metric value with its unit.
 * @example formatMetric('mape', 4.2531) // '4.253%'
 * @example formatMetric('auc', 0.99123) // '0.9912'
 */
export function formatMetric(metric: string, value: number | null | undefined): string {
  const text = formatNumber(value);
  if (text === '—') return text;
  return isPercentMetric(metric) ? `${text}%` : text;
}

/**
 * An ISO timestamp as `YYYY-MM-DD HH:MM UTC`; anything unparsable is shown as it is.
 * @example formatTime('2026-01-01T08:05:09.000Z') // '2026-01-01 08:05 UTC'
 */
export function formatTime(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** An ISO timestamp as `YYYY-MM-DD` (unparsable ones as they are). */
export function formatDate(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Date(time).toISOString().slice(0, 10);
}

/**
 * Milliseconds as a short duration.
 * @example formatDuration(950) // '950 ms'
 * @example formatDuration(75_000) // '1 min 15 s'
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toPrecision(3))} s`;
  const totalSeconds = Math.round(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  return hours > 0 ? `${hours} h ${minutes} min` : `${minutes} min ${seconds} s`;
}

/**
 * Each step of a run with how long it took, in the order the steps started; a step still under way
 * shows `…`. An em dash for a run without step times (runs recorded before they were kept).
 * @example formatStepTimes({ validate: { seconds: 0.4 }, merge: { seconds: 1.25 }, search: {} })
 * // 'validate 400 ms · merge 1.25 s · search …'
 */
export function formatStepTimes(durations: Record<string, { seconds?: number }> | undefined): string {
  const steps = Object.entries(durations ?? {});
  if (steps.length === 0) return '—';
  return steps
    .map(([step, { seconds }]) => `${step} ${seconds === undefined ? '…' : formatDuration(seconds * 1000)}`)
    .join(' · ');
}

/** The time between two ISO timestamps, or an em dash when either is missing. */
export function formatElapsed(startIso: string, endIso: string | undefined): string {
  if (endIso === undefined) return '—';
  return formatDuration(Date.parse(endIso) - Date.parse(startIso));
}

/**
 * Hyperparameters as one short line, keys sorted.
 * @example formatParams({ nTrees: 300, maxDepth: 0 }) // 'maxDepth 0 · nTrees 300'
 */
export function formatParams(params: Record<string, unknown>): string {
  const entries = Object.entries(params)
    .filter(([, value]) => value !== undefined && value !== null)
    .sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return 'defaults';
  return entries
    .map(([key, value]) => `${key} ${typeof value === 'number' ? formatNumber(value) : String(value)}`)
    .join(' · ');
}

/** What a run's record says of its dataset (the registry's `RunDataset` is assignable to it). */
export interface DatasetSummary {
  rows: number;
  drops: { count: number };
  history: {
    window: { rows: number } | { months: number };
    outOfWindow: number;
    totalDrops: number;
  };
}

/**
 * A run's dataset as one line: its size, what the history window left out, and the drops merged (by
 * this run, and into the model's datasets in all). An em dash for a run that merged nothing.
 * @example formatDataset({ rows: 300, drops: { count: 1 }, history: { window: { rows: 300 }, outOfWindow: 200, totalDrops: 3 } })
 * // '300 rows, 200 older left out by the 300-row window · 1 drop merged, 3 in all'
 */
export function formatDataset(dataset: DatasetSummary | undefined): string {
  if (dataset === undefined) return '—';
  const { window, outOfWindow, totalDrops } = dataset.history;
  const [unit, size] = 'rows' in window ? ['row', window.rows] : ['month', window.months];
  const count = (n: number, noun: string) => `${formatNumber(n)} ${noun}${n === 1 ? '' : 's'}`;
  const cut =
    outOfWindow > 0
      ? `, ${formatNumber(outOfWindow)} older left out by the ${formatNumber(size)}-${unit} window`
      : '';
  return `${count(dataset.rows, unit)}${cut} · ${count(dataset.drops.count, 'drop')} merged, ${formatNumber(totalDrops)} in all`;
}
