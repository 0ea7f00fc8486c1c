/**
 * The forecast benchmark: driftline's default forecaster (the minimal spec, no transform and no search
 * space given) against three classical anchors on public monthly series (`data/bench/`, provenance in
 * `data/README.md`), each scored one step ahead on the last 24 months:
 *
 * - SARIMA(0,1,1)(0,1,1)₁₂ on log values (the airline model), statsmodels (`bench/forecast_sarima.py`);
 * - R forecast's `auto.arima` and `ets` (`bench/forecast_r.R`).
 *
 * Every anchor is fitted on all but the last 24 months and applied to the whole series without
 * re-estimation (ets keeps its initial states too), so its forecast of a holdout month uses the actual
 * months before it and nothing it learned from the holdout, as ours does.
 * Prints per series our MAPE (mean ± sd over seeds), each anchor's, and our ratio to the best anchor,
 * then the geometric mean of the ratios and the worst.
 *
 *   npm run bench:forecast                       # every series, seeds 1..3
 *   npm run bench:forecast -- --seeds 5 --series air-passengers,us-acc-deaths
 */

import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { numericValues } from '#core/features.ts';
import { mape } from '#core/metrics.ts';
import { parseSpec } from '#core/spec.ts';
import { backtest } from '#core/training.ts';
import { readTable } from '../bin/commands/files.ts';

const HOLDOUT = 24;
const DATA = 'data/bench';
/** AirPassengers is the shipped example's data set; the other series live in {@link DATA}. */
const AIR_PASSENGERS = 'data/air-passengers.csv';
const ANCHORS = ['sarima-airline-log', 'auto.arima', 'ets'] as const;
type Anchor = (typeof ANCHORS)[number];

const { values: options } = parseArgs({
  options: { seeds: { type: 'string', default: '3' }, series: { type: 'string' } },
});
const seeds = Array.from({ length: Number(options.seeds) }, (_, i) => i + 1);
const wanted = options.series?.split(',');
const everySeries = [
  AIR_PASSENGERS,
  ...readdirSync(DATA)
    .filter((file) => file.endsWith('.csv'))
    .sort()
    .map((file) => join(DATA, file)),
];
const paths = everySeries.filter((path) => wanted === undefined || wanted.includes(basename(path, '.csv')));
if (paths.length === 0) throw new Error(`no series matches --series ${options.series}`);
const files = paths.map((path) => basename(path, '.csv'));

/** One-step forecasts of the last HOLDOUT months per file and anchor. */
function anchorForecasts(): Map<string, Map<Anchor, number[]>> {
  const out = new Map<string, Map<Anchor, number[]>>(paths.map((path) => [path, new Map()]));
  const sarima = execFileSync('/usr/bin/python3', ['bench/forecast_sarima.py', String(HOLDOUT), ...paths], {
    encoding: 'utf8',
  });
  for (const line of sarima.trim().split('\n')) {
    const { file, forecasts } = JSON.parse(line) as { file: string; forecasts: number[] };
    out.get(file)!.set('sarima-airline-log', forecasts);
  }
  const r = execFileSync('Rscript', ['bench/forecast_r.R', String(HOLDOUT), ...paths], { encoding: 'utf8' });
  for (const line of r.trim().split('\n')) {
    const [file, method, ...values] = line.split('\t');
    out.get(file)!.set(method as Anchor, values.map(Number));
  }
  return out;
}

function meanSd(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance =
    values.length > 1 ? values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, sd: Math.sqrt(variance) };
}

const anchors = anchorForecasts();
const rows: string[] = [];
const ratios: { name: string; ratio: number }[] = [];
let totalSeconds = 0;
let runs = 0;
for (const [index, name] of files.entries()) {
  const path = paths[index];
  const spec = parseSpec({
    name: 'bench',
    task: 'forecast',
    target: 'value',
    time: 'month',
    lags: 12,
    holdout: HOLDOUT,
    metric: 'mape',
  });
  const table = await readTable(path, spec);
  const actual = Array.from(numericValues(table, 'value').subarray(-HOLDOUT));
  const ours: number[] = [];
  const chosen = new Set<string>();
  for (const seed of seeds) {
    const started = performance.now();
    const result = await backtest({ ...spec, seed }, table, { engine: 'fast' });
    totalSeconds += (performance.now() - started) / 1000;
    runs++;
    ours.push(result.metrics.mape);
    chosen.add(result.variant);
  }
  const anchorMape = Object.fromEntries(
    ANCHORS.map((anchor) => [anchor, mape(actual, anchors.get(path)!.get(anchor)!)]),
  ) as Record<Anchor, number>;
  const best = Math.min(...ANCHORS.map((anchor) => anchorMape[anchor]));
  const { mean, sd } = meanSd(ours);
  const ratio = mean / best;
  ratios.push({ name, ratio });
  rows.push(
    `| ${name} | ${table.rowCount} | ${mean.toFixed(2)} ± ${sd.toFixed(2)} | ${ANCHORS.map((anchor) => anchorMape[anchor].toFixed(2)).join(' | ')} | ${ratio.toFixed(2)} | ${[...chosen].join(', ')} |`,
  );
}

const geometricMean = Math.exp(ratios.reduce((sum, { ratio }) => sum + Math.log(ratio), 0) / ratios.length);
const worst = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
console.log(
  `One-step MAPE (%) on the last ${HOLDOUT} months; driftline: minimal spec, mean ± sd over seeds ${seeds.join(', ')}\n`,
);
console.log(
  '| series | months | driftline | SARIMA airline (log) | auto.arima | ets | ratio to best anchor | variants chosen |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
console.log(
  `\ngeometric-mean ratio ${geometricMean.toFixed(3)}; worst ${worst.name} ${worst.ratio.toFixed(2)}×; ` +
    `backtest ${(totalSeconds / runs).toFixed(1)} s per run on average`,
);
