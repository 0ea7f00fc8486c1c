/**
 * The classical bases the default forecaster corrects (airline model, Holt-Winters), the selection that
 * scores every transform on the same months, and the promise that the served model forecasts exactly
 * what the backtest scored.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  airlineForecast,
  CLASSICAL_CORRECTION,
  type ForecastFeaturizer,
  feasibleTransforms,
  fitAirline,
  fitHoltWinters,
  fitHoltWintersOnLogs,
  forecastFeatures,
  type HoltWintersWeights,
  holtWintersForecast,
  invertForecast,
  numericValues,
} from '#core/features.ts';
import { loadModel, packModel, predictInstances } from '#core/model.ts';
import { seededRandom } from '#core/random.ts';
import { parseSpec } from '#core/spec.ts';
import { FIT, HOLDOUT, rowsWithRole } from '#core/splits.ts';
import { buildFeatureSets, fitFinal, predictPositions } from '#core/training.ts';
import type { Table } from '#core/types.ts';
import { validateDrop } from '#core/validate.ts';

const repo = new URL('../../', import.meta.url).pathname;
const csv = readFileSync(`${repo}data/air-passengers.csv`, 'utf8');
const passengers = csv
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => Number(line.split(',')[1]));
const logs = passengers.map(Math.log);
/** Nottingham's monthly mean temperatures (°F, R's `nottem`): a season that does not grow with the level. */
const temperatureCsv = readFileSync(`${repo}data/bench/nottingham-temperature.csv`, 'utf8');
const temperatures = temperatureCsv
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => Number(line.split(',')[1]));
/** The minimal spec a user writes: no transform, no search space. */
const minimal = (overrides: Record<string, unknown> = {}) =>
  parseSpec({
    name: 'air-passengers',
    task: 'forecast',
    target: 'value',
    time: 'month',
    lags: 12,
    holdout: 24,
    metric: 'mape',
    ...overrides,
  });

async function tableOf(text: string, spec: ReturnType<typeof parseSpec>): Promise<Table> {
  const report = await validateDrop(new TextEncoder().encode(text), spec);
  if (!report.table) throw new Error(JSON.stringify(report.problems.slice(0, 2)));
  return report.table;
}

/** y = 100 + 2t + a fixed seasonal swing: both classical models forecast it exactly once started. */
const deterministic = Array.from(
  { length: 60 },
  (_, t) => 100 + 2 * t + 10 * Math.sin((2 * Math.PI * t) / 12),
);

describe('airlineForecast', () => {
  it('matches statsmodels one step ahead on AirPassengers with its own coefficients', () => {
    // Reference: SARIMAX(log y[:120], order=(0,1,1), seasonal_order=(0,1,1,12)).fit(disp=False) gives
    // ma.L1 = -0.34236672, ma.S.L12 = -0.54058305; .apply(log y) one-step forecasts of months 142-144,
    // exponentiated: 447.00070124664467, 401.33483772037897, 437.9013231559375 (statsmodels 0.13.5,
    // Debian /usr/bin/python3). Our filter starts its innovations at 0, statsmodels' Kalman filter from
    // the exact likelihood: after 140 months the two agree to 5e-5 (2.1e-5 measured).
    const coefficients = { theta: 0.34236672, seasonalTheta: 0.54058305 };
    const expected = [447.00070124664467, 401.33483772037897, 437.9013231559375];
    // Act
    const forecasts = [141, 142, 143].map((t) =>
      Math.exp(airlineForecast(logs.slice(0, t), 12, coefficients)),
    );
    // Assess
    forecasts.forEach((value, i) => {
      expect(Math.abs(value - expected[i]) / expected[i]).toBeLessThan(5e-5);
    });
  });

  it('fits coefficients near statsmodels’ maximum likelihood ones on the training part', () => {
    // Conditional least squares on a 0.05 grid; statsmodels (above) gives θ 0.342, Θ 0.541.
    expect(fitAirline(logs.slice(0, 120), 12)).toEqual({ theta: 0.35, seasonalTheta: 0.55 });
  });

  it('forecasts a linear trend with a fixed season exactly', () => {
    expect(airlineForecast(deterministic.slice(0, 59), 12, { theta: 0.4, seasonalTheta: 0.6 })).toBeCloseTo(
      deterministic[59],
      9,
    );
  });
});

describe('holtWintersForecast', () => {
  it('forecasts a linear trend with a fixed season exactly, whatever its weights', () => {
    for (const weights of [
      { alpha: 0.2, beta: 0.05, gamma: 0.1 },
      { alpha: 0.9, beta: 0, gamma: 0.5 },
    ]) {
      expect(holtWintersForecast(deterministic.slice(0, 59), 12, weights)).toBeCloseTo(deterministic[59], 9);
    }
  });

  it('without a trend, forecasts as statsmodels’ ETS(A,N,A) with γ·(1 − α) as its seasonal weight', () => {
    // Our seasonal update γ(y − level) + (1 − γ)s is ETS's s + γ*·e with γ* = γ(1 − α). Reference:
    // ETSModel(log y[12:120], error='add', trend=None, seasonal='add', seasonal_periods=12,
    // initialization_method='known', initial_level=L, initial_seasonal=S) with smoothing_level 0.3 and
    // smoothing_seasonal 0.14 fixed, L and S our start from the first two seasons (L = ȳ₁ + 5.5·(ȳ₂ − ȳ₁)/12,
    // S[i] = y[i] − (ȳ₁ + (i − 5.5)·(ȳ₂ − ȳ₁)/12)); fittedvalues[-3:] and forecast(1) (statsmodels 0.13.5,
    // Debian /usr/bin/python3).
    const expected = [5.86896373635905, 5.734426057804698, 5.853441785480503, 5.863574054126795];
    const weights = { alpha: 0.3, beta: 0, gamma: 0.2, trend: false };
    // Act
    const forecasts = [117, 118, 119, 120].map((t) => holtWintersForecast(logs.slice(0, t), 12, weights));
    // Assess
    forecasts.forEach((value, i) => {
      expect(value).toBeCloseTo(expected[i], 12);
    });
  });

  it('starts from the least-squares states of the whole history as statsmodels’ ETS estimates them', () => {
    // Reference (statsmodels 0.13.5, Debian /usr/bin/python3): ETSModel(log y[:120], error='add',
    // trend=T, seasonal='add', seasonal_periods=12, initialization_method='estimated')
    // .fit_constrained({smoothing_level: 0.3, smoothing_seasonal: 0.14[, smoothing_trend: 0.015]}) — our
    // α 0.3, γ 0.2, β 0.05 in ETS's error-correction form (γ(1 − α), αβ) — with its initial states
    // estimated by likelihood (least squares for an additive error): forecast(1), fittedvalues[-3:]
    // and sse. Its optimiser stops near the optimum; ours solves it exactly, so our SSE is not above its.
    const references = [
      {
        weights: { alpha: 0.3, beta: 0, gamma: 0.2, trend: false },
        forecast: 5.856018993736883,
        fitted: [5.871885720427046, 5.7358680756324025, 5.855129871587104],
        sse: 0.29885132896443733,
      },
      {
        weights: { alpha: 0.3, beta: 0.05, gamma: 0.2 },
        forecast: 5.880415568246724,
        fitted: [5.89437883375054, 5.758601355179713, 5.877886188900606],
        sse: 0.19582980800476496,
      },
    ];
    for (const { weights, forecast, fitted, sse } of references) {
      const training = logs.slice(0, 120);
      const errors = new Float64Array(120);
      // Act
      const ours = holtWintersForecast(training, 12, { ...weights, states: 'least-squares' }, errors);
      // Assess
      expect(Math.abs(ours - forecast)).toBeLessThan(1e-6);
      [117, 118, 119].forEach((t, i) => {
        expect(Math.abs(training[t] - errors[t] - fitted[i])).toBeLessThan(1e-6);
      });
      expect(errors.reduce((sum, e) => sum + e * e, 0)).toBeLessThanOrEqual(sse + 1e-12);
    }
  });

  it('forecasts from least-squares states a history that starts in any month', () => {
    // The linear trend with a fixed season: every start fits it exactly, whatever the weights
    for (const start of [0, 5, 17, 30]) {
      const weights = { alpha: 0.4, beta: 0.1, gamma: 0.3, states: 'least-squares' } as const;
      expect(holtWintersForecast(deterministic.slice(start, 59), 12, weights)).toBeCloseTo(
        deterministic[59],
        6,
      );
    }
  });

  it('keeps a trend the training part carries and drops one it does not, by AIC', () => {
    // Prepare: AirPassengers' logs grow; a fixed season with seeded noise around a constant level does not
    const random = seededRandom(3);
    const flat = Array.from(
      { length: 120 },
      (_, t) => 50 + 10 * Math.sin((2 * Math.PI * t) / 12) + 2 * (random() - 0.5),
    );
    // Act / Assess
    expect(fitHoltWinters(logs.slice(0, 120), 12).trend).not.toBe(false);
    expect(fitHoltWinters(flat, 12).trend).toBe(false);
  });

  it('fits weights whose one-step errors on the training part beat other points of its grid', () => {
    // Prepare
    const training = logs.slice(0, 120);
    // Scored as the grid scores them: one-step errors from the first two seasons' start.
    const sse = (weights: HoltWintersWeights) => {
      const errors = new Float64Array(training.length);
      holtWintersForecast(training, 12, { ...weights, states: 'first-seasons' }, errors);
      return errors.slice(25).reduce((sum, e) => sum + e * e, 0);
    };
    // Act
    const best = fitHoltWinters(training, 12);
    // Assess: the weights forecast from least-squares states, and beat the grid's other points
    expect(best.states).toBe('least-squares');
    for (const alpha of [0.05, 0.3, 0.9]) {
      for (const gamma of [0.01, 0.2, 0.7]) {
        expect(sse(best)).toBeLessThanOrEqual(sse({ alpha, beta: best.beta, gamma }));
      }
    }
  });
});

describe('fitHoltWintersOnLogs', () => {
  it('keeps logs for a season that grows with the level and the values for one that does not, as R’s ets', () => {
    // Reference (R 4, forecast, Debian r-cran-forecast): ets(ts(head(AirPassengers, 120), frequency = 12))
    // $method is "ETS(M,Ad,M)" (a multiplicative season), and for the first 216 months of
    // data/bench/nottingham-temperature.csv (R's nottem), read.csv(…) then ets(ts(head(d$value, 216),
    // frequency = 12))$method is "ETS(A,N,A)" (an additive season).
    // Act
    const growing = fitHoltWintersOnLogs(passengers.slice(0, 120), 12);
    const steady = fitHoltWintersOnLogs(temperatures.slice(0, 216), 12);
    // Assess: the model on logs is the weights fitHoltWinters gives on the logs
    expect(growing).toEqual({ onLogs: fitHoltWinters(logs.slice(0, 120), 12) });
    expect(steady).toEqual({
      onLogs: fitHoltWinters(temperatures.slice(0, 216).map(Math.log), 12),
      onValues: fitHoltWinters(temperatures.slice(0, 216), 12),
    });
  });

  it('chooses the same way whatever the unit of the values (the logarithm’s Jacobian in the AIC)', () => {
    // Scaling the values by c adds 2·m·ln c to both AICs: to the values' model through its SSE, to the
    // logs' model through the Jacobian. Without the Jacobian, thousandths of a degree would choose logs.
    for (const series of [passengers.slice(0, 120), temperatures.slice(0, 216)]) {
      const choice = fitHoltWintersOnLogs(series, 12).onValues !== undefined;
      for (const unit of [1e-3, 1e3]) {
        // Act
        const scaled = fitHoltWintersOnLogs(
          series.map((value) => value * unit),
          12,
        );
        // Assess
        expect(scaled.onValues !== undefined).toBe(choice);
      }
    }
  });

  it('forecasts from the model on logs where the one on the values forecasts no positive value', async () => {
    // Prepare: the temperatures' holt-winters-log featurizer (the values' model chosen), and a history
    // falling by 2 a month to 1, which that model (with a trend) forecasts below 0
    const spec = minimal({ featurize: { transform: 'holt-winters-log' } });
    const [set] = buildFeatureSets(spec, await tableOf(temperatureCsv, spec));
    const featurizer = set.featurizer as ForecastFeaturizer;
    featurizer.holtWintersOnValues = { alpha: 0.5, beta: 0.1, gamma: 0.1, states: 'least-squares' };
    const falling = Array.from({ length: 48 }, (_, t) => 1 + (47 - t) * 2 + (t % 2 ? 0.5 : 0));
    const steady = temperatures.slice(0, 48);
    const out = new Float64Array(12);
    // Act / Assess
    expect(holtWintersForecast(falling, 12, featurizer.holtWintersOnValues)).toBeLessThan(0);
    expect(forecastFeatures(featurizer, falling, out)).toBe(
      holtWintersForecast(falling.map(Math.log), 12, featurizer.holtWinters!),
    );
    expect(forecastFeatures(featurizer, steady, out)).toBe(
      Math.log(holtWintersForecast(steady, 12, featurizer.holtWintersOnValues)),
    );
  });
});

describe('the default forecaster', () => {
  it('tries the classical bases and scores every transform on the same training months', async () => {
    // Prepare
    const spec = minimal();
    const table = await tableOf(csv, spec);
    // Act
    const sets = buildFeatureSets(spec, table);
    // Assess: five variants, one horizon, and the last scored months are the same for all
    expect(sets.map((set) => set.variant)).toEqual(feasibleTransforms(numericValues(table, 'value')));
    expect(sets.map((set) => set.variant)).toContain('classical-log');
    expect(new Set(sets.map((set) => set.horizon)).size).toBe(1);
    const lastTrainingRow = sets.map((set) => {
      const train = rowsWithRole(set.roles, FIT);
      return set.matrix.rows[train[train.length - 1]];
    });
    expect(new Set(lastTrainingRow).size).toBe(1);
  });

  it('adds a quarter of the forest’s correction to a classical base, and all of it to a ratio', async () => {
    // Prepare
    const spec = minimal();
    const sets = buildFeatureSets(spec, await tableOf(csv, spec));
    const classical = sets.find((set) => set.variant === 'classical-log')!.featurizer as ForecastFeaturizer;
    const ratio = sets.find((set) => set.variant === 'seasonal-log-ratio')!.featurizer as ForecastFeaturizer;
    // Act / Assess: base ln 400, forest prediction 0.1 (a 10% log correction)
    expect(classical.correction).toBe(CLASSICAL_CORRECTION);
    expect(invertForecast(classical, 0.1, Math.log(400))).toBeCloseTo(400 * Math.exp(0.025), 9);
    expect(invertForecast(ratio, 0.1, Math.log(400))).toBeCloseTo(400 * Math.exp(0.1), 9);
  });

  it('fits the classical coefficients on the training part only', async () => {
    // Prepare: the same series with its holdout months changed beyond recognition
    const spec = minimal({ featurize: { transform: 'classical-log' } });
    const lines = csv.trim().split('\n');
    const changed = lines.map((line, i) => (i > lines.length - 25 ? line.replace(/,\d+$/, ',900') : line));
    // Act
    const [original] = buildFeatureSets(spec, await tableOf(csv, spec));
    const [edited] = buildFeatureSets(spec, await tableOf(`${changed.join('\n')}\n`, spec));
    // Assess
    const coefficients = (featurizer: unknown) => {
      const { airline, holtWinters, holtWintersOnValues } = featurizer as ForecastFeaturizer;
      return { airline, holtWinters, holtWintersOnValues };
    };
    expect(coefficients(edited.featurizer)).toEqual(coefficients(original.featurizer));
  });

  it.each([
    ['AirPassengers (Holt-Winters on logs)', csv, passengers],
    ['Nottingham temperatures (Holt-Winters on the values)', temperatureCsv, temperatures],
  ])('serves from its artifact the very forecasts the backtest scored: %s', async (_, text, series) => {
    // Prepare: each classical base, fitted as the backtest fits it
    const spec = minimal();
    const table = await tableOf(text, spec);
    const sets = buildFeatureSets(spec, table);
    const holtWinters = sets.find((s) => s.variant === 'holt-winters-log')!.featurizer as ForecastFeaturizer;
    expect(holtWinters.holtWintersOnValues !== undefined).toBe(series === temperatures);
    for (const set of sets.filter((s) => s.variant !== 'log-ratio-last')) {
      const forest = await fitFinal(set, { nTrees: 20 }, { engine: 'fast', seed: 1 });
      const holdout = rowsWithRole(set.roles, HOLDOUT);
      const scored = predictPositions(set, forest, holdout);
      const model = loadModel(
        packModel({
          meta: {
            model: spec.name,
            task: 'forecast',
            engine: 'fast',
            params: forest.params,
            seed: 1,
            signature: { target: 'value', features: set.featurizer.featureNames },
            data: { rows: table.rowCount, trainRows: 0, holdoutRows: holdout.length },
            metrics: {},
            codeVersion: 'test',
            createdAt: '2026-12-04T00:00:00Z',
          },
          featurizer: set.featurizer,
          forest,
        }),
      );
      // Act: a request per holdout month with the whole history before it
      const served = predictInstances(
        model,
        Array.from(holdout, (position) => ({ history: series.slice(0, set.matrix.rows[position]) })),
      );
      // Assess
      served.forEach((prediction, i) => {
        expect(Math.abs(prediction.value! - scored[i]) / scored[i]).toBeLessThan(1e-12);
      });
    }
  });
});
