/**
 * The training procedure, in steps the pipeline runs as separate Lambdas and the CLI runs in one process:
 *
 * 1. `buildFeatureSets`: the dataset as feature matrices, one per featurizer variant (for forecasts, each
 *    target transform worth trying), with every row's role: training or holdout.
 * 2. `planCandidates`: hyperparameter candidates (variant × forest parameters), warm-started from the
 *    production model's parameters.
 * 3. `scoreCandidate`: score a candidate inside the training rows (rolling origin, out of bag or k-fold).
 * 4. `fitFinal`: fit the best candidate on the training rows (sharded for large data).
 * 5. `holdoutPredictions` / `modelHoldoutPredictions`: the candidate's and the champion's predictions on
 *    the very same holdout rows, scored by `scorePredictions` and compared by `pairedBootstrap`.
 */
import {
  AUTO_PREFERRED,
  buildMatrix,
  columnOf,
  type FeatureMatrix,
  type Featurizer,
  feasibleTransforms,
  fitForecastFeaturizer,
  fitTabularFeaturizer,
  historyLengthOf,
  invertForecast,
  numericValues,
  sliceMatrix,
} from './features.ts';
import { type FlatForest, getLearner, predictBatch, trainShard } from './forest/index.ts';
import { outOfBagPredictions } from './forest/oob.ts';
import { type MetricName, metricDirection, scoreClassification, scoreRegression } from './metrics.ts';
import { type LoadedModel, packModel, predictInstances } from './model.ts';
import type { HoldoutPredictions } from './paired-bootstrap.ts';
import { candidates as searchCandidates } from './search.ts';
import {
  defaultHorizon,
  dieboldMariano,
  K_FOLDS,
  kFolds,
  rollingOriginFolds,
  rowLosses,
  SEARCH_ROWS,
  SWITCH_CRITICAL_VALUE,
  sampleRows,
  selectionMetric,
} from './selection.ts';
import { forestParamsSchema, type ModelSpec, resolveColumns } from './spec.ts';
import {
  FIT,
  HOLDOUT,
  hashedSplit,
  hashesDigest,
  holdoutSize,
  rowHashes,
  rowsWithRole,
  type Split,
  timeSplit,
} from './splits.ts';
import type { ForestParams, Table, TrainingSet } from './types.ts';

/** A dataset featurized one way, with each matrix row's role. */
export interface FeatureSet {
  variant: string;
  featurizer: Featurizer;
  matrix: FeatureMatrix;
  roles: Uint8Array;
  holdout: HoldoutSummary;
  /**
   * Forecasts: steps each rolling origin scores, the same for every variant of a run so that all are
   * scored on the same (most recent) training months.
   */
  horizon?: number;
}

/** Which rows the holdout holds, for the run record: the same rows give the same digest. */
export interface HoldoutSummary {
  /** The rule in words, e.g. "the last 24 periods" or "rows whose content hashes below 0.25". */
  rule: string;
  rows: number;
  /** Rows the rule selects that the champion trained on: moved to training, never scored. */
  excludedSeenByChampion: number;
  /** sha256 (first 16 hex digits) of the holdout rows' hashes, sorted (`hashesDigest`). */
  digest: string;
}

/** A hyperparameter candidate: which feature set, which forest parameters, and why it is tried. */
export interface Candidate {
  id: string;
  variant: string;
  params: ForestParams;
  origin: string;
}

/** Thrown when the data can't be trained on as the spec asks (too few rows for the holdout…). */
export class TrainingDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingDataError';
  }
}

/**
 * How the rows of a table are identified for the holdout rule: each row's hash (`rowHashes`; a stored
 * table carries them, `storedRowHashes`) and the hashes of the rows the production model trained on.
 */
export interface RowIdentity {
  /** One hash per table row; computed from the table when absent. */
  hashes?: Float64Array;
  /** Hashes of the rows the production model trained on: they never enter the holdout. */
  seen?: ReadonlySet<number>;
}

/**
 * Featurizes a dataset every way the spec allows. Forecasts with `transform: 'auto'` get one set per
 * transform the series supports (the search picks by selection score); tabular data gets one set, its
 * featurizer fitted on the training rows only so the holdout stays unseen. Rows are placed in the
 * holdout by their hashes ({@link RowIdentity}); rows the production model trained on never are.
 *
 * @throws TrainingDataError when the holdout leaves too little to train on, or holds only seen rows.
 */
export function buildFeatureSets(spec: ModelSpec, table: Table, rows: RowIdentity = {}): FeatureSet[] {
  try {
    const hashes = rows.hashes ?? rowHashes(spec, table).values;
    if (hashes.length !== table.rowCount) {
      throw new RangeError(`${hashes.length} row hashes for ${table.rowCount} rows`);
    }
    const { seen } = rows;
    if (spec.task === 'forecast') {
      const values = numericValues(table, spec.target);
      const transforms =
        spec.featurize.transform === 'auto' ? feasibleTransforms(values) : [spec.featurize.transform];
      const sets = transforms.map((transform): FeatureSet => {
        const matrixRows = table.rowCount - historyLengthOf(transform, spec.lags, spec.season);
        const featurizer = fitForecastFeaturizer(table, {
          target: spec.target,
          time: spec.time,
          lags: spec.lags,
          season: spec.season,
          transform,
          monthOfYear: spec.featurize.monthOfYear === true,
          // Whatever the featurizer learns from values, it learns before the holdout.
          trainingRows: table.rowCount - holdoutSize(spec.holdout, Math.max(1, matrixRows)),
        });
        const matrix = buildMatrix(featurizer, table);
        const matrixHashes = Float64Array.from(matrix.rows, (row) => hashes[row]);
        const split = timeSplit(matrixHashes, spec.holdout, seen);
        const rule = `the last ${spec.holdout} periods`;
        return { variant: transform, featurizer, matrix, ...withSummary(split, matrixHashes, rule) };
      });
      const horizon = Math.min(
        ...sets.map((set) => defaultHorizon(roleCounts(set.roles).train, { season: spec.season })),
      );
      return sets.map((set) => ({ ...set, horizon }));
    }
    const { features, categorical } = resolveColumns(spec, table);
    const split = hashedSplit(hashes, { holdout: spec.holdout, seen });
    const trainingRows = rowsWithRole(split.roles, FIT);
    const featurizer = fitTabularFeaturizer(table, {
      task: spec.task,
      target: spec.target,
      features,
      categorical,
      rows: trainingRows,
    });
    const rule = Number.isInteger(spec.holdout)
      ? `rows whose content hashes below ${spec.holdout}/${table.rowCount}`
      : `rows whose content hashes below ${spec.holdout}`;
    return [
      {
        variant: 'tabular',
        featurizer,
        matrix: buildMatrix(featurizer, table),
        ...withSummary(split, hashes, rule),
      },
    ];
  } catch (error) {
    if (error instanceof RangeError) throw new TrainingDataError(error.message);
    throw error;
  }
}

function withSummary(split: Split, hashes: Float64Array, rule: string) {
  const held = Float64Array.from(rowsWithRole(split.roles, HOLDOUT), (position) => hashes[position]);
  const holdout: HoldoutSummary = {
    rule,
    rows: held.length,
    excludedSeenByChampion: split.excluded,
    digest: hashesDigest(held),
  };
  return { roles: split.roles, holdout };
}

/**
 * The feature set the promoted model is refit on once the holdout has judged it: every row, holdout
 * included, so the served model has learned the newest data. Tabular featurizers are refit on all rows
 * too (medians, categories, classes); a forecast's featurizer learns nothing from rows and is kept.
 */
export function refitFeatureSet(spec: ModelSpec, table: Table, featureSet: FeatureSet): FeatureSet {
  const roles = new Uint8Array(featureSet.roles.length).fill(FIT);
  if (featureSet.featurizer.kind === 'forecast') return { ...featureSet, roles };
  const { features, categorical } = resolveColumns(spec, table);
  const featurizer = fitTabularFeaturizer(table, {
    task: featureSet.featurizer.task,
    target: spec.target,
    features,
    categorical,
  });
  const matrix = buildMatrix(featurizer, table);
  return { ...featureSet, featurizer, matrix, roles: new Uint8Array(matrix.rowCount).fill(FIT) };
}

/**
 * How many holdout rows of a feature set are rows the champion trained on: the check behind "the
 * champion is never scored on rows it trained on". `hashes` are the row hashes of the table the set was
 * built from, `seen` those of the champion's dataset.
 */
export function holdoutOverlap(
  featureSet: FeatureSet,
  hashes: Float64Array,
  seen: ReadonlySet<number>,
): number {
  let overlap = 0;
  for (const position of rowsWithRole(featureSet.roles, HOLDOUT)) {
    if (seen.has(hashes[featureSet.matrix.rows[position]])) overlap++;
  }
  return overlap;
}

/** Counts of rows per role. */
export function roleCounts(roles: Uint8Array): { train: number; holdout: number } {
  const holdout = rowsWithRole(roles, HOLDOUT).length;
  return { train: roles.length - holdout, holdout };
}

/**
 * Hyperparameter candidates for a run: the production model's parameters and their neighbours first,
 * then seeded draws from the spec's space (for forecasts the featurizer variant is one more dimension).
 */
export function planCandidates(
  spec: ModelSpec,
  variants: string[],
  warmStart?: { variant?: string; params: Record<string, unknown> },
): Candidate[] {
  const space: Record<string, Array<number | string | boolean>> = { ...spec.search.space } as Record<
    string,
    Array<number | string | boolean>
  >;
  if (variants.length > 1) space.variant = variants;
  const base: Record<string, unknown> = { ...spec.hyperparameters, variant: variants[0] };
  // The champion's recorded parameters are resolved for its own data: every default filled in, and the
  // leaf cap decided by its row count (maxLeaves 0 below the cap's threshold). A warm start takes from
  // them only what the search chose (the space's hyperparameters), on the spec's own, so the rest is
  // resolved again for this run's rows: a champion trained on 20k rows must not uncap a 1M-row fit.
  const searched = Object.entries(spec.search.space)
    .filter(([, values]) => values !== undefined)
    .map(([key]) => key);
  const warm = warmStart
    ? {
        ...base,
        ...Object.fromEntries(
          searched
            .filter((key) => warmStart.params[key] !== undefined)
            .map((key) => [key, warmStart.params[key]]),
        ),
        variant: warmStart.variant ?? variants[0],
      }
    : undefined;
  let planned: { params: Record<string, unknown>; origin: string }[];
  if (spec.search.strategy === 'none') {
    planned = [{ params: warm ?? base, origin: warm ? 'warm-start' : 'spec' }];
  } else if (!warm && variants.length > 1) {
    // With no production model to start from, every featurizer variant first gets the spec's own
    // parameters, so the transforms are compared on equal terms before random draws fill the budget.
    const fair = variants.map((variant) => ({ params: { ...base, variant }, origin: 'spec' }));
    const drawn = searchCandidates({ space, trials: spec.search.trials, seed: spec.seed, base }).filter(
      ({ params }) => !fair.some((candidate) => JSON.stringify(candidate.params) === JSON.stringify(params)),
    );
    planned = [...fair, ...drawn].slice(0, Math.max(spec.search.trials, variants.length));
  } else {
    planned = searchCandidates({ space, trials: spec.search.trials, seed: spec.seed, warmStart: warm, base });
  }
  return planned.map(({ params, origin }, index) => {
    const { variant, ...forest } = params as Record<string, unknown> & { variant?: string };
    const chosen = variants.includes(String(variant)) ? String(variant) : variants[0];
    return { id: `c${index}`, variant: chosen, params: forestParamsSchema.parse(forest), origin };
  });
}

/** The training set of some matrix rows (positions into the feature set's matrix). */
export function trainingSetAt(featureSet: FeatureSet, positions: Int32Array): TrainingSet {
  const matrix = sliceMatrix(featureSet.matrix, positions);
  const { featurizer } = featureSet;
  const classification = featurizer.kind === 'tabular' && featurizer.task === 'classification';
  return {
    task: classification ? 'classification' : 'regression',
    x: matrix.x,
    y: matrix.y,
    rowCount: matrix.rowCount,
    featureCount: matrix.featureCount,
    featureNames: featurizer.featureNames,
    classes: classification ? featurizer.classes!.map((_, index) => index) : undefined,
  };
}

/** The training set of the rows with the given roles. */
export function trainingSet(featureSet: FeatureSet, ...roles: number[]): TrainingSet {
  return trainingSetAt(featureSet, rowsWithRole(featureSet.roles, ...roles));
}

/**
 * Metrics of raw forest outputs for some matrix rows (`raw`: one value per row, or one probability per
 * class for classifiers), on the original scale (forecast transforms inverted). Classification: class
 * indices in the forest map to the featurizer's labels.
 */
function scoreRaw(featureSet: FeatureSet, positions: Int32Array, raw: Float64Array): Record<string, number> {
  const matrix = sliceMatrix(featureSet.matrix, positions);
  const { featurizer } = featureSet;
  if (featurizer.kind === 'tabular' && featurizer.task === 'classification') {
    const k = featurizer.classes!.length;
    const proba = Array.from({ length: matrix.rowCount }, (_, i) => raw.subarray(i * k, (i + 1) * k));
    return { ...scoreClassification(matrix.actual, proba, featurizer.classes!) };
  }
  return { ...scoreRegression(matrix.actual, originalScale(featureSet, positions, raw)) };
}

/** A regression forest's raw outputs on some matrix rows, on the original scale (forecast transforms inverted). */
function originalScale(featureSet: FeatureSet, positions: Int32Array, raw: Float64Array): Float64Array {
  const { featurizer } = featureSet;
  if (featurizer.kind !== 'forecast') return raw;
  const { base } = sliceMatrix(featureSet.matrix, positions);
  return Float64Array.from(raw, (value, i) => invertForecast(featurizer, value, base[i]));
}

/** Metrics of a forest on some matrix rows, on the original scale (forecast transforms inverted). */
export function scorePositions(
  featureSet: FeatureSet,
  forest: FlatForest,
  positions: Int32Array,
): Record<string, number> {
  const matrix = sliceMatrix(featureSet.matrix, positions);
  return scoreRaw(featureSet, positions, predictBatch(forest, matrix.x, matrix.rowCount));
}

/** Predictions of a forest on some matrix rows, on the original scale (for report charts). */
export function predictPositions(
  featureSet: FeatureSet,
  forest: FlatForest,
  positions: Int32Array,
): Float64Array {
  const matrix = sliceMatrix(featureSet.matrix, positions);
  const raw = predictBatch(forest, matrix.x, matrix.rowCount);
  const { featurizer } = featureSet;
  return featurizer.kind === 'forecast'
    ? Float64Array.from(raw, (value, i) => invertForecast(featurizer, value, matrix.base[i]))
    : raw;
}

export interface FitSettings {
  engine: 'fast' | 'ml-random-forest';
  seed: number;
  workers?: number;
  workerScript?: string | URL;
}

/** How a candidate was scored: which selection scheme, on how many out-of-sample predictions. */
export interface SelectionScores {
  scheme: 'rolling-origin' | 'out-of-bag' | 'k-fold';
  /** Out-of-sample predictions the score pools. */
  predictions: number;
}

/**
 * One out-of-sample prediction per scored training row: forecasts by rolling origin, tabular rows out of
 * bag (fast engine) or by stratified k-fold (an engine that cannot replay its bootstrap). Tabular
 * candidates are scored on at most {@link SEARCH_ROWS} training rows, a sample seeded by the run's seed.
 */
async function outOfSample(
  featureSet: FeatureSet,
  params: ForestParams,
  settings: FitSettings,
): Promise<{ positions: Int32Array; raw: Float64Array; scheme: SelectionScores['scheme'] }> {
  const { featurizer } = featureSet;
  const fitRows = rowsWithRole(featureSet.roles, FIT);
  const train = featurizer.kind === 'tabular' ? sampleRows(fitRows, SEARCH_ROWS, settings.seed) : fitRows;
  const learner = getLearner(settings.engine);
  if (featurizer.kind === 'tabular' && settings.engine === 'fast') {
    const data = trainingSetAt(featureSet, train);
    const { values, votes, classCount } = outOfBagPredictions(
      await learner.fit(data, params, settings),
      data,
    );
    const kept = Int32Array.from(Array.from(train).filter((_, i) => votes[i] > 0));
    if (kept.length === 0)
      throw new RangeError('no row is out of bag: use bootstrap or a sampleFraction below 1');
    const raw = new Float64Array(kept.length * classCount);
    let next = 0;
    votes.forEach((count, i) => {
      if (count > 0) raw.set(values.subarray(i * classCount, (i + 1) * classCount), classCount * next++);
    });
    return { positions: kept, raw, scheme: 'out-of-bag' };
  }
  const folds =
    featurizer.kind === 'forecast'
      ? rollingOriginFolds(train.length, { season: featurizer.season, horizon: featureSet.horizon })
      : kFolds(
          train.length,
          K_FOLDS,
          settings.seed,
          featurizer.task === 'classification' ? trainingSetAt(featureSet, train).y : undefined,
        );
  const parts: { positions: Int32Array; raw: Float64Array }[] = [];
  for (const fold of folds) {
    const fitRows = Int32Array.from(fold.fit, (i) => train[i]);
    const scoreRows = Int32Array.from(fold.score, (i) => train[i]);
    const forest = await learner.fit(trainingSetAt(featureSet, fitRows), params, settings);
    const matrix = sliceMatrix(featureSet.matrix, scoreRows);
    parts.push({ positions: scoreRows, raw: predictBatch(forest, matrix.x, matrix.rowCount) });
  }
  const positions = Int32Array.from(parts.flatMap((part) => Array.from(part.positions)));
  const raw = Float64Array.from(parts.flatMap((part) => Array.from(part.raw)));
  return { positions, raw, scheme: featurizer.kind === 'forecast' ? 'rolling-origin' : 'k-fold' };
}

/**
 * Scores a candidate on the training rows only (never the holdout): every metric of its pooled
 * out-of-sample predictions, and as `score` the selection metric — log loss for classifiers, the spec's
 * metric otherwise (see `selection.ts`).
 */
export async function scoreCandidate(
  featureSet: FeatureSet,
  candidate: Candidate,
  metric: MetricName,
  settings: FitSettings,
): Promise<
  { score: number; metrics: Record<string, number>; seconds: number; losses?: number[] } & SelectionScores
> {
  const started = performance.now();
  const { positions, raw, scheme } = await outOfSample(featureSet, candidate.params, settings);
  const metrics = scoreRaw(featureSet, positions, raw);
  const { featurizer } = featureSet;
  const task = featurizer.kind === 'forecast' ? 'forecast' : featurizer.task;
  const chosenBy = selectionMetric(task, metric);
  return {
    score: metrics[chosenBy],
    metrics,
    seconds: (performance.now() - started) / 1000,
    scheme,
    predictions: positions.length,
    // Forecast variants are compared row by row on the same rolling-origin months (chooseCandidate).
    ...(featurizer.kind === 'forecast'
      ? {
          losses: rowLosses(
            chosenBy,
            sliceMatrix(featureSet.matrix, positions).actual,
            originalScale(featureSet, positions, raw),
          ),
        }
      : {}),
  };
}

/**
 * The candidate a run keeps. Among a forecast's `auto` variants, the best-scored candidate of the
 * preferred variant ({@link AUTO_PREFERRED}) unless the best-scored candidate overall has significantly
 * lower losses on the same rolling-origin rows: a one-sided Diebold–Mariano test at 5%
 * ({@link dieboldMariano}, {@link SWITCH_CRITICAL_VALUE}). Validation then decides only what it can tell
 * apart. Otherwise (one variant, no preferred variant, tabular data, trials without losses) the best
 * score wins, as {@link bestCandidate}.
 */
export function chooseCandidate<T extends { score: number; variant: string; losses?: number[] }>(
  scored: T[],
  metric: MetricName,
): T {
  const best = bestCandidate(scored, metric);
  const variants = new Set(scored.map((trial) => trial.variant));
  const preferred = AUTO_PREFERRED.find((variant) => variants.has(variant));
  if (variants.size < 2 || preferred === undefined || best.variant === preferred) return best;
  const incumbent = bestCandidate(
    scored.filter((trial) => trial.variant === preferred),
    metric,
  );
  if (!best.losses || !incumbent.losses || best.losses.length !== incumbent.losses.length) return best;
  if (!Number.isFinite(incumbent.score)) return best;
  return dieboldMariano(best.losses, incumbent.losses) < -SWITCH_CRITICAL_VALUE ? best : incumbent;
}

/** The best of scored candidates for a metric (the first on ties: warm-start candidates come first). */
export function bestCandidate<T extends { score: number }>(scored: T[], metric: MetricName): T {
  if (scored.length === 0) throw new RangeError('bestCandidate needs at least one scored candidate');
  const sign = metricDirection(metric) === 'lower' ? 1 : -1;
  return scored.reduce((best, next) =>
    Number.isFinite(next.score) && (!Number.isFinite(best.score) || sign * next.score < sign * best.score)
      ? next
      : best,
  );
}

/** How many tree shards a final fit is split into: one per ~5M row×tree units, at most `maxShards`. */
export function shardCount(rows: number, nTrees: number, maxShards = 8): number {
  return Math.max(1, Math.min(maxShards, nTrees, Math.ceil((rows * nTrees) / 5_000_000)));
}

/**
 * Fits trees `treeStart … treeStart + treeCount − 1` of the final model on the training rows. With the
 * fast engine the shards merge into exactly the forest a single fit would give; ml-random-forest can't be
 * sharded, so it always fits whole.
 */
export async function fitFinal(
  featureSet: FeatureSet,
  params: ForestParams,
  settings: FitSettings,
  trees?: { treeStart: number; treeCount: number },
): Promise<FlatForest> {
  const data = trainingSet(featureSet, FIT);
  if (settings.engine !== 'fast' || !trees) return getLearner(settings.engine).fit(data, params, settings);
  return trainShard(data, params, settings.seed, trees.treeStart, trees.treeCount, settings);
}

/**
 * A forest's predictions on the holdout rows of the feature set it was fitted on, on the original scale
 * (forecast transforms inverted); classifiers give class probabilities, columns in the featurizer's
 * class order.
 */
export function holdoutPredictions(featureSet: FeatureSet, forest: FlatForest): HoldoutPredictions {
  const positions = rowsWithRole(featureSet.roles, HOLDOUT);
  const { featurizer } = featureSet;
  const actual = sliceMatrix(featureSet.matrix, positions).actual;
  if (featurizer.kind === 'tabular' && featurizer.task === 'classification') {
    const holdout = sliceMatrix(featureSet.matrix, positions);
    return {
      actual,
      predicted: predictBatch(forest, holdout.x, holdout.rowCount),
      classes: featurizer.classes!,
    };
  }
  return { actual, predicted: predictPositions(featureSet, forest, positions) };
}

/** Every metric of a model's holdout predictions ({@link holdoutPredictions}). */
export function scorePredictions(predictions: HoldoutPredictions): Record<string, number> {
  const { actual, predicted, classes } = predictions;
  if (classes === undefined) return { ...scoreRegression(actual, predicted) };
  const k = classes.length;
  const proba = Array.from(
    { length: actual.length },
    (_, i) => Array.prototype.slice.call(predicted, i * k, (i + 1) * k) as number[],
  );
  return { ...scoreClassification(actual, proba, classes) };
}

/** Holdout metrics of a forest fitted on this feature set. */
export function scoreHoldout(featureSet: FeatureSet, forest: FlatForest): Record<string, number> {
  return scorePredictions(holdoutPredictions(featureSet, forest));
}

/**
 * An already trained model's (the champion's) predictions on the same holdout rows a candidate of this
 * feature set is scored on, in the same form as {@link holdoutPredictions} so the two can be compared
 * row by row. The model featurizes the rows its own way: forecasts from the actual history before each
 * holdout step, tabular rows by their named values.
 */
export function modelHoldoutPredictions(
  featureSet: FeatureSet,
  table: Table,
  model: LoadedModel,
): HoldoutPredictions {
  const positions = rowsWithRole(featureSet.roles, HOLDOUT);
  const holdout = sliceMatrix(featureSet.matrix, positions);
  const tableRows = Array.from(holdout.rows);
  let instances: unknown[];
  if (featureSet.featurizer.kind === 'forecast') {
    const values = numericValues(table, featureSet.featurizer.target);
    const time = columnOf(table, featureSet.featurizer.time);
    // Every input a request may carry: the champion's own featurizer decides what it uses (a champion
    // with the month of year needs `lastMonth`, whatever the current spec says).
    instances = tableRows.map((row) => ({
      history: Array.from(values.subarray(0, row)),
      ...(time.kind === 'text' ? { lastMonth: time.values[row - 1] } : {}),
    }));
  } else {
    instances = tableRows.map((row) =>
      Object.fromEntries(
        table.columns.map((column) => {
          const value = column.values[row];
          return [column.name, typeof value === 'number' && Number.isNaN(value) ? null : value];
        }),
      ),
    );
  }
  const predictions = predictInstances(model, instances);
  const { featurizer } = featureSet;
  if (featurizer.kind === 'tabular' && featurizer.task === 'classification') {
    const classes = featurizer.classes!;
    // The champion's probabilities by label, in this feature set's class order (a class it never saw
    // gets 0), renormalised to sum to 1.
    const proba = predictions.flatMap((prediction) => {
      const row = classes.map((label) => prediction.probabilities?.[String(label)] ?? 0);
      const total = row.reduce((sum, p) => sum + p, 0);
      return total > 0 ? row.map((p) => p / total) : row.map(() => 1 / row.length);
    });
    return { actual: holdout.actual, predicted: Float64Array.from(proba), classes };
  }
  return {
    actual: holdout.actual,
    predicted: Float64Array.from(predictions, (prediction) => prediction.value!),
  };
}

const FEATURE_SET_MAGIC = 'DLFSET01';

/** A feature set as bytes, to hand from the featurize step to the training steps through S3. */
export function encodeFeatureSet(featureSet: FeatureSet): Uint8Array {
  const { matrix } = featureSet;
  const header = Buffer.from(
    JSON.stringify({
      variant: featureSet.variant,
      featurizer: featureSet.featurizer,
      holdout: featureSet.holdout,
      horizon: featureSet.horizon,
      rowCount: matrix.rowCount,
      featureCount: matrix.featureCount,
    }),
    'utf8',
  );
  const parts = [matrix.x, matrix.y, matrix.actual, matrix.base, matrix.rows, featureSet.roles].map(
    (array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength),
  );
  const prefix = FEATURE_SET_MAGIC.length + 4;
  // Float64 parts must start 8-byte aligned when read back as views, so the header is padded.
  const headerSpace = Math.ceil((prefix + header.length) / 8) * 8 - prefix;
  const out = new Uint8Array(prefix + headerSpace + parts.reduce((sum, part) => sum + part.length, 0));
  out.set(Buffer.from(FEATURE_SET_MAGIC, 'ascii'), 0);
  new DataView(out.buffer).setUint32(FEATURE_SET_MAGIC.length, headerSpace, true);
  out.set(header, prefix);
  out.fill(0x20, prefix + header.length, prefix + headerSpace);
  let offset = prefix + headerSpace;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Reads `encodeFeatureSet` bytes. @throws RangeError for anything else. */
export function decodeFeatureSet(bytes: Uint8Array): FeatureSet {
  const copy = new Uint8Array(bytes);
  if (Buffer.from(copy.subarray(0, FEATURE_SET_MAGIC.length)).toString('ascii') !== FEATURE_SET_MAGIC) {
    throw new RangeError('not a driftline feature set');
  }
  const prefix = FEATURE_SET_MAGIC.length + 4;
  const headerSpace = new DataView(copy.buffer).getUint32(FEATURE_SET_MAGIC.length, true);
  const header = JSON.parse(Buffer.from(copy.subarray(prefix, prefix + headerSpace)).toString('utf8')) as {
    variant: string;
    featurizer: Featurizer;
    holdout: HoldoutSummary;
    horizon?: number;
    rowCount: number;
    featureCount: number;
  };
  const { rowCount, featureCount } = header;
  let offset = prefix + headerSpace;
  const take = <T>(
    make: (buffer: ArrayBuffer, offset: number, length: number) => T,
    length: number,
    size: number,
  ) => {
    const view = make(copy.buffer, offset, length);
    offset += length * size;
    return view;
  };
  const x = take((b, o, n) => new Float64Array(b, o, n), rowCount * featureCount, 8);
  const y = take((b, o, n) => new Float64Array(b, o, n), rowCount, 8);
  const actual = take((b, o, n) => new Float64Array(b, o, n), rowCount, 8);
  const base = take((b, o, n) => new Float64Array(b, o, n), rowCount, 8);
  const rows = take((b, o, n) => new Int32Array(b, o, n), rowCount, 4);
  const roles = take((b, o, n) => new Uint8Array(b, o, n), rowCount, 1);
  if (offset !== copy.length) throw new RangeError('feature set bytes are truncated or padded');
  return {
    variant: header.variant,
    featurizer: header.featurizer,
    matrix: { x, y, actual, base, rows, rowCount, featureCount },
    roles,
    holdout: header.holdout,
    ...(header.horizon === undefined ? {} : { horizon: header.horizon }),
  };
}

/** What a backtest reports. */
export interface BacktestResult {
  metrics: Record<string, number>;
  fitSeconds: number;
  searchSeconds: number;
  modelBytes: number;
  rows: number;
  trainRows: number;
  holdoutRows: number;
  variant: string;
  params: Record<string, unknown>;
  /** Every candidate with its selection score (log loss for classifiers, else the spec's metric). */
  trials: Array<Candidate & { score: number; seconds: number } & SelectionScores>;
  selectionMetric: MetricName;
}

/**
 * The whole procedure in one process, as the pipeline runs it across Lambdas: featurize, score the
 * candidates inside the training rows, fit the best on everything before the holdout, score the holdout.
 */
export async function backtest(
  spec: ModelSpec,
  table: Table,
  settings: { engine: 'fast' | 'ml-random-forest'; workers?: number },
): Promise<BacktestResult> {
  const featureSets = buildFeatureSets(spec, table);
  const byVariant = new Map(featureSets.map((set) => [set.variant, set]));
  const fit: FitSettings = { engine: settings.engine, seed: spec.seed, workers: settings.workers };
  const searchStarted = performance.now();
  const scoredTrials = [];
  for (const candidate of planCandidates(
    spec,
    featureSets.map((set) => set.variant),
  )) {
    const scored = await scoreCandidate(byVariant.get(candidate.variant)!, candidate, spec.metric, fit);
    const { score, seconds, scheme, predictions, losses } = scored;
    scoredTrials.push({ ...candidate, score, seconds, scheme, predictions, losses });
  }
  const searchSeconds = (performance.now() - searchStarted) / 1000;
  const chosenBy = selectionMetric(spec.task, spec.metric);
  const best = chooseCandidate(scoredTrials, chosenBy);
  // The per-row losses only serve the choice; the result reports each trial's score.
  const trials = scoredTrials.map(({ losses: _, ...trial }) => trial);
  const set = byVariant.get(best.variant)!;
  const fitStarted = performance.now();
  const forest = await fitFinal(set, best.params, fit);
  const fitSeconds = (performance.now() - fitStarted) / 1000;
  const counts = roleCounts(set.roles);
  const artifact = packModel({
    meta: {
      model: spec.name,
      task: spec.task,
      engine: forest.engine,
      params: forest.params,
      seed: forest.seed,
      signature: { target: spec.target, features: set.featurizer.featureNames },
      data: { rows: table.rowCount, trainRows: counts.train, holdoutRows: counts.holdout },
      metrics: {},
      codeVersion: 'backtest',
      createdAt: new Date().toISOString(),
    },
    featurizer: set.featurizer,
    forest,
  });
  return {
    metrics: scoreHoldout(set, forest),
    fitSeconds,
    searchSeconds,
    modelBytes: artifact.length,
    rows: table.rowCount,
    trainRows: counts.train,
    holdoutRows: counts.holdout,
    variant: best.variant,
    params: { ...forest.params },
    trials,
    selectionMetric: chosenBy,
  };
}
