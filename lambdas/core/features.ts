/**
 * Featurizers: how a table of raw data becomes the feature matrix a forest learns from, and how one
 * serving instance becomes one feature row. A featurizer is fitted on training data, is plain JSON,
 * and is stored inside the model artifact so that serving applies exactly the transform training used.
 */
import { type EtsModel, etsHistoryForecast, fitEts } from './ets.ts';
import type { Column, LearningTask, Table } from './types.ts';

/**
 * How a forecast's target is expressed before the forest sees it. Forests cannot extrapolate a trend,
 * so most transforms predict a change relative to a recent value instead of a level (`s` is the season):
 * - `none`: lags and target as they are.
 * - `log`: natural logs of lags and target.
 * - `seasonal-log-ratio`: log of each value over the value one season before the predicted step
 *   (`ln y[t-k] - ln y[t-s]`), the target `ln y[t] - ln y[t-s]`.
 * - `log-ratio-last`: log of each value over the latest one (`ln y[t-k] - ln y[t-1]`).
 * - `seasonal-log-growth`: the season-over-season log growth `g[i] = ln y[i] - ln y[i-s]` of each lag
 *   month is a feature and `g[t]` the target, so the forest learns how growth goes on, as the airline
 *   model's seasonal difference of logs does.
 * - `seasonal-difference` and `seasonal-growth`: the additive counterparts of the two seasonal log
 *   transforms (differences instead of log ratios), for series with zero or negative values or a
 *   seasonal swing that does not grow with the level.
 * - `airline-log`: the one-step forecast of the airline model, SARIMA(0,1,1)(0,1,1)ₛ on logs (Box &
 *   Jenkins), is the base; lags and target are log ratios to it, so the forest corrects a classical
 *   forecast ({@link CLASSICAL_CORRECTION} of its prediction is added). Its two MA coefficients are fitted on the training part (see {@link fitAirline}) and the
 *   filter runs over the whole history a prediction is given.
 * - `holt-winters-log`: the same with additive Holt-Winters exponential smoothing (level, trend, season)
 *   as the base, on logs (a season that grows with the level) or on the values (a steady season; the
 *   forecast is then logged) as the AIC on the training part says, its smoothing weights and whether it
 *   has a trend fitted there too ({@link fitHoltWintersOnLogs}; where the model on the values forecasts
 *   a non-positive value, the one on logs does), its filter started from the states that
 *   best fit the whole history it is given ({@link holtWintersForecast}).
 * - `classical-log`: the mean of the airline and the Holt-Winters forecasts (in logs) as the base: a
 *   combination is more robust than either model (the M-competitions' finding).
 * - `ets`: the same with an ETS model as the base, on the values themselves, its form chosen by AICc among
 *   the ones R's `forecast::ets` considers (see `ets.ts`); its filter starts from states estimated on the
 *   first two seasons of the history it is given (the training part's when fitting, a request's when
 *   serving), and its weights are the likelihood's best for that filter.
 * - `airline`, `holt-winters`, `classical`: the same on the values themselves, for series with zero or
 *   negative values.
 */
export type ForecastTransform =
  | 'none'
  | 'log'
  | 'seasonal-log-ratio'
  | 'log-ratio-last'
  | 'seasonal-log-growth'
  | 'seasonal-difference'
  | 'seasonal-growth'
  | 'airline-log'
  | 'airline'
  | 'holt-winters-log'
  | 'holt-winters'
  | 'classical-log'
  | 'ets'
  | 'classical';

/** Every transform a spec may name. */
export const FORECAST_TRANSFORMS: readonly ForecastTransform[] = [
  'seasonal-log-ratio',
  'classical-log',
  'airline-log',
  'holt-winters-log',
  'ets',
  'seasonal-log-growth',
  'log-ratio-last',
  'seasonal-difference',
  'seasonal-growth',
  'classical',
  'airline',
  'holt-winters',
  'log',
  'none',
];

/** Transforms that take a logarithm of the target, so every value must be positive. */
export const LOG_TRANSFORMS: readonly ForecastTransform[] = [
  'log',
  'seasonal-log-ratio',
  'log-ratio-last',
  'seasonal-log-growth',
  'airline-log',
  'holt-winters-log',
  'classical-log',
  'ets',
];

/**
 * The share of the forest's correction added to a classical base, as gradient boosting shrinks each
 * stage by a learning rate. The forest fits the base's residuals on few rows, so in full it adds about
 * as much noise as signal. Judged by leave-one-series-out over the eight `npm run bench:forecast`
 * series (`bench/forecast-shrinkage.ts`, seeds 1-3; each series scored with the share best on the other
 * seven): 0 won every fold once Holt-Winters could drop its trend, 0.25 is within 0.006 of it in
 * geometric-mean ratio (1.025 vs 1.019), 0.5 and above are worse (1.045, 1.070, 1.098). A quarter keeps
 * the forest's correction where a base misses a pattern, at little cost where it does not. Choosing the
 * share per series by rolling origin scored 1.037, worse than 0 or 0.25: 48 validation months cannot
 * tell shares apart.
 */
export const CLASSICAL_CORRECTION = 0.25;

/** Transforms whose base is a classical model's one-step forecast: which models, on logs or not. */
const CLASSICAL_BASES: Partial<
  Record<ForecastTransform, { log: boolean; airline: boolean; holtWinters: boolean; ets?: boolean }>
> = {
  'airline-log': { log: true, airline: true, holtWinters: false },
  airline: { log: false, airline: true, holtWinters: false },
  'holt-winters-log': { log: true, airline: false, holtWinters: true },
  'holt-winters': { log: false, airline: false, holtWinters: true },
  'classical-log': { log: true, airline: true, holtWinters: true },
  classical: { log: false, airline: true, holtWinters: true },
  // ETS models multiplicative growth itself, so it runs on the values; its forecast is then logged.
  ets: { log: true, airline: false, holtWinters: false, ets: true },
};

/** A fitted forecast featurizer: `lags` past values (oldest first) predict the next value. */
export interface ForecastFeaturizer {
  kind: 'forecast';
  target: string;
  time: string;
  lags: number;
  season: number;
  transform: ForecastTransform;
  /** Adds the month (1-12) of the predicted step as a feature; serving then needs the month. */
  monthOfYear: boolean;
  /** Values of history a prediction needs ({@link historyLengthOf}). */
  historyLength: number;
  /** The airline transforms' MA coefficients θ (regular) and Θ (seasonal), fitted on the training part. */
  airline?: AirlineCoefficients;
  /** The Holt-Winters transforms' smoothing weights, fitted on the training part (on logs for a log base). */
  holtWinters?: HoltWintersWeights;
  /**
   * For a Holt-Winters base on logs (`holt-winters-log`, `classical-log`) whose training part the model on
   * the values fits better by AIC (a steady season, {@link fitHoltWintersOnLogs}): that model's weights.
   * Its forecast, logged, is the base; where it is not positive (no log), the model on logs' is. Absent:
   * the model on logs, as models stored before the choice existed were fitted.
   */
  holtWintersOnValues?: HoltWintersWeights;
  /**
   * The `ets` transform's model: form and weights fitted on the training part, and the states its
   * filter started from there (a forecast estimates them again on the history it is given).
   */
  ets?: EtsModel;
  /**
   * How much of the forest's prediction is added to the base (1 when absent): {@link CLASSICAL_CORRECTION}
   * for a classical base.
   */
  correction?: number;
  featureNames: string[];
  /** Summary of the training target and lags, for the input-drift flag at serving time. */
  inputRange: { min: number; max: number };
}

/** A fitted tabular featurizer: numeric columns as they are, categorical columns one-hot. */
export interface TabularFeaturizer {
  kind: 'tabular';
  task: LearningTask;
  target: string;
  /** Numeric feature columns and the training median used for a missing value. */
  numeric: { name: string; fill: number; min: number; max: number }[];
  /** Categorical feature columns and the categories seen in training (an unseen one encodes as all zeros). */
  categorical: { name: string; categories: string[] }[];
  featureNames: string[];
  /** Classification: the target labels, sorted; the forest predicts their indices. */
  classes?: number[];
}

export type Featurizer = ForecastFeaturizer | TabularFeaturizer;

/**
 * Rows of a table turned into features. `y` is the transformed target the forest learns; `actual` the raw
 * target; `base` what the inverse transform needs per row (forecast ratio transforms). `rows` maps each
 * matrix row back to its table row (forecasts lose their first `historyLength` rows).
 */
export interface FeatureMatrix {
  x: Float64Array;
  y: Float64Array;
  actual: Float64Array;
  base: Float64Array;
  rows: Int32Array;
  rowCount: number;
  featureCount: number;
}

/** Thrown when data cannot be featurized as asked (non-positive values for a log transform, a missing column…). */
export class FeaturizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeaturizeError';
  }
}

/** Returns a column of a table by name or throws a `FeaturizeError` naming it. */
export function columnOf(table: Table, name: string): Column {
  const column = table.columns.find((candidate) => candidate.name === name);
  if (!column) throw new FeaturizeError(`column "${name}" is not in the data`);
  return column;
}

/** The values of a numeric column. @throws FeaturizeError naming the column when it is absent or text. */
export function numericValues(table: Table, name: string): Float64Array {
  const column = columnOf(table, name);
  if (column.kind !== 'numeric') throw new FeaturizeError(`column "${name}" must be numeric`);
  return column.values;
}

/** Whether a transform takes logarithms of the series (then every value must be positive). */
export function usesLog(transform: ForecastTransform): boolean {
  return LOG_TRANSFORMS.includes(transform);
}

/**
 * What `auto` chooses among for a positive series, in order: the seasonal log ratio, the three
 * classical bases on logs and the log ratio to the last value. The ETS base is not among them: served
 * as a request can use it (states from the request's own history), it made the benchmark worse
 * (geometric-mean ratio 1.065 against 1.026 without it, bench/RESULTS.md). The growth transforms, plain logs and
 * raw levels are left out: on the benchmark series (`npm run bench:forecast`) none of them was best
 * where these were not close, and every extra candidate makes the validation's choice noisier.
 */
const AUTO_POSITIVE: readonly ForecastTransform[] = [
  'seasonal-log-ratio',
  'classical-log',
  'airline-log',
  'holt-winters-log',
  'log-ratio-last',
];
/** The additive counterparts, for a series with a zero or negative value. */
const AUTO_ANY: readonly ForecastTransform[] = [
  'seasonal-difference',
  'classical',
  'airline',
  'holt-winters',
  'none',
];

/**
 * The variant `auto` keeps unless rolling-origin validation shows another candidate significantly more
 * accurate (`chooseCandidate` in `training.ts`): the Holt-Winters base, on logs for a positive series.
 * Picking the candidate with the best validation score among five variants follows noise where 8 to 48
 * validation months cannot tell them apart (the winner's curse): on nine public monthly series not used
 * to build the forecaster (R's `fdeaths`, `mdeaths`, five `Seatbelts` columns, `tseries`' Niño 3.4 and
 * 10-year rates; `npm run bench:forecast -- --extra`) the geometric-mean ratio to the best classical
 * anchor was 1.050 picking the best and 1.008 keeping Holt-Winters unless a Diebold–Mariano test
 * overrules it (seeds 1-5); with the airline-plus-Holt-Winters mean or the airline model as the
 * preference instead, 1.016 and 1.033 (seeds 1-3, bench/RESULTS.md).
 */
export const AUTO_PREFERRED: readonly ForecastTransform[] = ['holt-winters-log', 'holt-winters'];

/** The transforms `auto` tries on a series, in order: log-based ones only when every value is positive. */
export function feasibleTransforms(values: ArrayLike<number>): ForecastTransform[] {
  for (let i = 0; i < values.length; i++) {
    if (!(values[i] > 0)) return [...AUTO_ANY];
  }
  return [...AUTO_POSITIVE];
}

/**
 * Values of history a prediction needs: the lags, reaching back one season more for the growth
 * transforms (each lag's growth looks a season further back) and at least a season for the seasonal ones.
 */
export function historyLengthOf(transform: ForecastTransform, lags: number, season: number): number {
  if (CLASSICAL_BASES[transform]) return Math.max(lags, 2 * season + 1);
  if (transform === 'seasonal-log-growth' || transform === 'seasonal-growth') return lags + season;
  if (transform === 'seasonal-log-ratio' || transform === 'seasonal-difference')
    return Math.max(lags, season);
  return lags;
}

/** The MA coefficients of an airline model: `(1 − θB)(1 − ΘBˢ)` acting on the innovations. */
export interface AirlineCoefficients {
  theta: number;
  seasonalTheta: number;
}

/**
 * The airline model's one-step forecast of the step after `values` (already logged for `airline-log`):
 * with `w[t] = z[t] − z[t−1] − z[t−s] + z[t−s−1]` and `w[t] = e[t] − θe[t−1] − Θe[t−s] + θΘe[t−s−1]`,
 * the forecast is `z[t−1] + z[t−s] − z[t−s−1] − θe[t−1] − Θe[t−s] + θΘe[t−s−1]`, the innovations before
 * the first full difference taken as 0 (the conditional form of Box & Jenkins §7.1.3). `errors`, when
 * given, receives the one-step errors `e` (0 before step `s + 1`).
 */
export function airlineForecast(
  values: ArrayLike<number>,
  season: number,
  coefficients: AirlineCoefficients,
  errors?: Float64Array,
): number {
  const { theta, seasonalTheta } = coefficients;
  const n = values.length;
  if (n < season + 1)
    throw new FeaturizeError(`the airline model needs at least ${season + 1} values, got ${n}`);
  const e = errors ?? new Float64Array(n);
  e.fill(0);
  const at = (i: number) => (i >= 0 ? e[i] : 0);
  const forecastAt = (t: number) =>
    values[t - 1] +
    values[t - season] -
    values[t - season - 1] -
    theta * at(t - 1) -
    seasonalTheta * at(t - season) +
    theta * seasonalTheta * at(t - season - 1);
  for (let t = season + 1; t < n; t++) e[t] = values[t] - forecastAt(t);
  return forecastAt(n);
}

/** Grid of MA coefficients tried by {@link fitAirline}: 0 to 0.95 by 0.05. */
const AIRLINE_GRID = Array.from({ length: 20 }, (_, i) => i / 20);

/**
 * Fits the airline model's θ and Θ by conditional least squares on a grid (0 … 0.95 by 0.05): the pair
 * whose one-step errors after the first two seasons have the least sum of squares.
 *
 * @param values - the training part of the series (logged for `airline-log`).
 * @throws FeaturizeError when fewer than `2·season + 2` values are given.
 */
export function fitAirline(values: ArrayLike<number>, season: number): AirlineCoefficients {
  const first = 2 * season + 1;
  if (values.length < first + 1)
    throw new FeaturizeError(
      `the airline model needs at least ${first + 1} training values, got ${values.length}`,
    );
  const errors = new Float64Array(values.length);
  let best: AirlineCoefficients = { theta: 0, seasonalTheta: 0 };
  let bestSum = Number.POSITIVE_INFINITY;
  for (const theta of AIRLINE_GRID) {
    for (const seasonalTheta of AIRLINE_GRID) {
      airlineForecast(values, season, { theta, seasonalTheta }, errors);
      let sum = 0;
      for (let t = first; t < values.length; t++) sum += errors[t] * errors[t];
      if (sum < bestSum) {
        bestSum = sum;
        best = { theta, seasonalTheta };
      }
    }
  }
  return best;
}

/**
 * Smoothing weights of additive Holt-Winters: level α, trend β, season γ; `trend: false` for the model
 * without a trend (level and season only, ETS(A,N,A)); absent means a trend, as models stored before the
 * choice existed were fitted. `states` says where a forecast starts the filter ({@link holtWintersForecast}):
 * `least-squares` on the whole history, or (absent, as models stored before it were fitted) from the
 * first two seasons.
 */
export interface HoltWintersWeights {
  alpha: number;
  beta: number;
  gamma: number;
  trend?: boolean;
  states?: 'first-seasons' | 'least-squares';
}

/** Holt-Winters' state before a value: level, trend and the next `season` seasonal terms in order. */
interface HoltWintersState {
  level: number;
  trend: number;
  seasonal: ArrayLike<number>;
}

/**
 * Runs additive Holt-Winters over `values[from…]` from `state` (the state before `values[from]`) and
 * returns the one-step forecast of the step after them; `errors[t]`, when given, receives the one-step
 * error of every value it runs over. `zeroData` runs it over zeros instead (the response to the start
 * alone, see {@link leastSquaresStart}). The filter is linear in the start and the values together.
 */
function holtWintersFilter(
  values: ArrayLike<number>,
  from: number,
  season: number,
  weights: HoltWintersWeights,
  state: HoltWintersState,
  errors?: Float64Array,
  zeroData = false,
): number {
  const { alpha, beta, gamma } = weights;
  // The trend's weight in the forecast and the level: 0 drops it (the model without a trend).
  const carried = weights.trend === false ? 0 : 1;
  const n = values.length;
  let level = state.level;
  let trend = carried * state.trend;
  // seasonal[k] is the term of value `from + k - season`: the start's terms, then every update.
  const seasonal = new Float64Array(n - from + season);
  for (let i = 0; i < season; i++) seasonal[i] = state.seasonal[i];
  for (let t = from; t < n; t++) {
    const k = t - from;
    const value = zeroData ? 0 : values[t];
    const forecast = level + carried * trend + seasonal[k];
    if (errors) errors[t] = value - forecast;
    const previousLevel = level;
    level = alpha * (value - seasonal[k]) + (1 - alpha) * (level + carried * trend);
    trend = carried * (beta * (level - previousLevel) + (1 - beta) * trend);
    seasonal[k + season] = gamma * (value - level) + (1 - gamma) * seasonal[k];
  }
  return level + carried * trend + seasonal[n - from];
}

/**
 * The start from the first two seasons (Hyndman & Athanasopoulos, FPP3 §8.3): level and trend from their
 * means, the seasonal terms from the first season's deviations from its mean, as the state before the
 * second season. Without a trend the start is the same (so a slope in the first year does not leak into
 * the seasonal terms) but no trend is carried after it.
 */
function firstSeasonsStart(values: ArrayLike<number>, season: number): HoltWintersState {
  let first = 0;
  let second = 0;
  for (let i = 0; i < season; i++) {
    first += values[i] / season;
    second += values[season + i] / season;
  }
  const trend = (second - first) / season;
  // The first season's mean sits at its middle; carry the level to its last step.
  const level = first + (trend * (season - 1)) / 2;
  const seasonal = Array.from(
    { length: season },
    (_, i) => values[i] - (first + trend * (i - (season - 1) / 2)),
  );
  return { level, trend, seasonal };
}

/**
 * The start `x` (length `unknowns`) of a filter whose `n` one-step errors are linear in it, e(x) = e(0) +
 * R·x, that minimises Σ e(x)². `errorsFrom(x, out, responseOnly)` writes the errors for start `x` into
 * `out`: with `responseOnly`, the response to `x` over zero values (a column of R for a unit `x`), else
 * the errors over the values themselves (e(0) for `x` = 0). The normal equations R'R x = −R'e(0), with a
 * tiny ridge so a short history stays solvable, are solved by Gaussian elimination with partial pivoting.
 */
export function linearLeastSquaresStart(
  unknowns: number,
  n: number,
  errorsFrom: (x: Float64Array, out: Float64Array, responseOnly: boolean) => void,
): Float64Array {
  const fromData = new Float64Array(n);
  errorsFrom(new Float64Array(unknowns), fromData, false);
  const responses = Array.from({ length: unknowns }, (_, j) => {
    const unit = new Float64Array(unknowns);
    unit[j] = 1;
    const response = new Float64Array(n);
    errorsFrom(unit, response, true);
    return response;
  });
  const system = responses.map((row, i) => {
    const equation = new Float64Array(unknowns + 1);
    for (let j = 0; j < unknowns; j++) {
      let dot = 0;
      for (let t = 0; t < n; t++) dot += row[t] * responses[j][t];
      equation[j] = dot;
    }
    equation[i] += 1e-10 * (equation[i] + 1);
    let rhs = 0;
    for (let t = 0; t < n; t++) rhs -= row[t] * fromData[t];
    equation[unknowns] = rhs;
    return equation;
  });
  for (let column = 0; column < unknowns; column++) {
    let pivot = column;
    for (let row = column + 1; row < unknowns; row++)
      if (Math.abs(system[row][column]) > Math.abs(system[pivot][column])) pivot = row;
    [system[column], system[pivot]] = [system[pivot], system[column]];
    for (let row = 0; row < unknowns; row++) {
      if (row === column) continue;
      const factor = system[row][column] / system[column][column];
      for (let j = column; j <= unknowns; j++) system[row][j] -= factor * system[column][j];
    }
  }
  return Float64Array.from(system, (equation, i) => equation[unknowns] / equation[i]);
}

/**
 * The state before `values[0]` whose one-step errors over all of `values` have the least sum of squares
 * for these weights: the initial states ETS estimates by likelihood (for additive errors, least squares),
 * here exactly, since the errors are linear in the start ({@link linearLeastSquaresStart}). The seasonal
 * terms sum to 0 (a constant moved from the level to every seasonal term changes no forecast).
 */
function leastSquaresStart(
  values: ArrayLike<number>,
  season: number,
  weights: HoltWintersWeights,
): HoltWintersState {
  const trended = weights.trend !== false;
  const stateOf = (x: ArrayLike<number>): HoltWintersState => {
    const seasonal = new Float64Array(season);
    let sum = 0;
    for (let j = 0; j < season - 1; j++) {
      seasonal[j] = x[(trended ? 2 : 1) + j];
      sum += seasonal[j];
    }
    seasonal[season - 1] = -sum;
    return { level: x[0], trend: trended ? x[1] : 0, seasonal };
  };
  const unknowns = (trended ? 2 : 1) + season - 1;
  return stateOf(
    linearLeastSquaresStart(unknowns, values.length, (x, out, responseOnly) =>
      holtWintersFilter(values, 0, season, weights, stateOf(x), out, responseOnly),
    ),
  );
}

/**
 * Additive Holt-Winters' one-step forecast of the step after `values` (Hyndman & Athanasopoulos, FPP3
 * §8.3). With `states: 'least-squares'` the filter starts before the first value from the state that
 * fits all of `values` best ({@link leastSquaresStart}); otherwise from the first two seasons, the first
 * season only seeding the state. `errors`, when given, receives the one-step errors (0 for the values
 * that only seed the state).
 */
export function holtWintersForecast(
  values: ArrayLike<number>,
  season: number,
  weights: HoltWintersWeights,
  errors?: Float64Array,
): number {
  const n = values.length;
  if (n < 2 * season) throw new FeaturizeError(`Holt-Winters needs at least ${2 * season} values, got ${n}`);
  if (weights.states === 'least-squares')
    return holtWintersFilter(values, 0, season, weights, leastSquaresStart(values, season, weights), errors);
  errors?.fill(0);
  return holtWintersFilter(values, season, season, weights, firstSeasonsStart(values, season), errors);
}

const HW_LEVEL_GRID = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const HW_TREND_GRID = [0, 0.01, 0.05, 0.1, 0.2];
const HW_SEASON_GRID = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7];

/**
 * Fits Holt-Winters by least squares of the one-step errors after the first two seasons, on a grid
 * (α 0.05 … 0.9, β 0 … 0.2, γ 0.01 … 0.7), with and without a trend, and keeps the model with the lower
 * AIC, `m·ln(SSE/m) + 2k` over the `m` scored errors with `k` the weights fitted (3 with a trend, 2
 * without), as ETS chooses its trend component by information criterion (FPP3 §8.6). A trend the data do
 * not carry (a temperature, a stable count) otherwise keeps extrapolating the first two seasons' slope:
 * on `npm run bench:forecast`'s series the choice took the Holt-Winters forecast of the Nottingham
 * temperatures from 4.22% to 3.52% MAPE and of the UK lung deaths from 7.39% to 6.73%, for 7.55% → 8.04%
 * on the UK driver deaths (bench/RESULTS.md).
 *
 * The weights it returns forecast from least-squares states (`states: 'least-squares'`): the weights are
 * judged on honest one-step errors (a start from the first two seasons sees none of the months it is
 * scored on), while a forecast may use every value before the month it forecasts to place its start.
 * Weights and states fitted jointly by least squares overfit instead: the states then see the whole
 * training part, the season's weight falls to the grid's floor, and the forecasts got worse (bench/RESULTS.md).
 *
 * @param values - the training part of the series (logged for `holt-winters-log`).
 * @throws FeaturizeError when fewer than `2·season + 2` values are given.
 */
export function fitHoltWinters(values: ArrayLike<number>, season: number): HoltWintersWeights {
  return fitHoltWintersAic(values, season).weights;
}

/** {@link fitHoltWinters}'s weights and their AIC over the one-step errors after the first two seasons and one value. */
function fitHoltWintersAic(
  values: ArrayLike<number>,
  season: number,
): { weights: HoltWintersWeights; aic: number } {
  const first = 2 * season + 1;
  if (values.length < first + 1)
    throw new FeaturizeError(
      `Holt-Winters needs at least ${first + 1} training values, got ${values.length}`,
    );
  const errors = new Float64Array(values.length);
  const scored = values.length - first;
  let best: HoltWintersWeights = { alpha: HW_LEVEL_GRID[0], beta: 0, gamma: HW_SEASON_GRID[0] };
  let bestAic = Number.POSITIVE_INFINITY;
  for (const trend of [true, false]) {
    for (const alpha of HW_LEVEL_GRID) {
      for (const beta of trend ? HW_TREND_GRID : [0]) {
        for (const gamma of HW_SEASON_GRID) {
          const weights: HoltWintersWeights = trend ? { alpha, beta, gamma } : { alpha, beta, gamma, trend };
          holtWintersForecast(values, season, weights, errors);
          let sum = 0;
          for (let t = first; t < values.length; t++) sum += errors[t] * errors[t];
          // A series the model fits exactly (sum 0) has the lowest possible AIC.
          const aic = scored * Math.log(Math.max(sum, Number.MIN_VALUE) / scored) + 2 * (trend ? 3 : 2);
          if (aic < bestAic) {
            bestAic = aic;
            best = weights;
          }
        }
      }
    }
  }
  return { weights: { ...best, states: 'least-squares' }, aic: bestAic };
}

/**
 * Fits Holt-Winters for a base on logs: {@link fitHoltWinters} on the logs of the positive `values` (a
 * season that grows with the level, as a multiplicative season does) and on the values themselves (an
 * additive season), and returns the second as `onValues` when its AIC on the values' scale is lower, as
 * ETS chooses between a multiplicative and an additive season by information criterion (FPP3 §8.6). The
 * model on logs' AIC gains the Jacobian of the logarithm, `2·Σ ln y` over the scored values: its Gaussian
 * likelihood of the logs is a likelihood of the values only with it (and the choice then does not depend
 * on the values' unit). Nothing here is tuned: on the 8 bench and 9 held-out series (`npx node
 * bench/forecast-bases.ts`, the bases alone) the choice moved the geometric-mean ratio to the best anchor
 * from 0.989 to 0.987 and from 1.060 to 1.047 (bench/RESULTS.md).
 *
 * @param values - the training part of the series, every value positive.
 * @throws FeaturizeError when fewer than `2·season + 2` values are given.
 */
export function fitHoltWintersOnLogs(
  values: ArrayLike<number>,
  season: number,
): { onLogs: HoltWintersWeights; onValues?: HoltWintersWeights } {
  const onLogs = fitHoltWintersAic(Float64Array.from(values, Math.log), season);
  const onValues = fitHoltWintersAic(values, season);
  let jacobian = 0;
  for (let t = 2 * season + 1; t < values.length; t++) jacobian += Math.log(values[t]);
  return onLogs.aic + 2 * jacobian <= onValues.aic
    ? { onLogs: onLogs.weights }
    : { onLogs: onLogs.weights, onValues: onValues.weights };
}

/** The base of a classical-base transform: its model's (or models' mean) one-step forecast. */
function classicalBase(featurizer: ForecastFeaturizer, history: ArrayLike<number>): number {
  const bases = CLASSICAL_BASES[featurizer.transform]!;
  const series = bases.log ? Float64Array.from(history, Math.log) : history;
  const forecasts: number[] = [];
  if (bases.airline) {
    if (!featurizer.airline) throw new FeaturizeError('this featurizer has no airline coefficients');
    forecasts.push(airlineForecast(series, featurizer.season, featurizer.airline));
  }
  if (bases.holtWinters) {
    if (!featurizer.holtWinters) throw new FeaturizeError('this featurizer has no Holt-Winters weights');
    const onValues = featurizer.holtWintersOnValues
      ? holtWintersForecast(history, featurizer.season, featurizer.holtWintersOnValues)
      : Number.NaN;
    // An additive season can take a low level below zero, where a log base has no value: the model on
    // logs, fitted beside it, forecasts there.
    forecasts.push(
      onValues > 0
        ? Math.log(onValues)
        : holtWintersForecast(series, featurizer.season, featurizer.holtWinters),
    );
  }
  if (bases.ets) {
    if (!featurizer.ets) throw new FeaturizeError('this featurizer has no ETS model');
    const forecast = etsHistoryForecast(history, featurizer.ets);
    // A multiplicative model's level or forecast turned non-positive on this history.
    if (!(forecast > 0))
      throw new FeaturizeError('the ETS model cannot forecast this history (a non-positive level)');
    forecasts.push(Math.log(forecast));
  }
  return forecasts.reduce((sum, value) => sum + value, 0) / forecasts.length;
}

/**
 * Fits a forecast featurizer: the input range, and for the classical-base transforms the models' coefficients
 * on the first `trainingRows` values (the training part; the holdout is never seen). The other options
 * are the spec's and the search's choices.
 *
 * @throws FeaturizeError when a log transform meets a non-positive value.
 */
export function fitForecastFeaturizer(
  table: Table,
  options: {
    target: string;
    time: string;
    lags: number;
    season: number;
    transform: ForecastTransform;
    monthOfYear: boolean;
    /** Values the airline coefficients are fitted on (default: all). */
    trainingRows?: number;
  },
): ForecastFeaturizer {
  const { target, time, lags, season, transform, monthOfYear } = options;
  if (!Number.isInteger(lags) || lags < 1)
    throw new RangeError(`lags must be a positive integer, got ${lags}`);
  if (!Number.isInteger(season) || season < 1)
    throw new RangeError(`season must be a positive integer, got ${season}`);
  const values = numericValues(table, target);
  if (usesLog(transform) && values.some((value) => !(value > 0))) {
    throw new FeaturizeError(`transform "${transform}" needs every "${target}" value to be positive`);
  }
  const historyLength = historyLengthOf(transform, lags, season);
  const featureNames = Array.from({ length: lags }, (_, k) => `lag_${lags - k}`);
  if (monthOfYear) featureNames.push('month_of_year');
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const featurizer: ForecastFeaturizer = {
    kind: 'forecast',
    target,
    time,
    lags,
    season,
    transform,
    monthOfYear,
    historyLength,
    featureNames,
    inputRange: { min, max },
  };
  const bases = CLASSICAL_BASES[transform];
  if (bases) {
    const raw = values.subarray(0, options.trainingRows ?? values.length);
    const training = bases.log ? raw.map(Math.log) : raw;
    if (bases.airline) featurizer.airline = fitAirline(training, season);
    if (bases.holtWinters && bases.log) {
      const { onLogs, onValues } = fitHoltWintersOnLogs(raw, season);
      featurizer.holtWinters = onLogs;
      if (onValues) featurizer.holtWintersOnValues = onValues;
    } else if (bases.holtWinters) featurizer.holtWinters = fitHoltWinters(training, season);
    if (bases.ets) {
      if (raw.length < 2 * season + 2)
        throw new FeaturizeError(`ETS needs at least ${2 * season + 2} training values, got ${raw.length}`);
      featurizer.ets = fitEts(raw, season, 'history').model;
    }
    featurizer.correction = CLASSICAL_CORRECTION;
  }
  return featurizer;
}

/** Month of year (1-12) of the month after `yyyyMm` (`'1960-12'` → 1). */
export function nextMonthOfYear(yyyyMm: string): number {
  const month = Number(yyyyMm.slice(5, 7));
  return (month % 12) + 1;
}

/**
 * Writes the features of the step after `history` into `out` and returns the base the inverse transform
 * needs. `history` holds at least `historyLength` values, oldest first: the airline transforms filter all
 * of it, the others use the last `historyLength`.
 * `month` is the month of year of the predicted step (needed when `monthOfYear` is on).
 */
export function forecastFeatures(
  featurizer: ForecastFeaturizer,
  history: ArrayLike<number>,
  out: Float64Array,
  month?: number,
): number {
  const { lags, season, transform, historyLength } = featurizer;
  const n = history.length;
  if (n < historyLength) {
    throw new FeaturizeError(`history needs at least ${historyLength} values, got ${n}`);
  }
  const at = (back: number) => history[n - back];
  const ln = (back: number) => Math.log(history[n - back]);
  let base = 0;
  if (transform === 'seasonal-log-ratio' || transform === 'seasonal-log-growth') base = ln(season);
  else if (transform === 'log-ratio-last') base = ln(1);
  else if (transform === 'seasonal-difference' || transform === 'seasonal-growth') base = at(season);
  else if (CLASSICAL_BASES[transform]) base = classicalBase(featurizer, history);
  for (let k = 0; k < lags; k++) {
    // Lag `back` months before the predicted step: out[0] is the oldest lag, out[lags - 1] the latest.
    const back = lags - k;
    switch (transform) {
      case 'none':
        out[k] = at(back);
        break;
      case 'seasonal-difference':
      case 'airline':
      case 'holt-winters':
      case 'classical':
        out[k] = at(back) - base;
        break;
      case 'seasonal-growth':
        out[k] = at(back) - at(back + season);
        break;
      case 'seasonal-log-growth':
        out[k] = ln(back) - ln(back + season);
        break;
      default:
        out[k] = ln(back) - base;
    }
  }
  if (featurizer.monthOfYear) {
    if (month === undefined)
      throw new FeaturizeError('this model uses the month of year: give the month to predict');
    out[lags] = month;
  }
  return base;
}

/** The forecast value for a prediction `p` of the transformed target with the row's `base`. */
export function invertForecast(featurizer: ForecastFeaturizer, prediction: number, base: number): number {
  const correction = (featurizer.correction ?? 1) * prediction;
  return usesLog(featurizer.transform) ? Math.exp(base + correction) : base + correction;
}

/** The transformed target the forest learns for an actual value. */
function transformTarget(featurizer: ForecastFeaturizer, actual: number, base: number): number {
  return usesLog(featurizer.transform) ? Math.log(actual) - base : actual - base;
}

/**
 * One feature row per step that has `historyLength` values before it, each built from the actual values
 * before it (so a holdout is scored one step ahead, as a forecaster would be used).
 */
export function forecastMatrix(featurizer: ForecastFeaturizer, table: Table): FeatureMatrix {
  const values = numericValues(table, featurizer.target);
  const timeColumn = columnOf(table, featurizer.time);
  const months = timeColumn.kind === 'text' ? timeColumn.values : undefined;
  if (featurizer.monthOfYear && !months)
    throw new FeaturizeError(`column "${featurizer.time}" must hold YYYY-MM`);
  const featureCount = featurizer.featureNames.length;
  const first = featurizer.historyLength;
  const rowCount = Math.max(0, table.rowCount - first);
  const matrix = emptyMatrix(rowCount, featureCount);
  const row = new Float64Array(featureCount);
  for (let i = 0; i < rowCount; i++) {
    const t = first + i;
    const month = months ? Number(months[t].slice(5, 7)) : undefined;
    // The whole history before the step, as a prediction request carries it (the airline filter uses all).
    const base = forecastFeatures(featurizer, values.subarray(0, t), row, month);
    matrix.x.set(row, i * featureCount);
    matrix.base[i] = base;
    matrix.actual[i] = values[t];
    matrix.y[i] = transformTarget(featurizer, values[t], base);
    matrix.rows[i] = t;
  }
  return matrix;
}

function emptyMatrix(rowCount: number, featureCount: number): FeatureMatrix {
  return {
    x: new Float64Array(rowCount * featureCount),
    y: new Float64Array(rowCount),
    actual: new Float64Array(rowCount),
    base: new Float64Array(rowCount),
    rows: new Int32Array(rowCount),
    rowCount,
    featureCount,
  };
}

/**
 * Reorders `values` so that `values[k]` is the value a sort would put there, with no larger value before
 * it and no smaller one after (Hoare's selection, median-of-three pivots): O(n) where a sort is
 * O(n log n), which at a million training rows per column is most of a featurizer's fit.
 */
function selectInPlace(values: Float64Array, k: number): number {
  let low = 0;
  let high = values.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    const [a, b, c] = [values[low], values[middle], values[high]];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = low;
    let j = high;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const swap = values[i];
        values[i] = values[j];
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (k <= j) high = j;
    else if (k >= i) low = i;
    else break;
  }
  return values[k];
}

/** The median of `values` (0 for none); reorders them. */
function medianInPlace(values: Float64Array): number {
  if (values.length === 0) return 0;
  const middle = values.length >> 1;
  const upper = selectInPlace(values, middle);
  if (values.length % 2) return upper;
  // Everything before `middle` is ≤ upper: the lower middle value is the largest of them.
  let lower = values[0];
  for (let i = 1; i < middle; i++) if (values[i] > lower) lower = values[i];
  return (lower + upper) / 2;
}

/**
 * Fits a tabular featurizer on the training rows: medians for missing numbers, the categories seen,
 * the classes of a classification target.
 *
 * @param features - the feature columns; text columns and those listed in `categorical` are one-hot encoded.
 * @throws FeaturizeError for a missing column or a classification target that is not numeric labels.
 */
export function fitTabularFeaturizer(
  table: Table,
  options: {
    task: LearningTask;
    target: string;
    features: string[];
    categorical?: string[];
    rows?: ArrayLike<number>;
  },
): TabularFeaturizer {
  const { task, target, features } = options;
  const forcedCategorical = new Set(options.categorical ?? []);
  const rows = options.rows ?? Array.from({ length: table.rowCount }, (_, i) => i);
  const numeric: TabularFeaturizer['numeric'] = [];
  const categorical: TabularFeaturizer['categorical'] = [];
  const featureNames: string[] = [];
  for (const name of features) {
    const column = columnOf(table, name);
    if (column.kind === 'numeric' && !forcedCategorical.has(name)) {
      // min and max in the loop: Math.min(...values) overflows the call stack at a few hundred thousand rows.
      const finite = new Float64Array(rows.length);
      let count = 0;
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < rows.length; i++) {
        const value = column.values[rows[i]];
        if (!Number.isFinite(value)) continue;
        finite[count++] = value;
        if (value < min) min = value;
        if (value > max) max = value;
      }
      const fill = medianInPlace(finite.subarray(0, count));
      numeric.push({ name, fill, min: count ? min : 0, max: count ? max : 0 });
    } else {
      const categories = new Set<string>();
      for (let i = 0; i < rows.length; i++) {
        const value = categoryOf(column, rows[i]);
        if (value !== '') categories.add(value);
      }
      categorical.push({ name, categories: [...categories].sort() });
    }
  }
  for (const { name } of numeric) featureNames.push(name);
  for (const { name, categories } of categorical)
    for (const category of categories) featureNames.push(`${name}=${category}`);
  const featurizer: TabularFeaturizer = { kind: 'tabular', task, target, numeric, categorical, featureNames };
  if (task === 'classification') {
    const labels = new Set<number>();
    const values = numericValues(table, target);
    for (let i = 0; i < rows.length; i++) {
      const label = values[rows[i]];
      if (Number.isFinite(label)) labels.add(label);
    }
    featurizer.classes = [...labels].sort((a, b) => a - b);
  }
  return featurizer;
}

function categoryOf(column: Column, row: number): string {
  if (column.kind === 'text') return column.values[row];
  const value = column.values[row];
  return Number.isFinite(value) ? String(value) : '';
}

/** A tabular serving instance: feature name → number or string (missing or null = use the training median). */
export type TabularInstance = Record<string, number | string | null | undefined>;

/** Writes the features of one named instance into `out` (numbers, then one-hot categories). */
export function tabularFeatures(
  featurizer: TabularFeaturizer,
  instance: TabularInstance,
  out: Float64Array,
): void {
  let k = 0;
  for (const { name, fill } of featurizer.numeric) {
    const raw = instance[name];
    const value =
      typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
    out[k++] = Number.isFinite(value) ? value : fill;
  }
  for (const { name, categories } of featurizer.categorical) {
    const raw = instance[name];
    const value = raw === null || raw === undefined ? '' : String(raw);
    for (const category of categories) out[k++] = value === category ? 1 : 0;
  }
}

/** The feature matrix of the given table rows (all rows by default). */
export function tabularMatrix(
  featurizer: TabularFeaturizer,
  table: Table,
  rows?: ArrayLike<number>,
): FeatureMatrix {
  const selected = rows ?? Array.from({ length: table.rowCount }, (_, i) => i);
  const featureCount = featurizer.featureNames.length;
  const matrix = emptyMatrix(selected.length, featureCount);
  const target = numericValues(table, featurizer.target);
  const numericColumns = featurizer.numeric.map(({ name }) => columnOf(table, name));
  const categoricalColumns = featurizer.categorical.map(({ name }) => columnOf(table, name));
  const classIndex = new Map((featurizer.classes ?? []).map((label, index) => [label, index]));
  for (let i = 0; i < selected.length; i++) {
    const row = selected[i];
    let k = i * featureCount;
    featurizer.numeric.forEach(({ fill }, c) => {
      const column = numericColumns[c];
      const value = column.kind === 'numeric' ? column.values[row] : Number(column.values[row]);
      matrix.x[k++] = Number.isFinite(value) ? value : fill;
    });
    featurizer.categorical.forEach(({ categories }, c) => {
      const value = categoryOf(categoricalColumns[c], row);
      for (const category of categories) matrix.x[k++] = value === category ? 1 : 0;
    });
    const actual = target[row];
    matrix.actual[i] = actual;
    if (featurizer.task === 'classification') {
      const index = classIndex.get(actual);
      if (index === undefined)
        throw new FeaturizeError(`row ${row + 2}: class ${actual} was not seen in training`);
      matrix.y[i] = index;
    } else {
      matrix.y[i] = actual;
    }
    matrix.rows[i] = row;
  }
  return matrix;
}

/**
 * What a featurizer was configured to do, without what it learned from rows (ranges, medians, the
 * categories seen): two featurizers with equal configurations featurize the same way up to the data.
 */
export function featurizerConfiguration(featurizer: Featurizer): string {
  return JSON.stringify(
    featurizer.kind === 'forecast'
      ? [featurizer.kind, featurizer.transform, featurizer.lags, featurizer.season, featurizer.monthOfYear]
      : [
          featurizer.kind,
          featurizer.task,
          featurizer.numeric.map(({ name }) => name),
          featurizer.categorical.map(({ name }) => name),
        ],
  );
}

/** The feature matrix of a table under any featurizer. */
export function buildMatrix(featurizer: Featurizer, table: Table, rows?: ArrayLike<number>): FeatureMatrix {
  return featurizer.kind === 'forecast'
    ? forecastMatrix(featurizer, table)
    : tabularMatrix(featurizer, table, rows);
}

/** Selects some rows of a matrix (by position in the matrix). */
export function sliceMatrix(matrix: FeatureMatrix, positions: ArrayLike<number>): FeatureMatrix {
  const { featureCount } = matrix;
  const out = emptyMatrix(positions.length, featureCount);
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i];
    out.x.set(matrix.x.subarray(p * featureCount, (p + 1) * featureCount), i * featureCount);
    out.y[i] = matrix.y[p];
    out.actual[i] = matrix.actual[p];
    out.base[i] = matrix.base[p];
    out.rows[i] = matrix.rows[p];
  }
  return out;
}
