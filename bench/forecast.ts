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
 *   npm run bench:forecast -- --extra            # the held-out series of data/bench-extra/ instead
 */

import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { numericValues } from '#core/features.ts';
import { mape } from '#core/metrics.ts';
import { backtest } from '#core/training.ts';
import { readTable } from '../bin/commands/files.ts';
import {
  ANCHORS,
  type Anchor,
  anchorForecasts,
  benchSeries,
  geometricMean,
  HOLDOUT_MONTHS as HOLDOUT,
  meanSd,
  minimalForecastSpec,
} from './forecast-anchors.ts';

const { values: options } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    series: { type: 'string' },
    extra: { type: 'boolean', default: false },
  },
});
const seeds = Array.from({ length: Number(options.seeds) }, (_, i) => i + 1);
const wanted = options.series?.split(',');
const everySeries = benchSeries(options.extra);
const paths = everySeries.filter((path) => wanted === undefined || wanted.includes(basename(path, '.csv')));
if (paths.length === 0) throw new Error(`no series matches --series ${options.series}`);
const files = paths.map((path) => basename(path, '.csv'));

const anchors = anchorForecasts(paths, HOLDOUT);
const rows: string[] = [];
const ratios: { name: string; ratio: number }[] = [];
let totalSeconds = 0;
let runs = 0;
for (const [index, name] of files.entries()) {
  const path = paths[index];
  const spec = minimalForecastSpec();
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

const geometric = geometricMean(ratios.map(({ ratio }) => ratio));
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
  `\ngeometric-mean ratio ${geometric.toFixed(3)}; worst ${worst.name} ${worst.ratio.toFixed(2)}×; ` +
    `backtest ${(totalSeconds / runs).toFixed(1)} s per run on average`,
);
