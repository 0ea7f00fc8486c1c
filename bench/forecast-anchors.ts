/**
 * The classical anchors the forecast benches compare with, on the same series and holdout: SARIMA's
 * airline model on logs (statsmodels, `bench/forecast_sarima.py`) and R forecast's `auto.arima` and `ets`
 * (`bench/forecast_r.R`), each fitted on all but the last `holdout` months and applied without
 * re-estimation, so its forecast of a holdout month uses only the actual months before it.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type ModelSpec, parseSpec } from '#core/spec.ts';

/** Months each series is scored on, one step ahead. */
export const HOLDOUT_MONTHS = 24;

/**
 * The minimal spec a user would write for a monthly series (#11): no transform, no search space.
 * @param seed the spec's seed; the spec's default when omitted
 */
export function minimalForecastSpec(seed?: number): ModelSpec {
  return parseSpec({
    name: 'bench',
    task: 'forecast',
    target: 'value',
    time: 'month',
    lags: 12,
    holdout: HOLDOUT_MONTHS,
    metric: 'mape',
    ...(seed === undefined ? {} : { seed }),
  });
}

export const ANCHORS = ['sarima-airline-log', 'auto.arima', 'ets'] as const;
export type Anchor = (typeof ANCHORS)[number];

/**
 * AirPassengers (the shipped example's data) and every series of `data/bench/`, in order; with `extra`,
 * the held-out series of `data/bench-extra/` instead (never used to build or tune the forecaster).
 */
export function benchSeries(extra = false): string[] {
  const data = extra ? 'data/bench-extra' : 'data/bench';
  return [
    ...(extra ? [] : ['data/air-passengers.csv']),
    ...readdirSync(data)
      .filter((file) => file.endsWith('.csv'))
      .sort()
      .map((file) => join(data, file)),
  ];
}

/** One-step forecasts of the last `holdout` months per file and anchor. */
export function anchorForecasts(paths: string[], holdout: number): Map<string, Map<Anchor, number[]>> {
  const out = new Map<string, Map<Anchor, number[]>>(paths.map((path) => [path, new Map()]));
  const sarima = execFileSync('/usr/bin/python3', ['bench/forecast_sarima.py', String(holdout), ...paths], {
    encoding: 'utf8',
  });
  for (const line of sarima.trim().split('\n')) {
    const { file, forecasts } = JSON.parse(line) as { file: string; forecasts: number[] };
    out.get(file)!.set('sarima-airline-log', forecasts);
  }
  const r = execFileSync('Rscript', ['bench/forecast_r.R', String(holdout), ...paths], { encoding: 'utf8' });
  for (const line of r.trim().split('\n')) {
    const [file, method, ...values] = line.split('\t');
    out.get(file)!.set(method as Anchor, values.map(Number));
  }
  return out;
}

/** Mean and sample standard deviation. */
export function meanSd(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance =
    values.length > 1 ? values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, sd: Math.sqrt(variance) };
}

/** Geometric mean of positive numbers. */
export function geometricMean(values: number[]): number {
  return Math.exp(values.reduce((sum, value) => sum + Math.log(value), 0) / values.length);
}
