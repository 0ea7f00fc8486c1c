/**
 * A paired bootstrap of a metric difference: how much better (or worse) is the candidate than the
 * champion on the same holdout rows, and how sure can we be? Both models' predictions for every holdout
 * row are resampled together (the same rows in each resample), so what the rows have in common — hard
 * rows are hard for both — cancels out of the difference, as in a paired test.
 *
 * Each resample is a vector of row multiplicities (how often each row was drawn), and every metric is
 * evaluated as its sample-weighted form (`sample_weight` in scikit-learn), which equals the metric of the
 * resampled rows while costing O(rows) per resample, AUC included (one sort per model, not one per
 * resample). Classification resamples are stratified by true class, as `pROC::roc.test`'s bootstrap, so
 * every resample holds each class as often as the holdout does and AUC stays defined.
 *
 * The interval is the percentile interval (Efron & Tibshirani 1993, §13.3) of the resampled differences,
 * with `np.percentile`'s linear interpolation.
 */

import type { MetricName } from './metrics.ts';
import { seededRandom } from './random.ts';
import { quantileSorted } from './stats/quantile-sorted.ts';

/** One model's predictions on the holdout rows, on the original scale. */
export interface HoldoutPredictions {
  /** The true target per row: values for regression and forecasts, class labels for classifiers. */
  actual: ArrayLike<number>;
  /**
   * One prediction per row, or for classifiers the class probabilities row by row (`rows × classes`,
   * columns in the order of `classes`).
   */
  predicted: ArrayLike<number>;
  /** Classifiers: the class labels, strictly ascending (the columns of `predicted`). */
  classes?: readonly number[];
}

/** How to resample. */
export interface PairedBootstrapOptions {
  metric: MetricName;
  /**
   * Coverage of the two-sided interval, in (0, 1).
   * @default 0.95
   */
  confidence?: number;
  /**
   * Number of resamples.
   * @default 2000
   */
  resamples?: number;
  /** Seed of the row draws: the same seed and rows give the same interval. */
  seed: number;
}

/** A paired comparison of candidate and champion on the same rows, as the run record stores it. */
export interface PairedComparison {
  metric: MetricName;
  /** candidate − champion on the whole holdout, in the metric's units (MAPE in points of percent). */
  difference: number;
  /** Percentile interval of the resampled differences, [low, high]. */
  interval: [number, number];
  confidence: number;
  resamples: number;
  seed: number;
  /** Holdout rows each resample draws. */
  rows: number;
}

/** Default coverage of the interval. */
export const DEFAULT_CONFIDENCE = 0.95;
/** Default number of resamples: enough for stable 2.5% and 97.5% percentiles (Efron & Tibshirani §13.3). */
export const DEFAULT_RESAMPLES = 2000;

/** A metric of one model's predictions under row weights (multiplicities). */
type WeightedMetric = (weights: Float64Array) => number;

/**
 * The paired bootstrap of `metric(candidate) − metric(champion)` over the holdout rows both predicted.
 *
 * @example
 * pairedBootstrap(
 *   { actual: [100, 120, 140], predicted: [101, 118, 141] },
 *   { actual: [100, 120, 140], predicted: [110, 130, 150] },
 *   { metric: 'mae', seed: 42 },
 * ) // { difference: -8.67, interval: [low, high] with high < 0, … }
 * @throws {RangeError} on a confidence outside (0, 1), fewer than 10 resamples, models that did not
 *   predict the same rows and targets, or input a metric cannot score (as `scoreRegression` /
 *   `scoreClassification`)
 */
export function pairedBootstrap(
  candidate: HoldoutPredictions,
  champion: HoldoutPredictions,
  options: PairedBootstrapOptions,
): PairedComparison {
  const { metric, confidence = DEFAULT_CONFIDENCE, resamples = DEFAULT_RESAMPLES, seed } = options;
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`pairedBootstrap: confidence must be in (0, 1) such as 0.95, got ${confidence}`);
  }
  if (!(Number.isInteger(resamples) && resamples >= 10)) {
    throw new RangeError(`pairedBootstrap: resamples must be an integer ≥ 10, got ${resamples}`);
  }
  assertSameRows(candidate, champion);
  const rows = candidate.actual.length;
  const scoreCandidate = weightedMetric(metric, candidate);
  const scoreChampion = weightedMetric(metric, champion);
  const ones = new Float64Array(rows).fill(1);
  const difference = scoreCandidate(ones) - scoreChampion(ones);

  const strata = candidate.classes ? stratifyByClass(candidate.actual) : [Int32Array.from(ones.keys())];
  const random = seededRandom(seed);
  const weights = new Float64Array(rows);
  const differences = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    drawMultiplicities(strata, random, weights);
    differences[b] = scoreCandidate(weights) - scoreChampion(weights);
  }
  differences.sort();
  const tail = (1 - confidence) / 2;
  return {
    metric,
    difference,
    interval: [quantileSorted(differences, tail), quantileSorted(differences, 1 - tail)],
    confidence,
    resamples,
    seed,
    rows,
  };
}

/**
 * Row multiplicities of one resample: each stratum of m rows is drawn m times with replacement.
 * Exported for the reference check against scikit-learn's weighted metrics.
 */
export function drawMultiplicities(
  strata: readonly Int32Array[],
  random: () => number,
  into: Float64Array,
): Float64Array {
  into.fill(0);
  for (const stratum of strata) {
    for (let draw = 0; draw < stratum.length; draw++) {
      into[stratum[Math.floor(random() * stratum.length)]] += 1;
    }
  }
  return into;
}

/** Row positions grouped by true class, classes in ascending order. */
export function stratifyByClass(actual: ArrayLike<number>): Int32Array[] {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < actual.length; i++) {
    const rows = byClass.get(actual[i]) ?? [];
    rows.push(i);
    byClass.set(actual[i], rows);
  }
  return [...byClass.entries()].sort(([a], [b]) => a - b).map(([, rows]) => Int32Array.from(rows));
}

function assertSameRows(candidate: HoldoutPredictions, champion: HoldoutPredictions): void {
  const n = candidate.actual.length;
  if (n === 0) throw new RangeError('pairedBootstrap: requires at least one holdout row');
  const same =
    champion.actual.length === n &&
    Array.from(candidate.actual).every((value, i) => value === champion.actual[i]) &&
    String(candidate.classes) === String(champion.classes);
  if (!same) {
    throw new RangeError(
      'pairedBootstrap: candidate and champion must be scored on the same rows, targets and classes',
    );
  }
}

/** The metric of one model's predictions as a function of row weights. */
export function weightedMetric(metric: MetricName, predictions: HoldoutPredictions): WeightedMetric {
  const { actual, predicted, classes } = predictions;
  for (let i = 0; i < predicted.length; i++) {
    if (!Number.isFinite(predicted[i])) {
      throw new RangeError(`pairedBootstrap: predicted[${i}] must be a finite number, got ${predicted[i]}`);
    }
  }
  if (classes === undefined) {
    if (predicted.length !== actual.length) {
      throw new RangeError(
        `pairedBootstrap: ${actual.length} targets but ${predicted.length} predictions for ${metric}`,
      );
    }
    return regressionMetric(metric, actual, predicted);
  }
  if (predicted.length !== actual.length * classes.length) {
    throw new RangeError(
      `pairedBootstrap: ${actual.length} rows × ${classes.length} classes need ${actual.length * classes.length} probabilities, got ${predicted.length}`,
    );
  }
  return classificationMetric(metric, actual, predicted, classes);
}

/** Σ wᵢ·termᵢ / Σ wᵢ over precomputed per-row terms. */
function weightedMean(terms: Float64Array): WeightedMetric {
  return (weights) => {
    let total = 0;
    let weight = 0;
    for (let i = 0; i < terms.length; i++) {
      total += weights[i] * terms[i];
      weight += weights[i];
    }
    return total / weight;
  };
}

function regressionMetric(metric: MetricName, y: ArrayLike<number>, yHat: ArrayLike<number>): WeightedMetric {
  const n = y.length;
  const perRow = (term: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => term(i));
  switch (metric) {
    case 'mae':
      return weightedMean(perRow((i) => Math.abs(y[i] - yHat[i])));
    case 'rmse': {
      const meanSquare = weightedMean(perRow((i) => (y[i] - yHat[i]) ** 2));
      return (weights) => Math.sqrt(meanSquare(weights));
    }
    case 'mape':
      return weightedMean(
        perRow((i) => (100 * Math.abs(y[i] - yHat[i])) / Math.max(Math.abs(y[i]), Number.EPSILON)),
      );
    case 'smape':
      return weightedMean(
        perRow((i) => {
          const scale = Math.abs(y[i]) + Math.abs(yHat[i]);
          return scale === 0 ? 0 : (200 * Math.abs(y[i] - yHat[i])) / scale;
        }),
      );
    case 'r2':
      return weightedR2(y, yHat);
    default:
      throw new RangeError(`pairedBootstrap: ${metric} is not a regression metric`);
  }
}

/**
 * R² = 1 − Σwᵢ(yᵢ − ŷᵢ)² / Σwᵢ(yᵢ − ȳ_w)² (`r2_score(..., sample_weight=w)`); a resample whose drawn
 * targets are all equal scores 1 when predicted exactly and 0 otherwise, as `r2` in `metrics.ts`.
 */
function weightedR2(y: ArrayLike<number>, yHat: ArrayLike<number>): WeightedMetric {
  return (weights) => {
    let weight = 0;
    let weightedSum = 0;
    let residual = 0;
    let first: number | undefined;
    let constant = true;
    for (let i = 0; i < y.length; i++) {
      if (weights[i] === 0) continue;
      first ??= y[i];
      constant &&= y[i] === first;
      weight += weights[i];
      weightedSum += weights[i] * y[i];
      residual += weights[i] * (y[i] - yHat[i]) ** 2;
    }
    if (constant) return residual === 0 ? 1 : 0;
    const mean = weightedSum / weight;
    let total = 0;
    for (let i = 0; i < y.length; i++) total += weights[i] * (y[i] - mean) ** 2;
    return 1 - residual / total;
  };
}

function classificationMetric(
  metric: MetricName,
  labels: ArrayLike<number>,
  proba: ArrayLike<number>,
  classes: readonly number[],
): WeightedMetric {
  const k = classes.length;
  const n = labels.length;
  const classIndex = new Map(classes.map((label, index) => [label, index]));
  const trueIndex = Int32Array.from({ length: n }, (_, i) => {
    const index = classIndex.get(labels[i]);
    if (index === undefined) {
      throw new RangeError(
        `pairedBootstrap: actual[${i}] = ${labels[i]} is not one of the classes [${classes}]`,
      );
    }
    return index;
  });
  // The predicted class: the largest probability, the first on ties (np.argmax), as scoreClassification.
  const predictedIndex = Int32Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[i * k + c] > proba[i * k + best]) best = c;
    return best;
  });
  switch (metric) {
    case 'accuracy':
      return weightedMean(
        Float64Array.from({ length: n }, (_, i) => (trueIndex[i] === predictedIndex[i] ? 1 : 0)),
      );
    case 'logloss': {
      const clip = (p: number) => Math.min(Math.max(p, Number.EPSILON), 1 - Number.EPSILON);
      return weightedMean(
        Float64Array.from({ length: n }, (_, i) => {
          let rowSum = 0;
          for (let c = 0; c < k; c++) rowSum += clip(proba[i * k + c]);
          return -Math.log(clip(proba[i * k + trueIndex[i]]) / rowSum);
        }),
      );
    }
    case 'precision':
    case 'recall':
    case 'f1':
      return weightedRate(metric, trueIndex, predictedIndex, k);
    case 'auc': {
      // Binary: the AUC of the larger class's column; more classes: the one-vs-rest macro average.
      const columns = k === 2 ? [1] : classes.map((_, c) => c);
      const perColumn = columns.map((c) =>
        weightedAuc(
          Uint8Array.from(trueIndex, (index) => (index === c ? 1 : 0)),
          Float64Array.from({ length: n }, (_, i) => proba[i * k + c]),
        ),
      );
      return (weights) => perColumn.reduce((sum, auc) => sum + auc(weights), 0) / perColumn.length;
    }
    default:
      throw new RangeError(`pairedBootstrap: ${metric} is not a classification metric`);
  }
}

/** Precision, recall or F1 from a weighted confusion matrix: binary for the larger class, else macro. */
function weightedRate(
  metric: 'precision' | 'recall' | 'f1',
  trueIndex: Int32Array,
  predictedIndex: Int32Array,
  k: number,
): WeightedMetric {
  return (weights) => {
    const counts = new Float64Array(k * k);
    for (let i = 0; i < trueIndex.length; i++) counts[trueIndex[i] * k + predictedIndex[i]] += weights[i];
    const rate = (c: number) => {
      let predicted = 0;
      let actual = 0;
      for (let other = 0; other < k; other++) {
        predicted += counts[other * k + c];
        actual += counts[c * k + other];
      }
      const truePositives = counts[c * k + c];
      const precision = predicted === 0 ? 0 : truePositives / predicted;
      const recall = actual === 0 ? 0 : truePositives / actual;
      if (metric === 'precision') return precision;
      if (metric === 'recall') return recall;
      return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    };
    if (k === 2) return rate(1);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += rate(c);
    return sum / k;
  };
}

/**
 * Weighted ROC AUC of a 0/1 indicator against scores (`roc_auc_score(..., sample_weight=w)`): the
 * weighted share of (positive, negative) pairs ranked right, tied scores counting one half — the
 * trapezoidal area under the ROC curve. Scores are sorted once; each evaluation is one pass.
 */
function weightedAuc(isPositive: Uint8Array, scores: Float64Array): WeightedMetric {
  const order = Int32Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]);
  // groupEnd[g]: one past the last position (in `order`) of the g-th run of tied scores.
  const groupEnds: number[] = [];
  for (let p = 1; p <= order.length; p++) {
    if (p === order.length || scores[order[p]] !== scores[order[p - 1]]) groupEnds.push(p);
  }
  return (weights) => {
    let positivesAbove = 0;
    let negatives = 0;
    let area = 0;
    let start = 0;
    for (const end of groupEnds) {
      let groupPositives = 0;
      let groupNegatives = 0;
      for (let p = start; p < end; p++) {
        const row = order[p];
        if (isPositive[row]) groupPositives += weights[row];
        else groupNegatives += weights[row];
      }
      area += groupNegatives * (positivesAbove + groupPositives / 2);
      positivesAbove += groupPositives;
      negatives += groupNegatives;
      start = end;
    }
    return area / (positivesAbove * negatives);
  };
}
