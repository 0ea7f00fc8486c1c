/**
 * Featurizers: how a table of raw data becomes the feature matrix a forest learns from, and how one
 * serving instance becomes one feature row. A featurizer is fitted on training data, is plain JSON,
 * and is stored inside the model artifact so that serving applies exactly the transform training used.
 */
import type { Column, LearningTask, Table } from './types.ts';

/**
 * How a forecast's target is expressed before the forest sees it. Forests cannot extrapolate a trend,
 * so the ratio transforms predict a change relative to a recent value instead of a level:
 * - `none`: lags and target as they are.
 * - `log`: natural logs of lags and target.
 * - `seasonal-log-ratio`: log of each value over the value one season before the predicted step
 *   (`ln y[t-k] - ln y[t-season]`), the target `ln y[t] - ln y[t-season]`.
 * - `log-ratio-last`: log of each value over the latest one (`ln y[t-k] - ln y[t-1]`).
 */
export type ForecastTransform = 'none' | 'log' | 'seasonal-log-ratio' | 'log-ratio-last';

export const FORECAST_TRANSFORMS: readonly ForecastTransform[] = [
  'seasonal-log-ratio',
  'log-ratio-last',
  'log',
  'none',
];

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
  /** Values of history a prediction needs: `max(lags, season)` for the seasonal transform, else `lags`. */
  historyLength: number;
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

function usesLog(transform: ForecastTransform): boolean {
  return transform !== 'none';
}

/** The transforms a series supports: log-based ones need strictly positive values. */
export function feasibleTransforms(values: ArrayLike<number>): ForecastTransform[] {
  for (let i = 0; i < values.length; i++) {
    if (!(values[i] > 0)) return ['none'];
  }
  return [...FORECAST_TRANSFORMS];
}

/**
 * Fits a forecast featurizer (nothing is learned from the data but the input range; the options are the
 * spec's and the search's choices).
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
  },
): ForecastFeaturizer {
  const { target, time, lags, season, transform, monthOfYear } = options;
  if (!Number.isInteger(lags) || lags < 1)
    throw new RangeError(`lags must be a positive integer, got ${lags}`);
  if (!Number.isInteger(season) || season < 1)
    throw new RangeError(`season must be a positive integer, got ${season}`);
  const values = numericValues(table, target);
  if (usesLog(transform) && !feasibleTransforms(values).includes(transform)) {
    throw new FeaturizeError(`transform "${transform}" needs every "${target}" value to be positive`);
  }
  const historyLength = transform === 'seasonal-log-ratio' ? Math.max(lags, season) : lags;
  const featureNames = Array.from({ length: lags }, (_, k) => `lag_${lags - k}`);
  if (monthOfYear) featureNames.push('month_of_year');
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return {
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
}

/** Month of year (1-12) of the month after `yyyyMm` (`'1960-12'` → 1). */
export function nextMonthOfYear(yyyyMm: string): number {
  const month = Number(yyyyMm.slice(5, 7));
  return (month % 12) + 1;
}

/**
 * Writes the features of the step after `history` into `out` and returns the base the inverse transform
 * needs. `history` holds at least `historyLength` values, oldest first; only the last ones are used.
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
  let base = 0;
  if (transform === 'seasonal-log-ratio') base = Math.log(history[n - season]);
  else if (transform === 'log-ratio-last') base = Math.log(history[n - 1]);
  for (let k = 0; k < lags; k++) {
    const value = history[n - lags + k];
    out[k] = transform === 'none' ? value : Math.log(value) - base;
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
  return featurizer.transform === 'none' ? prediction : Math.exp(base + prediction);
}

/** The transformed target the forest learns for an actual value. */
function transformTarget(featurizer: ForecastFeaturizer, actual: number, base: number): number {
  return featurizer.transform === 'none' ? actual : Math.log(actual) - base;
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
    const base = forecastFeatures(featurizer, values.subarray(t - first, t), row, month);
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

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
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
      const seen: number[] = [];
      for (let i = 0; i < rows.length; i++) {
        const value = column.values[rows[i]];
        if (Number.isFinite(value)) seen.push(value);
      }
      const min = seen.length ? Math.min(...seen) : 0;
      const max = seen.length ? Math.max(...seen) : 0;
      numeric.push({ name, fill: median(seen), min, max });
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
