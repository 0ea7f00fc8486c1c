/**
 * Validation of training data and hyperparameters, and the engines' defaults.
 */
import type { EngineName, ForestParams, LearningTask, TrainingSet } from '../types.ts';
import type { ResolvedForestParams } from './types.ts';

/** Most features a forest may have (feature indexes are stored in 16 bits, one value reserved for leaves). */
export const MAX_FEATURES = 0xfffe;

/** Most classes a classification forest may have: keeps every bin's histogram cell (count + one sum per class) small. */
export const MAX_CLASSES = 255;

/**
 * The most leaves a fast-engine regression tree grows by default once its training set could reach that
 * many (more than `minSamplesLeaf × DEFAULT_MAX_LEAVES` draws): without a cap, a tree's leaf count grows
 * with the rows (about rows / 3.75 at leaves of 3), and with it the model's size and load time — 13.4 MB
 * at 75,000 × 20 training rows, some 130 MB at 750,000. Measured on Friedman #1 × 20 at 100k rows
 * (`bench/forest-size.ts`, bench/RESULTS.md, seeds 1-3): 16,384 leaves moves holdout R² by 0.0000 ±
 * 0.0001 (8,192: −0.0002 ± 0.0001, beyond the seed-to-seed spread). Below the threshold the cap could
 * not bind, so it is left off and smaller fits (every forecast series) grow exactly as before.
 */
export const DEFAULT_MAX_LEAVES = 16_384;

/**
 * The fast engine's defaults. Regression trees stop at leaves of 3 bootstrap draws instead of growing to
 * single rows (scikit-learn's default): measured on Friedman #1 with noise at 10k × 12
 * (`npm run bench:forest`, bench/RESULTS.md), holdout R² stays within 0.001 of scikit-learn's fully grown
 * forest while the 100-tree model shrinks from 3.2 MB (leaves of 1) to 1.37 MB, under the 2 MB budget with
 * a third to spare (leaves of 2 land at 1.98 MB), and fits faster. Classification keeps scikit-learn's
 * defaults: fully grown trees on √F features per split.
 *
 * @default nTrees 100, maxDepth 0 (unlimited), minSamplesLeaf 3 (regression) / 1 (classification),
 *   minSamplesSplit 2, maxLeaves 0 (unlimited; `resolveParams` caps large regression fits at
 *   `DEFAULT_MAX_LEAVES`), maxFeatures 1 (regression) / 'sqrt' (classification), sampleFraction 1,
 *   bootstrap true, maxBins 255
 */
export function fastDefaults(task: LearningTask): ResolvedForestParams {
  return {
    nTrees: 100,
    maxDepth: 0,
    minSamplesLeaf: task === 'regression' ? 3 : 1,
    minSamplesSplit: 2,
    maxLeaves: 0,
    maxFeatures: task === 'regression' ? 1 : 'sqrt',
    sampleFraction: 1,
    bootstrap: true,
    maxBins: 255,
  };
}

/**
 * ml-random-forest's defaults as driftline runs it: the library's own (every feature, trees grown until
 * a node holds at most 3 rows, i.e. `minSamplesSplit` 4) with 100 trees. It has no binning, leaf-size or
 * leaf-count limit, so those are recorded as 0 / 1 / 0.
 */
export function mlRandomForestDefaults(): ResolvedForestParams {
  return {
    nTrees: 100,
    maxDepth: 0,
    minSamplesLeaf: 1,
    minSamplesSplit: 4,
    maxLeaves: 0,
    maxFeatures: 1,
    sampleFraction: 1,
    bootstrap: true,
    maxBins: 0,
  };
}

function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/**
 * Fills the engine's defaults into `params` for a training set of `rowCount` rows and checks every value.
 * A fast-engine regression fit that leaves `maxLeaves` unset is capped at `DEFAULT_MAX_LEAVES` when its
 * draws (`rowCount × sampleFraction`) could grow more leaves than that at its `minSamplesLeaf`.
 *
 * @throws RangeError naming the first invalid hyperparameter.
 */
export function resolveParams(
  engine: EngineName,
  task: LearningTask,
  params: ForestParams,
  rowCount: number,
): ResolvedForestParams {
  const defaults = engine === 'fast' ? fastDefaults(task) : mlRandomForestDefaults();
  const defined = Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined));
  const resolved: ResolvedForestParams = { ...defaults, ...defined };
  if (
    engine === 'fast' &&
    task === 'regression' &&
    params.maxLeaves === undefined &&
    rowCount * resolved.sampleFraction > resolved.minSamplesLeaf * DEFAULT_MAX_LEAVES
  ) {
    resolved.maxLeaves = DEFAULT_MAX_LEAVES;
  }
  requireInteger('nTrees', resolved.nTrees, 1, 100_000);
  requireInteger('maxDepth', resolved.maxDepth, 0);
  requireInteger('minSamplesLeaf', resolved.minSamplesLeaf, 1);
  requireInteger('minSamplesSplit', resolved.minSamplesSplit, 2);
  requireInteger('maxLeaves', resolved.maxLeaves, 0);
  if (resolved.maxLeaves === 1) throw new RangeError('maxLeaves must be 0 (unlimited) or at least 2, got 1');
  const { maxFeatures, sampleFraction } = resolved;
  if (typeof maxFeatures === 'number') {
    if (!(maxFeatures > 0 && maxFeatures <= 1)) {
      throw new RangeError(`maxFeatures must be a fraction in (0, 1], 'sqrt' or 'log2', got ${maxFeatures}`);
    }
  } else if (maxFeatures !== 'sqrt' && maxFeatures !== 'log2') {
    throw new RangeError(
      `maxFeatures must be a fraction in (0, 1], 'sqrt' or 'log2', got ${String(maxFeatures)}`,
    );
  }
  if (!(sampleFraction > 0 && sampleFraction <= 1)) {
    throw new RangeError(`sampleFraction must be in (0, 1], got ${sampleFraction}`);
  }
  if (typeof resolved.bootstrap !== 'boolean') {
    throw new RangeError(`bootstrap must be true or false, got ${String(resolved.bootstrap)}`);
  }
  if (engine === 'fast') requireInteger('maxBins', resolved.maxBins, 2, 255);
  return resolved;
}

/**
 * Features examined at each split: `max(1, ⌊fraction · F⌋)`, `max(1, ⌊√F⌋)` or `max(1, ⌊log2 F⌋)`,
 * as scikit-learn.
 */
export function featuresPerSplit(
  maxFeatures: ResolvedForestParams['maxFeatures'],
  featureCount: number,
): number {
  const count =
    maxFeatures === 'sqrt'
      ? Math.sqrt(featureCount)
      : maxFeatures === 'log2'
        ? Math.log2(featureCount)
        : maxFeatures * featureCount;
  return Math.min(featureCount, Math.max(1, Math.floor(count + 1e-9)));
}

/**
 * Checks a training set: shapes, finite values, and class indexes in range.
 *
 * @throws RangeError describing the first problem found.
 */
export function validateTrainingSet(data: TrainingSet): void {
  const { x, y, rowCount, featureCount, task } = data;
  requireInteger('rowCount', rowCount, 2);
  requireInteger('featureCount', featureCount, 1, MAX_FEATURES);
  if (x.length !== rowCount * featureCount) {
    throw new RangeError(`x has ${x.length} values; rowCount × featureCount is ${rowCount * featureCount}`);
  }
  if (y.length !== rowCount) throw new RangeError(`y has ${y.length} values for ${rowCount} rows`);
  for (let index = 0; index < x.length; index++) {
    if (Number.isNaN(x[index])) {
      const row = Math.floor(index / featureCount);
      throw new RangeError(
        `x has a missing value (NaN) at row ${row}, feature ${index - row * featureCount}`,
      );
    }
  }
  if (task === 'regression') {
    for (let row = 0; row < rowCount; row++) {
      if (!Number.isFinite(y[row]))
        throw new RangeError(`y[${row}] is ${y[row]}; regression targets must be finite`);
    }
    return;
  }
  const classCount = data.classes?.length ?? 0;
  if (classCount < 2) throw new RangeError(`classification needs at least two classes, got ${classCount}`);
  requireInteger('classes.length', classCount, 2, MAX_CLASSES);
  for (let row = 0; row < rowCount; row++) {
    const label = y[row];
    if (!Number.isInteger(label) || label < 0 || label >= classCount) {
      throw new RangeError(
        `y[${row}] is ${label}; classification targets are class indexes in [0, ${classCount})`,
      );
    }
  }
}
