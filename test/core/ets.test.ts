import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type EtsModel,
  etsForecast,
  etsHistoryForecast,
  etsLik,
  fitEts,
  fitEtsForm,
  initialStates,
} from '#core/ets.ts';
import { buildMatrix, fitForecastFeaturizer } from '#core/features.ts';
import type { Table } from '#core/types.ts';

const repo = new URL('../../', import.meta.url).pathname;
const lines = readFileSync(`${repo}data/air-passengers.csv`, 'utf8').trim().split('\n').slice(1);
const values = Float64Array.from(lines, (line) => Number(line.split(',')[1]));
const training = values.subarray(0, 120);

// R 4 / forecast, fitted on AirPassengers' first 120 months, the one-step forecasts of months 121-124
// from the model applied to the whole series without re-estimation (Rscript ets_ref.R):
//   library(forecast); d <- read.csv("data/air-passengers.csv")
//   y <- ts(d[[2]][1:120], frequency = 12); full <- ts(d[[2]], frequency = 12)
//   for (m in c("MAM", "AAA")) { fit <- ets(y, model = m, damped = (m == "AAA"))
//     print(fit$par, digits = 10); print(fit$initstate, digits = 10); print(fit$loglik, digits = 12)
//     print(fitted(ets(full, model = fit, use.initial.values = TRUE))[121:124], digits = 12) }
// R's seasonal states run newest first (s0 is the month before the first value), ours by position.
const rMam: EtsModel = {
  error: 'M',
  trend: 'A',
  season: 'M',
  alpha: 0.3835629006,
  beta: 1.251926911e-4,
  gamma: 0.4732757424,
  phi: 1,
  level: 119.4180247365,
  slope: 1.8947369532,
  seasonal: [
    0.897971941, 0.7805809356, 0.904093672, 1.0384741357, 1.1691573883, 1.1810957524, 1.0776930921,
    0.9811487087, 1.0123202033, 1.0704291581, 0.9789238436, 0.9081111689,
  ].reverse(),
};
const rMamLoglik = -546.767136436;
const rMamForecasts = [352.202744885, 338.877397236, 396.625731898, 393.508093979];
const rAada: EtsModel = {
  error: 'A',
  trend: 'Ad',
  season: 'A',
  alpha: 0.9998341064,
  beta: 1.563023352e-4,
  gamma: 1.076935056e-4,
  phi: 0.9799987949,
  level: 120.683560583,
  slope: 1.721638991,
  seasonal: [
    -23.215454461, -47.011941367, -18.126155254, 15.216301615, 51.045516314, 52.708012296, 31.186368959,
    -5.606128162, -6.765243893, 2.683180151, -29.396544459, -22.717911739,
  ].reverse(),
};
const rAadaLoglik = -604.453913921;
const rAadaForecasts = [337.658301326, 353.473402007, 374.232797341, 396.703220629];

const forecastsOf = (model: EtsModel) =>
  [120, 121, 122, 123].map((n) => etsForecast(values.subarray(0, n), model));

describe('ETS', () => {
  it("computes R's likelihood and one-step forecasts at R's parameters", () => {
    for (const [model, loglik, forecasts] of [
      [rMam, rMamLoglik, rMamForecasts],
      [rAada, rAadaLoglik, rAadaForecasts],
    ] as const) {
      // R prints 10-12 significant digits
      expect(-0.5 * etsLik(training, model)).toBeCloseTo(loglik, 6);
      for (const [k, forecast] of forecastsOf(model).entries()) expect(forecast).toBeCloseTo(forecasts[k], 6);
    }
  });

  it('fits weights and initial states at least as well as R', () => {
    // R's Nelder–Mead starts its simplex with one step, a tenth of the largest parameter (the level,
    // about 120), for smoothing weights below 1 and seasonal terms near 1 alike, so it stops at a
    // local optimum; ours scales each coordinate's step and restarts. Our likelihood must not be lower
    // than R's (0.01 allows rounding in R's printed value); it is 12.6 higher for MAM and 16.6 for
    // A,Ad,A. At another optimum the forecasts differ: within 6% of R's (MAM up to 4.8%, A,Ad,A up to
    // 5.2%), about the size of these months' one-step errors, so the bound says the fit lands on the
    // same model and not a degenerate one, not that it reproduces R's optimum.
    for (const [form, loglik, forecasts] of [
      [rMam, rMamLoglik, rMamForecasts],
      [rAada, rAadaLoglik, rAadaForecasts],
    ] as const) {
      const fit = fitEtsForm(training, 12, form);
      expect(fit.model).toMatchObject({ error: form.error, trend: form.trend, season: form.season });
      expect(-0.5 * fit.lik).toBeGreaterThan(loglik - 0.01);
      for (const [k, forecast] of forecastsOf(fit.model).entries())
        expect(Math.abs(forecast / forecasts[k] - 1)).toBeLessThan(0.06);
    }
  });

  it('fits the weights of the served filter, states fixed from the history, as statsmodels does', () => {
    // Reference (statsmodels 0.13.5, Debian /usr/bin/python3): on log AirPassengers[:120], with the states
    // fixed at ours (initialStates below),
    //   ETSModel(y, error="add", trend="add", seasonal="add", seasonal_periods=12,
    //            initialization_method="known", initial_level=L, initial_trend=B, initial_seasonal=S).fit()
    // gives smoothing_level 0.3670422974730539, smoothing_trend 0.0010185538009398235, smoothing_seasonal
    // 0.5573053464917522, llf 218.90507954584615; with the weights fixed at 0.3, 0.01, 0.2
    // (fit_constrained) llf 205.32482747390705. llf = −lik/2 − n/2·(ln 2π + 1 − ln n) for lik = n·ln SSE.
    const logs = training.map(Math.log);
    const form = { error: 'A', trend: 'A', season: 'A' } as const;
    const n = logs.length;
    const llf = (lik: number) => -0.5 * lik - (n / 2) * (Math.log(2 * Math.PI) + 1 - Math.log(n));
    const states = initialStates(logs, 12, form);
    // Act
    const fit = fitEtsForm(logs, 12, form, 'history');
    // Assess: the same filter (its likelihood at fixed weights), the same optimum, the states untouched
    const fixed = { ...form, alpha: 0.3, beta: 0.01, gamma: 0.2, phi: 1, ...states };
    expect(llf(etsLik(logs, fixed))).toBeCloseTo(205.32482747390705, 8);
    expect(fit.model.alpha).toBeCloseTo(0.3670422974730539, 4);
    expect(fit.model.beta).toBeCloseTo(0.0010185538009398235, 5);
    expect(fit.model.gamma).toBeCloseTo(0.5573053464917522, 4);
    expect(llf(fit.lik)).toBeGreaterThan(218.90507954584615 - 1e-6);
    expect(fit.model).toMatchObject(states);
  });

  it('is a featurizer base fitted on the training part only, its forecast the base of every row', () => {
    const air: Table = {
      rowCount: lines.length,
      columns: [
        { name: 'month', kind: 'text', values: lines.map((line) => line.split(',')[0]) },
        { name: 'value', kind: 'numeric', values },
      ],
    };
    const options = { target: 'value', time: 'month', lags: 12, season: 12, monthOfYear: false };
    const featurizer = fitForecastFeaturizer(air, { ...options, transform: 'ets', trainingRows: 120 });
    // The holdout does not move the fit: the same model from the first 120 values alone
    const alone = fitForecastFeaturizer(
      {
        rowCount: 120,
        columns: air.columns.map((column) => ({ ...column, values: column.values.slice(0, 120) })),
      } as Table,
      { ...options, transform: 'ets' },
    );
    expect(featurizer.ets).toEqual(alone.ets);
    const matrix = buildMatrix(featurizer, air);
    const last = matrix.rowCount - 1;
    const t = matrix.rows[last];
    expect(matrix.base[last]).toBeCloseTo(
      Math.log(etsHistoryForecast(values.subarray(0, t), featurizer.ets!)),
      12,
    );
    expect(matrix.y[last]).toBeCloseTo(Math.log(values[t]) - matrix.base[last], 12);
  });

  it('forecasts a history that starts in any month: states from the history, seasons in phase', () => {
    // Prepare: a multiplicative season on 1%-a-month growth, and a model fitted on its first 120 months.
    const series = Float64Array.from(
      { length: 160 },
      (_, t) => 100 * 1.01 ** t * (1 + 0.3 * Math.sin((2 * Math.PI * t) / 12)),
    );
    const { model } = fitEts(series.subarray(0, 120), 12);
    const t = 150;
    // Act: the forecast of month 150 from the whole series and from requests starting 5, 17 and 100 months in
    const forecasts = [0, 5, 17, 100].map((start) => etsHistoryForecast(series.subarray(start, t), model));
    // Assess: every start forecasts the month within 1%; the fitted states, run from a start that is not
    // the training series' first month, are out of phase (what a request of recent months used to get).
    for (const forecast of forecasts) expect(Math.abs(forecast / series[t] - 1)).toBeLessThan(0.01);
    expect(Math.abs(etsForecast(series.subarray(5, t), model) / series[t] - 1)).toBeGreaterThan(0.05);
  });
});
