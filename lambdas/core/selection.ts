/**
 * Model selection: how a candidate (hyperparameters, a featurizer variant, later a transform or a lag
 * count) is scored on the training part of the data only, never on the holdout, in a way that can tell
 * candidates apart.
 *
 * - Forecasts: rolling-origin evaluation (Tashman 2000; Hyndman & Athanasopoulos, *Forecasting: Principles
 *   and Practice*, §5.10 "time series cross-validation"): at each of `origins` cut points the model is
 *   fitted on everything before the cut and scores the next `horizon` steps one step ahead, and the
 *   predictions of every origin are pooled into one score.
 * - Tabular data: out-of-bag predictions where the engine can replay its bootstrap (the fast engine),
 *   else stratified k-fold; both pool one out-of-sample prediction per training row. Classification is
 *   scored by log loss, which still ranks candidates when every one of them separates the classes
 *   perfectly (a validation AUC of 1.0 ties them all).
 *
 * The folds are plain row positions, so any learner and any featurization can be scored with them.
 */
import { type MetricName, metricDirection } from './metrics.ts';
import { seededRandom, shuffled } from './random.ts';
import type { Task } from './types.ts';

/** Rows a model is fitted on and the rows it then predicts, as positions into the training rows. */
export interface Fold {
  fit: Int32Array;
  score: Int32Array;
}

/** Default number of rolling origins. */
export const ROLLING_ORIGINS = 4;
/** Default number of folds for k-fold cross-validation. */
export const K_FOLDS = 5;

/**
 * Most training rows a tabular candidate is scored on. A search fits one forest per candidate, each in a
 * Lambda with a 15-minute limit; past this many rows the candidates are compared on a seeded sample of
 * the training rows (the same sample for every candidate), and only the chosen one's final fit uses
 * them all. 100,000 rows × 20 features is the largest size whose fit was measured (about 4 minutes for
 * 100 trees of up to 16,384 leaves on 2 workers at load average 14-28, bench/RESULTS.md); a million-row
 * search on every row would take hours on that share of a machine.
 */
export const SEARCH_ROWS = 100_000;

/**
 * `count` of `positions` drawn without replacement by a seeded generator, in their original order (all
 * of them when there are no more): the same seed and rows give the same sample.
 * @example sampleRows(Int32Array.of(3, 5, 8, 9), 2, 1) // two of them, ascending
 */
export function sampleRows(positions: Int32Array, count: number, seed: number): Int32Array {
  if (positions.length <= count) return positions;
  const pool = Int32Array.from(positions);
  const random = seededRandom(seed);
  // A partial Fisher–Yates shuffle: the first `count` slots end up a uniform sample.
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    const swap = pool[i];
    pool[i] = pool[j];
    pool[j] = swap;
  }
  return pool.subarray(0, count).sort();
}

/**
 * Rolling-origin folds over `count` time-ordered rows: origin `i` (of `origins`) fits on the rows
 * before `count − (origins − i) · horizon` and scores the `horizon` rows after it. The last origin
 * ends at the last training row, so the scored rows are the most recent `origins · horizon`.
 *
 * @param options.horizon - steps scored per origin; default: as many as leave at least half of the rows
 *   to the first fit, at most `season` (12).
 * @throws {RangeError} when fewer than 2 rows would be left to the first fit or `origins` < 1.
 * @example rollingOriginFolds(108, { origins: 4, horizon: 12 })
 * // fits on 0..59 → scores 60..71, …, fits on 0..95 → scores 96..107
 */
export function rollingOriginFolds(
  count: number,
  options: { origins?: number; horizon?: number; season?: number } = {},
): Fold[] {
  const origins = options.origins ?? ROLLING_ORIGINS;
  if (!Number.isInteger(origins) || origins < 1)
    throw new RangeError(`origins must be a positive integer, got ${origins}`);
  const horizon = options.horizon ?? defaultHorizon(count, { origins, season: options.season });
  if (!Number.isInteger(horizon) || horizon < 1 || count - origins * horizon < 2) {
    throw new RangeError(
      `${count} training rows are too few for ${origins} rolling origins (each scoring at least one step after at least 2 rows)`,
    );
  }
  return Array.from({ length: origins }, (_, i) => {
    const cut = count - (origins - i) * horizon;
    return { fit: range(0, cut), score: range(cut, cut + horizon) };
  });
}

/**
 * Steps each rolling origin scores by default: as many as leave at least half of the `count` rows to the
 * first fit, at most `season` (12). Candidates with different row counts (featurizers that need more
 * history) are scored with the smallest of their horizons, so that all are scored on the same months.
 */
export function defaultHorizon(count: number, options: { origins?: number; season?: number } = {}): number {
  const origins = options.origins ?? ROLLING_ORIGINS;
  return Math.min(options.season ?? 12, Math.floor(Math.floor(count / 2) / origins));
}

/**
 * Seeded k-fold split of `count` rows, stratified by `strata` when given (each class dealt round-robin
 * over the folds after a shuffle, as scikit-learn's `StratifiedKFold(shuffle=True)` keeps class shares).
 * @throws {RangeError} when `k` is below 2 or above `count`.
 */
export function kFolds(count: number, k: number, seed: number, strata?: ArrayLike<number>): Fold[] {
  if (!Number.isInteger(k) || k < 2 || k > count)
    throw new RangeError(`k-fold needs 2 ≤ k ≤ ${count} rows, got k = ${k}`);
  const random = seededRandom(seed);
  const foldOf = new Int32Array(count);
  const groups = new Map<number, number[]>();
  for (let row = 0; row < count; row++) {
    const key = strata ? strata[row] : 0;
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  let next = 0;
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    for (const row of shuffled(groups.get(key)!, random)) foldOf[row] = next++ % k;
  }
  return Array.from({ length: k }, (_, fold) => {
    const fit: number[] = [];
    const score: number[] = [];
    for (let row = 0; row < count; row++) (foldOf[row] === fold ? score : fit).push(row);
    return { fit: Int32Array.from(fit), score: Int32Array.from(score) };
  });
}

/** How candidates of a task are scored: classification by log loss, everything else by the spec's metric. */
export function selectionMetric(task: Task, metric: MetricName): MetricName {
  return task === 'classification' ? 'logloss' : metric;
}

/** Whether a lower selection score is better. */
export function selectionDirection(task: Task, metric: MetricName): 'lower' | 'higher' {
  return metricDirection(selectionMetric(task, metric));
}

function range(from: number, to: number): Int32Array {
  return Int32Array.from({ length: to - from }, (_, i) => from + i);
}

/**
 * Each scored row's loss under a selection metric, the terms the metric averages (lower is better):
 * absolute percentage errors (in percent) for MAPE, absolute errors for MAE, the sMAPE terms for sMAPE,
 * squared errors for RMSE and R² (both are monotone in their sum). Used to test whether one candidate's
 * out-of-sample errors are significantly lower than another's on the same rows ({@link dieboldMariano}).
 *
 * @throws {RangeError} for a classification metric or mismatched lengths.
 */
export function rowLosses(
  metric: MetricName,
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
): number[] {
  if (actual.length !== predicted.length)
    throw new RangeError(`rowLosses: ${actual.length} targets but ${predicted.length} predictions`);
  const loss: Partial<Record<MetricName, (y: number, p: number) => number>> = {
    mape: (y, p) => (100 * Math.abs(y - p)) / Math.max(Math.abs(y), Number.EPSILON),
    mae: (y, p) => Math.abs(y - p),
    smape: (y, p) => (y === 0 && p === 0 ? 0 : (200 * Math.abs(y - p)) / (Math.abs(y) + Math.abs(p))),
    rmse: (y, p) => (y - p) ** 2,
    r2: (y, p) => (y - p) ** 2,
  };
  const of = loss[metric];
  if (!of) throw new RangeError(`rowLosses: no per-row loss for ${metric}`);
  return Array.from(actual, (y, i) => of(y, predicted[i]));
}

/**
 * The Diebold–Mariano statistic for equal accuracy of two one-step forecasts of the same periods, from
 * their losses, with the small-sample correction of Harvey, Leybourne & Newbold (1997): with
 * `d = a − b` over `n` periods, `DM = mean(d) / √(γ₀ / n) · √((n − 1) / n)`, `γ₀` the variance of `d`
 * with denominator `n` (one-step errors need no autocovariance terms) — R forecast's
 * `dm.test(e1, e2, h = 1, power = 1)` on errors whose absolute values are the losses. Negative when
 * `a`'s losses are lower; ±∞ when every difference is the same non-zero number, 0 when all are zero.
 *
 * @throws {RangeError} for fewer than 2 periods or unequal lengths.
 * @example dieboldMariano([1, 2, 3, 1], [2, 2, 4, 3]) // -2.449 (R: dm.test(c(1,2,3,1), c(2,2,4,3), h = 1, power = 1))
 */
export function dieboldMariano(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new RangeError(`dieboldMariano: ${n} losses against ${b.length}`);
  if (n < 2) throw new RangeError(`dieboldMariano requires at least 2 periods, got ${n}`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += (a[i] - b[i]) / n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (a[i] - b[i] - mean) ** 2 / n;
  if (variance === 0) return mean === 0 ? 0 : mean * Number.POSITIVE_INFINITY;
  return (mean / Math.sqrt(variance / n)) * Math.sqrt((n - 1) / n);
}

/**
 * How far below zero the {@link dieboldMariano} statistic of a challenger against the preferred variant
 * must fall before validation may overrule the preference: the standard normal's one-sided 5% critical
 * value, the test's asymptotic distribution (Diebold & Mariano 1995).
 */
export const SWITCH_CRITICAL_VALUE = 1.6448536269514722;
