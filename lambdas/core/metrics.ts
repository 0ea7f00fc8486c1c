/**
 * Model quality metrics for regression and classification, numerically matching scikit-learn 1.2.1
 * (each function names the scikit-learn call it reproduces), plus the metric catalogue the promotion
 * rule and the reports read: which way each metric improves and which task it belongs to.
 *
 * Inputs are `ArrayLike<number>` so plain arrays and the `Float64Array`s of a `TrainingSet` both fit.
 * Degenerate input (empty arrays, mismatched lengths, non-finite values, a single class where two are
 * needed) throws a `RangeError` naming the problem instead of returning NaN.
 */

import type { Task } from './types.ts';

/** Numbers in sample order: targets, predictions, labels or scores. */
export type Numbers = ArrayLike<number>;

/** Class probabilities, one row per sample and one column per class (columns follow `classes`). */
export type ProbabilityMatrix = readonly ArrayLike<number>[];

/** The names of every metric driftline records. */
export type MetricName =
  | 'mae'
  | 'rmse'
  | 'mape'
  | 'smape'
  | 'r2'
  | 'accuracy'
  | 'precision'
  | 'recall'
  | 'f1'
  | 'auc'
  | 'logloss';

/** Whether a smaller or a larger value of a metric is better. */
export type MetricDirection = 'lower' | 'higher';

/** What the catalogue knows about one metric. */
export interface MetricInfo {
  /** Human-readable name for reasons and reports, e.g. `'MAPE'`. */
  label: string;
  /**
   * Which way the metric improves. Every higher-is-better metric here (R², accuracy, precision, recall,
   * F1, AUC) is bounded above by 1; every lower-is-better metric is bounded below by 0.
   */
  direction: MetricDirection;
  /** `'percent'` when the value is already in percent (`2.55` means 2.55%). */
  unit: 'percent' | 'plain';
  /**
   * When the metric has no value on a holdout, in words that finish "undefined on this holdout because
   * …"; absent for metrics every holdout defines.
   */
  undefinedWhen?: string;
}

/** Scores of a regression or forecast model, as returned by {@link scoreRegression}. */
export interface RegressionScores {
  mae: number;
  rmse: number;
  mape: number;
  smape: number;
  r2: number;
}

/** Scores of a classifier, as returned by {@link scoreClassification}. */
export interface ClassificationScores {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** Absent when a class has no holdout row, or only its rows: its ROC curve, and so the AUC, is undefined. */
  auc?: number;
  logloss: number;
}

/** A confusion matrix: `counts[i][j]` samples of true class `classes[i]` were predicted as `classes[j]`. */
export interface ConfusionMatrix {
  classes: number[];
  counts: number[][];
}

/** Points of a ROC curve, as `sklearn.metrics.roc_curve(..., drop_intermediate=True)` returns them. */
export interface RocCurve {
  /** False positive rate at each threshold, non-decreasing from 0 to 1. */
  fpr: number[];
  /** True positive rate at each threshold, non-decreasing from 0 to 1. */
  tpr: number[];
  /**
   * Decreasing score thresholds (a sample is positive when its score ≥ the threshold). The first one is
   * the highest score + 1, as in scikit-learn 1.2, so the curve starts at (0, 0) with a finite,
   * JSON-safe threshold.
   */
  thresholds: number[];
}

/** Metrics of forecasts and regressions, in report order. */
export const REGRESSION_METRICS = [
  'mae',
  'rmse',
  'mape',
  'smape',
  'r2',
] as const satisfies readonly MetricName[];

/** Metrics of classifiers, in report order. */
export const CLASSIFICATION_METRICS = [
  'accuracy',
  'precision',
  'recall',
  'f1',
  'auc',
  'logloss',
] as const satisfies readonly MetricName[];

/** The metric catalogue: label, direction and unit of every metric. */
export const METRICS: Readonly<Record<MetricName, MetricInfo>> = {
  mae: { label: 'MAE', direction: 'lower', unit: 'plain' },
  rmse: { label: 'RMSE', direction: 'lower', unit: 'plain' },
  mape: { label: 'MAPE', direction: 'lower', unit: 'percent' },
  smape: { label: 'sMAPE', direction: 'lower', unit: 'percent' },
  r2: { label: 'R²', direction: 'higher', unit: 'plain' },
  accuracy: { label: 'accuracy', direction: 'higher', unit: 'plain' },
  precision: { label: 'precision', direction: 'higher', unit: 'plain' },
  recall: { label: 'recall', direction: 'higher', unit: 'plain' },
  f1: { label: 'F1', direction: 'higher', unit: 'plain' },
  auc: {
    label: 'AUC',
    direction: 'higher',
    unit: 'plain',
    undefinedWhen: 'it needs holdout rows of every class and the holdout has rows of only some',
  },
  logloss: { label: 'log loss', direction: 'lower', unit: 'plain' },
};

/**
 * Tells whether a string (e.g. from a JSON config) is a known metric name.
 *
 * @example isMetricName('rmse') // true
 */
export function isMetricName(value: string): value is MetricName {
  return Object.hasOwn(METRICS, value);
}

/**
 * Which way a metric improves.
 *
 * @example metricDirection('rmse') // 'lower'
 * @example metricDirection('auc') // 'higher'
 */
export function metricDirection(name: MetricName): MetricDirection {
  return METRICS[name].direction;
}

/**
 * The metrics recorded for a task: forecasts and regressions get {@link REGRESSION_METRICS},
 * classifiers {@link CLASSIFICATION_METRICS}.
 */
export function metricsForTask(task: Task): readonly MetricName[] {
  return task === 'classification' ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
}

// ---------------------------------------------------------------------------------------------------
// Input checks
// ---------------------------------------------------------------------------------------------------

function assertFinite(metric: string, role: string, values: Numbers): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RangeError(`${metric}: ${role}[${i}] must be a finite number, got ${values[i]}`);
    }
  }
}

/** `yTrue` non-empty and finite, and `other` (predictions, scores or probability rows) just as long. */
function assertSamples(metric: string, yTrue: Numbers, other: ArrayLike<unknown>, otherRole: string): void {
  if (yTrue.length === 0) {
    throw new RangeError(`${metric}: requires at least one sample, got empty yTrue`);
  }
  if (other.length !== yTrue.length) {
    throw new RangeError(
      `${metric}: yTrue and ${otherRole} must have the same length, got ${yTrue.length} and ${other.length}`,
    );
  }
  assertFinite(metric, 'yTrue', yTrue);
}

/** Both arrays non-empty, of equal length and finite. */
function assertPaired(metric: string, yTrue: Numbers, other: Numbers, otherRole: string): void {
  assertSamples(metric, yTrue, other, otherRole);
  assertFinite(metric, otherRole, other);
}

/** At least two classes, finite and strictly ascending (the column order of a probability matrix). */
function assertClasses(metric: string, classes: readonly number[]): void {
  if (classes.length < 2) {
    throw new RangeError(`${metric}: requires at least two classes, got [${classes.join(', ')}]`);
  }
  assertFinite(metric, 'classes', classes);
  for (let i = 1; i < classes.length; i++) {
    if (classes[i] <= classes[i - 1]) {
      throw new RangeError(`${metric}: classes must be strictly ascending, got [${classes.join(', ')}]`);
    }
  }
}

/** Maps each label to its index in `classes`, throwing on a label that is not a class. */
function encodeLabels(metric: string, role: string, labels: Numbers, classes: readonly number[]): Int32Array {
  const indexOf = new Map(classes.map((label, index) => [label, index]));
  const encoded = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const index = indexOf.get(labels[i]);
    if (index === undefined) {
      throw new RangeError(`${metric}: ${role}[${i}] = ${labels[i]} is not one of the classes [${classes}]`);
    }
    encoded[i] = index;
  }
  return encoded;
}

/** The distinct values of the given arrays, ascending. */
function distinctSorted(...arrays: Numbers[]): number[] {
  const seen = new Set<number>();
  for (const values of arrays) {
    for (let i = 0; i < values.length; i++) seen.add(values[i]);
  }
  return [...seen].sort((a, b) => a - b);
}

/**
 * One column per class, entries in [0, 1], and each row summing to 1 within scikit-learn's
 * `np.allclose` tolerance (1e-8 + 1e-5·sum), which `roc_auc_score` also demands of multi-class scores.
 */
function assertProbabilityMatrix(metric: string, proba: ProbabilityMatrix, classCount: number): void {
  proba.forEach((row, r) => {
    if (row.length !== classCount) {
      throw new RangeError(`${metric}: proba row ${r} must have ${classCount} columns, got ${row.length}`);
    }
    let sum = 0;
    for (let c = 0; c < row.length; c++) {
      if (!(row[c] >= 0 && row[c] <= 1)) {
        throw new RangeError(`${metric}: proba[${r}][${c}] must be a probability in [0, 1], got ${row[c]}`);
      }
      sum += row[c];
    }
    if (Math.abs(1 - sum) > 1e-8 + 1e-5 * sum) {
      throw new RangeError(`${metric}: proba row ${r} must sum to 1, got ${sum}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Regression
// ---------------------------------------------------------------------------------------------------

function sumOf(n: number, term: (i: number) => number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += term(i);
  return sum;
}

function meanOf(n: number, term: (i: number) => number): number {
  return sumOf(n, term) / n;
}

/**
 * Mean absolute error, MAE = (1/n)·Σ|yᵢ − ŷᵢ| (`sklearn.metrics.mean_absolute_error`).
 *
 * @throws {RangeError} on empty or mismatched input or a non-finite value
 * @example mae([3, 5], [2, 7]) // 1.5
 */
export function mae(yTrue: Numbers, yPred: Numbers): number {
  assertPaired('mae', yTrue, yPred, 'yPred');
  return meanOf(yTrue.length, (i) => Math.abs(yTrue[i] - yPred[i]));
}

/**
 * Root mean squared error, RMSE = √((1/n)·Σ(yᵢ − ŷᵢ)²)
 * (`sklearn.metrics.mean_squared_error(..., squared=False)`).
 *
 * @throws {RangeError} on empty or mismatched input or a non-finite value
 * @example rmse([3, 5], [2, 7]) // √2.5 ≈ 1.5811
 */
export function rmse(yTrue: Numbers, yPred: Numbers): number {
  assertPaired('rmse', yTrue, yPred, 'yPred');
  return Math.sqrt(meanOf(yTrue.length, (i) => (yTrue[i] - yPred[i]) ** 2));
}

/**
 * Mean absolute percentage error in percent, MAPE = 100·(1/n)·Σ|yᵢ − ŷᵢ| / max(|yᵢ|, ε) with ε the
 * float64 machine epsilon: `100 * sklearn.metrics.mean_absolute_percentage_error`. A zero in `yTrue`
 * with a non-zero error therefore yields an enormous value, as in scikit-learn; prefer
 * {@link smape} for series that touch zero.
 *
 * @throws {RangeError} on empty or mismatched input or a non-finite value
 * @example mape([100, 200], [110, 190]) // 7.5 (percent)
 */
export function mape(yTrue: Numbers, yPred: Numbers): number {
  assertPaired('mape', yTrue, yPred, 'yPred');
  return (
    100 *
    meanOf(yTrue.length, (i) => Math.abs(yTrue[i] - yPred[i]) / Math.max(Math.abs(yTrue[i]), Number.EPSILON))
  );
}

/**
 * Symmetric mean absolute percentage error in percent, sMAPE = 100·(1/n)·Σ 2|yᵢ − ŷᵢ| / (|yᵢ| + |ŷᵢ|),
 * where a term with yᵢ = ŷᵢ = 0 counts as 0 (a perfect prediction of zero). Ranges over [0, 200].
 *
 * @throws {RangeError} on empty or mismatched input or a non-finite value
 * @example smape([100, 0], [300, 0]) // 50 (percent)
 */
export function smape(yTrue: Numbers, yPred: Numbers): number {
  assertPaired('smape', yTrue, yPred, 'yPred');
  return (
    100 *
    meanOf(yTrue.length, (i) => {
      const scale = Math.abs(yTrue[i]) + Math.abs(yPred[i]);
      return scale === 0 ? 0 : (2 * Math.abs(yTrue[i] - yPred[i])) / scale;
    })
  );
}

/**
 * Coefficient of determination, R² = 1 − Σ(yᵢ − ŷᵢ)² / Σ(yᵢ − ȳ)² (`sklearn.metrics.r2_score`).
 * Ranges over (−∞, 1]; below 0 the model is worse than predicting the mean.
 *
 * A constant `yTrue` has no variance to explain. Like scikit-learn's default `force_finite=True`, R² is
 * then 1 for a perfect prediction and 0 otherwise, so a model can always be ranked. We test "constant"
 * exactly (every value equal) rather than through the floating-point sum of squares, where scikit-learn
 * can see a rounding residue: `r2_score([0.1, 0.1, 0.1], [0.1, 0.1, 0.2])` gives −1.7e31 there, 0 here.
 *
 * @throws {RangeError} on fewer than two samples (scikit-learn returns NaN), mismatched or non-finite input
 * @example r2([1, 2, 3], [1, 2, 4]) // 0.5
 */
export function r2(yTrue: Numbers, yPred: Numbers): number {
  assertPaired('r2', yTrue, yPred, 'yPred');
  const n = yTrue.length;
  if (n < 2) {
    throw new RangeError(`r2: requires at least two samples, got ${n}`);
  }
  const residualSumOfSquares = sumOf(n, (i) => (yTrue[i] - yPred[i]) ** 2);
  let isConstant = true;
  for (let i = 1; i < n && isConstant; i++) isConstant = yTrue[i] === yTrue[0];
  if (isConstant) {
    return residualSumOfSquares === 0 ? 1 : 0;
  }
  const mean = meanOf(n, (i) => yTrue[i]);
  const totalSumOfSquares = sumOf(n, (i) => (yTrue[i] - mean) ** 2);
  return 1 - residualSumOfSquares / totalSumOfSquares;
}

/**
 * All regression metrics of a holdout at once.
 *
 * @throws {RangeError} as the individual metrics
 */
export function scoreRegression(yTrue: Numbers, yPred: Numbers): RegressionScores {
  return {
    mae: mae(yTrue, yPred),
    rmse: rmse(yTrue, yPred),
    mape: mape(yTrue, yPred),
    smape: smape(yTrue, yPred),
    r2: r2(yTrue, yPred),
  };
}

// ---------------------------------------------------------------------------------------------------
// Classification: label metrics
// ---------------------------------------------------------------------------------------------------

/**
 * Share of samples whose predicted label equals the true label (`sklearn.metrics.accuracy_score`).
 *
 * @throws {RangeError} on empty or mismatched input or a non-finite label
 * @example accuracy([0, 1, 1, 0], [0, 1, 0, 0]) // 0.75
 */
export function accuracy(yTrue: Numbers, yPred: Numbers): number {
  assertPaired('accuracy', yTrue, yPred, 'yPred');
  return meanOf(yTrue.length, (i) => (yTrue[i] === yPred[i] ? 1 : 0));
}

function buildConfusionMatrix(metric: string, yTrue: Numbers, yPred: Numbers, classes?: readonly number[]) {
  assertPaired(metric, yTrue, yPred, 'yPred');
  const resolved = classes ?? distinctSorted(yTrue, yPred);
  assertClasses(metric, resolved);
  const trueIndex = encodeLabels(metric, 'yTrue', yTrue, resolved);
  const predIndex = encodeLabels(metric, 'yPred', yPred, resolved);
  const counts = resolved.map(() => resolved.map(() => 0));
  for (let i = 0; i < trueIndex.length; i++) counts[trueIndex[i]][predIndex[i]] += 1;
  return { classes: [...resolved], counts };
}

/**
 * Confusion matrix with true classes as rows and predicted classes as columns
 * (`sklearn.metrics.confusion_matrix(y_true, y_pred, labels=classes)`).
 *
 * @param classes - the classes, strictly ascending; defaults to the distinct labels of both arrays
 * @throws {RangeError} on empty or mismatched input, fewer than two classes, or a label outside `classes`
 * @example confusionMatrix([0, 1, 1], [0, 0, 1]) // { classes: [0, 1], counts: [[1, 0], [1, 1]] }
 */
export function confusionMatrix(
  yTrue: Numbers,
  yPred: Numbers,
  classes?: readonly number[],
): ConfusionMatrix {
  return buildConfusionMatrix('confusionMatrix', yTrue, yPred, classes);
}

/** Precision, recall and F1 of each class, with 0 where a ratio is 0/0 (scikit-learn's `zero_division`). */
function perClassRates(counts: number[][]) {
  return counts.map((row, c) => {
    const truePositives = row[c];
    const predictedPositives = counts.reduce((sum, otherRow) => sum + otherRow[c], 0);
    const actualPositives = row.reduce((sum, count) => sum + count, 0);
    const precision = predictedPositives === 0 ? 0 : truePositives / predictedPositives;
    const recall = actualPositives === 0 ? 0 : truePositives / actualPositives;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { precision, recall, f1 };
  });
}

/** The binary score of the larger class, or the macro average over all classes. */
function binaryOrMacro(
  metric: 'precision' | 'recall' | 'f1',
  yTrue: Numbers,
  yPred: Numbers,
  classes?: readonly number[],
): number {
  const { counts } = buildConfusionMatrix(metric, yTrue, yPred, classes);
  const rates = perClassRates(counts).map((rate) => rate[metric]);
  if (rates.length === 2) return rates[1];
  return rates.reduce((sum, rate) => sum + rate, 0) / rates.length;
}

/**
 * Precision, TP / (TP + FP).
 *
 * - Two classes: precision of the positive class, the larger label (`precision_score(y, p,
 *   pos_label=max(classes))`, i.e. scikit-learn's default for labels {0, 1}).
 * - More classes: the unweighted mean over classes (`average='macro'`, `labels=classes`).
 *
 * A class never predicted has precision 0, as scikit-learn's default `zero_division`.
 *
 * @param classes - the classes, strictly ascending; defaults to the distinct labels of both arrays.
 *   Pass it when a sample may miss a class, so binary vs multi-class does not depend on the data.
 * @throws {RangeError} on empty or mismatched input, fewer than two classes, or a label outside `classes`
 * @example precision([0, 1, 1, 0], [1, 1, 0, 0]) // 0.5
 */
export function precision(yTrue: Numbers, yPred: Numbers, classes?: readonly number[]): number {
  return binaryOrMacro('precision', yTrue, yPred, classes);
}

/**
 * Recall, TP / (TP + FN): binary for the larger label, macro average over classes otherwise, as
 * {@link precision}. A class absent from `yTrue` has recall 0.
 *
 * @throws {RangeError} as {@link precision}
 * @example recall([0, 1, 1, 0], [1, 1, 0, 0]) // 0.5
 */
export function recall(yTrue: Numbers, yPred: Numbers, classes?: readonly number[]): number {
  return binaryOrMacro('recall', yTrue, yPred, classes);
}

/**
 * F1 = 2·precision·recall / (precision + recall), 0 when both are 0 (`sklearn.metrics.f1_score`):
 * binary for the larger label, macro average of the per-class F1 otherwise, as {@link precision}.
 *
 * @throws {RangeError} as {@link precision}
 * @example f1([0, 1, 1, 0], [1, 1, 0, 0]) // 0.5
 */
export function f1(yTrue: Numbers, yPred: Numbers, classes?: readonly number[]): number {
  return binaryOrMacro('f1', yTrue, yPred, classes);
}

// ---------------------------------------------------------------------------------------------------
// Classification: ranking metrics
// ---------------------------------------------------------------------------------------------------

/**
 * Cumulative false and true positives at each distinct score, highest first: sklearn's
 * `_binary_clf_curve`. Tied scores form one threshold, so ties move the curve diagonally.
 */
function cumulativeCounts(isPositive: Uint8Array, scores: Numbers) {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const falsePositives: number[] = [];
  const truePositives: number[] = [];
  const thresholds: number[] = [];
  let positives = 0;
  for (let k = 0; k < order.length; k++) {
    positives += isPositive[order[k]];
    const isLastOfScore = k === order.length - 1 || scores[order[k + 1]] !== scores[order[k]];
    if (isLastOfScore) {
      truePositives.push(positives);
      falsePositives.push(k + 1 - positives);
      thresholds.push(scores[order[k]]);
    }
  }
  return { falsePositives, truePositives, thresholds };
}

/** ROC curve of a 0/1 indicator against scores, with scikit-learn's `drop_intermediate=True`. */
function indicatorRocCurve(metric: string, isPositive: Uint8Array, scores: Numbers): RocCurve {
  const { falsePositives, truePositives, thresholds } = cumulativeCounts(isPositive, scores);
  const last = falsePositives.length - 1;
  if (truePositives[last] === 0 || falsePositives[last] === 0) {
    throw new RangeError(
      `${metric}: needs both positive and negative samples in yTrue, got only ${truePositives[last] === 0 ? 'negatives' : 'positives'}`,
    );
  }
  // A point with the same step before and after it lies on a straight segment: it adds nothing to
  // the plotted curve or its area, so scikit-learn drops it (a non-zero second difference is a corner).
  const kept = falsePositives
    .map((_, i) => i)
    .filter(
      (i) =>
        i === 0 ||
        i === last ||
        falsePositives[i + 1] - 2 * falsePositives[i] + falsePositives[i - 1] !== 0 ||
        truePositives[i + 1] - 2 * truePositives[i] + truePositives[i - 1] !== 0,
    );
  const negativeCount = falsePositives[last];
  const positiveCount = truePositives[last];
  return {
    fpr: [0, ...kept.map((i) => falsePositives[i] / negativeCount)],
    tpr: [0, ...kept.map((i) => truePositives[i] / positiveCount)],
    thresholds: [thresholds[0] + 1, ...kept.map((i) => thresholds[i])],
  };
}

/** Area under a curve by the trapezoidal rule (`np.trapz(y, x)`, as `sklearn.metrics.auc`). */
function trapezoidArea(x: readonly number[], y: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < x.length; i++) area += ((x[i] - x[i - 1]) * (y[i] + y[i - 1])) / 2;
  return area;
}

function indicatorAuc(metric: string, isPositive: Uint8Array, scores: Numbers): number {
  const curve = indicatorRocCurve(metric, isPositive, scores);
  return trapezoidArea(curve.fpr, curve.tpr);
}

/** The positive label of a binary problem given by its true labels: the larger of exactly two. */
function binaryPositiveLabel(metric: string, yTrue: Numbers): number {
  const labels = distinctSorted(yTrue);
  if (labels.length < 2) {
    throw new RangeError(`${metric}: needs two classes in yTrue, got only label ${labels[0]}`);
  }
  if (labels.length > 2) {
    throw new RangeError(
      `${metric}: binary scores need exactly two classes in yTrue, got [${labels.join(', ')}]; ` +
        'pass a probability matrix and classes for a multi-class problem',
    );
  }
  return labels[1];
}

function indicatorOf(yTrue: Numbers, positiveLabel: number): Uint8Array {
  return Uint8Array.from({ length: yTrue.length }, (_, i) => (yTrue[i] === positiveLabel ? 1 : 0));
}

/**
 * ROC curve points for a report chart (`sklearn.metrics.roc_curve(y_true, scores, pos_label=...,
 * drop_intermediate=True)`): thresholds run from the highest score + 1 down to the lowest score, tied
 * scores form one threshold, and points collinear with their neighbours are dropped.
 *
 * @param scores - a score per sample, higher meaning "more positive" (probability or decision value)
 * @param positiveLabel - the positive class; every other label is negative (one-vs-rest). Defaults to
 *   the larger label when `yTrue` holds exactly two.
 * @throws {RangeError} on empty, mismatched or non-finite input, when `yTrue` lacks positives or
 *   negatives, or (without `positiveLabel`) holds more than two labels
 * @example rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
 * // { fpr: [0, 0, 0.5, 0.5, 1], tpr: [0, 0.5, 0.5, 1, 1], thresholds: [1.8, 0.8, 0.4, 0.35, 0.1] }
 */
export function rocCurve(yTrue: Numbers, scores: Numbers, positiveLabel?: number): RocCurve {
  assertPaired('rocCurve', yTrue, scores, 'scores');
  const positive = positiveLabel ?? binaryPositiveLabel('rocCurve', yTrue);
  return indicatorRocCurve('rocCurve', indicatorOf(yTrue, positive), scores);
}

function isMatrix(scores: Numbers | ProbabilityMatrix): scores is ProbabilityMatrix {
  return scores.length > 0 && typeof scores[0] === 'object';
}

/**
 * Area under the ROC curve (`sklearn.metrics.roc_auc_score`), the trapezoidal area under
 * {@link rocCurve}: the probability that a random positive scores above a random negative, ties counting
 * one half.
 *
 * - `rocAuc(yTrue, scores)`: binary; `yTrue` holds exactly two labels and the larger is positive.
 * - `rocAuc(yTrue, proba, classes)`: with two classes, the binary AUC of the larger class's column;
 *   with more, the one-vs-rest macro average of the per-class AUCs (`multi_class='ovr',
 *   average='macro', labels=classes`). Rows must be probabilities summing to 1, as scikit-learn requires.
 *
 * @throws {RangeError} on empty, mismatched or non-finite input, a label outside `classes`, or a class
 *   with no positive or no negative sample (AUC is undefined for it)
 * @example rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) // 0.75
 */
export function rocAuc(yTrue: Numbers, scores: Numbers): number;
export function rocAuc(yTrue: Numbers, proba: ProbabilityMatrix, classes: readonly number[]): number;
export function rocAuc(
  yTrue: Numbers,
  scores: Numbers | ProbabilityMatrix,
  classes?: readonly number[],
): number {
  if (classes === undefined) {
    if (isMatrix(scores)) {
      throw new RangeError('rocAuc: a probability matrix needs the classes of its columns');
    }
    assertPaired('rocAuc', yTrue, scores, 'scores');
    return indicatorAuc('rocAuc', indicatorOf(yTrue, binaryPositiveLabel('rocAuc', yTrue)), scores);
  }
  if (!isMatrix(scores)) {
    throw new RangeError('rocAuc: with classes, pass a probability matrix (rows × classes)');
  }
  return probabilityRocAuc(yTrue, scores, classes);
}

function probabilityRocAuc(yTrue: Numbers, proba: ProbabilityMatrix, classes: readonly number[]): number {
  assertSamples('rocAuc', yTrue, proba, 'proba');
  assertClasses('rocAuc', classes);
  assertProbabilityMatrix('rocAuc', proba, classes.length);
  const trueIndex = encodeLabels('rocAuc', 'yTrue', yTrue, classes);
  const aucOfClass = (c: number) =>
    indicatorAuc(
      `rocAuc (class ${classes[c]})`,
      Uint8Array.from(trueIndex, (index) => (index === c ? 1 : 0)),
      proba.map((row) => row[c]),
    );
  if (classes.length === 2) return aucOfClass(1);
  return classes.reduce((sum, _, c) => sum + aucOfClass(c), 0) / classes.length;
}

/**
 * Mean cross-entropy, −(1/n)·Σ log p̃(yᵢ), as `sklearn.metrics.log_loss(y_true, proba, labels=classes)`
 * in scikit-learn 1.2: each probability is first clipped to [ε, 1 − ε] with ε = float64 machine epsilon
 * (`eps='auto'`), so a confident mistake costs about −log ε ≈ 36 instead of infinity, then each row is
 * renormalised to sum to 1.
 *
 * @param proba - class probabilities, rows × classes, columns in the order of `classes`
 * @param classes - the classes, strictly ascending
 * @throws {RangeError} on empty, mismatched or non-finite input, rows that are not probabilities summing
 *   to 1 (scikit-learn would silently renormalise them), fewer than two classes, or a label outside `classes`
 * @example logLoss([0, 1], [[0.9, 0.1], [0.2, 0.8]], [0, 1]) // (−log 0.9 − log 0.8) / 2 ≈ 0.1643
 */
export function logLoss(yTrue: Numbers, proba: ProbabilityMatrix, classes: readonly number[]): number {
  assertSamples('logLoss', yTrue, proba, 'proba');
  assertClasses('logLoss', classes);
  assertProbabilityMatrix('logLoss', proba, classes.length);
  const trueIndex = encodeLabels('logLoss', 'yTrue', yTrue, classes);
  const clip = (p: number) => Math.min(Math.max(p, Number.EPSILON), 1 - Number.EPSILON);
  return meanOf(yTrue.length, (i) => {
    const row = proba[i];
    let rowSum = 0;
    for (let c = 0; c < row.length; c++) rowSum += clip(row[c]);
    return -Math.log(clip(row[trueIndex[i]]) / rowSum);
  });
}

/**
 * All classification metrics of a holdout at once. The predicted class of a row is the class of its
 * largest probability (the first one on ties, as `np.argmax`); precision, recall and F1 are binary for
 * the larger of two classes and macro-averaged otherwise; AUC is binary or one-vs-rest macro, and absent
 * when a class is missing from `yTrue` (scikit-learn's `roc_auc_score` raises "Only one class present in
 * y_true" then): a small holdout of new rows can hold one class only, and that must not fail a run.
 *
 * @param yTrue - true labels, each one of `classes`
 * @param proba - class probabilities, rows × classes, columns in the order of `classes`
 * @param classes - the classes, strictly ascending
 * @throws {RangeError} as the individual metrics
 */
export function scoreClassification(
  yTrue: Numbers,
  proba: ProbabilityMatrix,
  classes: readonly number[],
): ClassificationScores {
  assertSamples('scoreClassification', yTrue, proba, 'proba');
  assertClasses('scoreClassification', classes);
  assertProbabilityMatrix('scoreClassification', proba, classes.length);
  const yPred = proba.map((row) => classes[argmax(row)]);
  return {
    accuracy: accuracy(yTrue, yPred),
    precision: precision(yTrue, yPred, classes),
    recall: recall(yTrue, yPred, classes),
    f1: f1(yTrue, yPred, classes),
    ...(everyClassPresent(yTrue, classes) ? { auc: rocAuc(yTrue, proba, classes) } : {}),
    logloss: logLoss(yTrue, proba, classes),
  };
}

/**
 * Whether every class has a row in `yTrue`, so each one-vs-rest split has positives and negatives (with
 * at least two classes, a present class always leaves the others as its negatives).
 */
function everyClassPresent(yTrue: Numbers, classes: readonly number[]): boolean {
  const present = new Set<number>();
  for (let i = 0; i < yTrue.length; i++) present.add(yTrue[i]);
  return classes.every((label) => present.has(label));
}

/** Index of the largest value, the first one on ties. */
function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
