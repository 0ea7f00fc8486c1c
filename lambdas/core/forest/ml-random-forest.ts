/**
 * ml-random-forest behind the `Learner` interface: trains `RandomForestRegression` /
 * `RandomForestClassifier` (seeded) and converts the trained model into a `FlatForest` that predicts
 * exactly as the library does.
 *
 * How the library's model maps onto the flat format:
 * - Each tree is trained on a per-tree subset of columns (`indexes[t]`, possibly with repeats); a node's
 *   `splitColumn` indexes that subset, so the flat node tests feature `indexes[t][splitColumn]`.
 * - ml-cart sends a row left when `row[column] < splitValue`. The flat format sends it left when
 *   `x <= threshold`, so the threshold stored is the largest double below `splitValue`: for every double
 *   `x`, `x < v` ⇔ `x <= nextDown(v)` (and NaN goes right in both).
 * - Regression leaves keep their Float64 means, and the forest averages trees in tree order, as the
 *   library's `mean` selection does, so predictions are bit-identical.
 * - The classifier predicts by majority vote (`ml-array-mode`: ties go to the class that reached the top
 *   count first in tree order), each tree voting for the first class of largest share in its leaf. The
 *   flat forest stores that vote as a one-hot leaf and aggregates by `vote`; its class "probabilities"
 *   are therefore vote shares (multiples of 1/nTrees), not averaged leaf distributions.
 */
import { RandomForestClassifier, RandomForestRegression } from 'ml-random-forest';
import type { ForestParams, TrainingSet } from '../types.ts';
import { combineImportances, normalizeImportances } from './importances.ts';
import { featuresPerSplit, resolveParams, validateTrainingSet } from './params.ts';
import { validateSeed } from './random.ts';
import type { FitOptions, FlatForest, Learner, ResolvedForestParams } from './types.ts';

/** A trained ml-cart node as the library keeps it in memory. */
interface CartNode {
  splitColumn?: number;
  splitValue?: number;
  left?: CartNode;
  right?: CartNode;
  /** Regression: the leaf mean. Classification: an ml-matrix row vector of class shares. */
  distribution?: number | { columns: number; get(row: number, column: number): number };
}

/** The parts of a trained ml-random-forest model the conversion reads. */
interface TrainedForest {
  estimators: { root: CartNode }[];
  indexes: number[][];
  oobResults?: { true: number; predicted: number }[];
}

/** The largest double below `value` (`value` itself for −∞ and NaN). */
export function nextDown(value: number): number {
  if (Number.isNaN(value) || value === Number.NEGATIVE_INFINITY) return value;
  if (value === 0) return -Number.MIN_VALUE;
  const bits = new Float64Array([value]);
  const integer = new BigInt64Array(bits.buffer);
  integer[0] += value > 0 ? -1n : 1n;
  return bits[0];
}

/** The class a classification leaf votes for: the first of largest share (ml-matrix `maxRowIndex`). */
function leafVote(distribution: { columns: number; get(row: number, column: number): number }): number {
  let vote = 0;
  for (let column = 1; column < distribution.columns; column++) {
    if (distribution.get(0, column) > distribution.get(0, vote)) vote = column;
  }
  return vote;
}

/** Maps the shared hyperparameters onto the library's options, refusing what it cannot do. */
function libraryOptions(
  params: ResolvedForestParams,
  data: TrainingSet,
  seed: number,
): Record<string, unknown> {
  if (params.minSamplesLeaf !== 1)
    throw new RangeError('ml-random-forest has no minSamplesLeaf; leave it at 1');
  if (params.maxLeaves !== 0) throw new RangeError('ml-random-forest has no maxLeaves; leave it at 0');
  if (params.sampleFraction !== 1) {
    throw new RangeError(
      'ml-random-forest cannot subsample rows (its maxSamples keeps the first rows); leave sampleFraction at 1',
    );
  }
  const featureCount = data.featureCount;
  const perTree = featuresPerSplit(params.maxFeatures, featureCount);
  return {
    nEstimators: params.nTrees,
    // The library reads a value in (0, 1] as a fraction (⌊F · f⌋ columns), so an integer count goes in as
    // (count + ½) / F, which floors back to the count; 1 means every column.
    maxFeatures: perTree === featureCount ? 1 : (perTree + 0.5) / featureCount,
    seed: seed | 0,
    useSampleBagging: params.bootstrap,
    treeOptions: {
      maxDepth: params.maxDepth === 0 ? Number.POSITIVE_INFINITY : params.maxDepth,
      // ml-cart makes a leaf of any node with at most minNumSamples rows.
      minNumSamples: params.minSamplesSplit - 1,
    },
  };
}

/** Pre-order flat arrays of one ml-cart tree. */
function flattenTree(
  root: CartNode,
  columns: number[],
  classCount: number,
  out: { feature: number[]; threshold: number[]; next: number[]; leafValues: number[] },
  leafBase: number,
): number {
  let leaves = 0;
  const stack: { node: CartNode; patch: number }[] = [{ node: root, patch: -1 }];
  while (stack.length > 0) {
    const { node, patch } = stack.pop()!;
    const position = out.feature.length;
    if (patch >= 0) out.next[patch] = position;
    if (node.left && node.right) {
      out.feature.push(columns[node.splitColumn!]);
      out.threshold.push(nextDown(node.splitValue!));
      out.next.push(0);
      stack.push({ node: node.right, patch: position }, { node: node.left, patch: -1 });
    } else {
      out.feature.push(-1);
      out.threshold.push(0);
      out.next.push(leafBase + leaves++);
      const { distribution } = node;
      if (typeof distribution === 'number') out.leafValues.push(distribution);
      else if (distribution !== undefined) {
        const vote = leafVote(distribution);
        for (let k = 0; k < classCount; k++) out.leafValues.push(k === vote ? 1 : 0);
      } else throw new RangeError('ml-random-forest produced a leaf without a prediction');
    }
  }
  return leaves;
}

/**
 * Impurity decrease per feature of each tree, measured by routing the training rows through it (the
 * library does not keep each tree's bootstrap rows): the sum of squared errors for regression, n × Gini
 * for classification, as scikit-learn's mean decrease in impurity.
 */
function routedImportances(forest: FlatForest, data: TrainingSet): Float64Array {
  const { featureCount, nTrees, treeRoots, nodeFeature } = forest;
  const channels = data.task === 'classification' ? data.classes!.length : 1;
  const nodeCount = nodeFeature.length;
  const weight = new Float64Array(nodeCount);
  const sums = new Float64Array(nodeCount * channels);
  const squares = new Float64Array(nodeCount);
  for (let row = 0; row < data.rowCount; row++) {
    const target = data.y[row];
    for (let tree = 0; tree < nTrees; tree++) {
      let node = treeRoots[tree];
      for (;;) {
        weight[node]++;
        if (channels === 1) {
          sums[node] += target;
          squares[node] += target * target;
        } else sums[node * channels + target]++;
        const feature = nodeFeature[node];
        if (feature < 0) break;
        node =
          data.x[row * featureCount + feature] <= forest.nodeThreshold[node]
            ? node + 1
            : forest.nodeNext[node];
      }
    }
  }
  const impurity = (node: number): number => {
    if (weight[node] === 0) return 0;
    if (channels === 1) return squares[node] - sums[node] ** 2 / weight[node];
    let sumOfSquares = 0;
    for (let k = 0; k < channels; k++) sumOfSquares += sums[node * channels + k] ** 2;
    return weight[node] - sumOfSquares / weight[node];
  };
  const treeImportances = new Float64Array(nTrees * featureCount);
  for (let tree = 0; tree < nTrees; tree++) {
    const end = tree + 1 < nTrees ? treeRoots[tree + 1] : nodeCount;
    const raw = new Float64Array(featureCount);
    for (let node = treeRoots[tree]; node < end; node++) {
      const feature = nodeFeature[node];
      if (feature < 0) continue;
      const decrease = impurity(node) - impurity(node + 1) - impurity(forest.nodeNext[node]);
      raw[feature] += Math.max(0, decrease);
    }
    treeImportances.set(normalizeImportances(raw), tree * featureCount);
  }
  return treeImportances;
}

/** Out-of-bag R² or accuracy from the library's own out-of-bag predictions. */
function libraryOobScore(model: TrainedForest, task: TrainingSet['task']): number {
  const results = model.oobResults ?? [];
  if (results.length === 0) throw new RangeError('ml-random-forest kept no out-of-bag predictions');
  if (task === 'classification') {
    return results.filter((result) => result.predicted === result.true).length / results.length;
  }
  const mean = results.reduce((sum, result) => sum + result.true, 0) / results.length;
  const total = results.reduce((sum, result) => sum + (result.true - mean) ** 2, 0);
  if (total === 0) throw new RangeError('out-of-bag R² is undefined: the targets are constant');
  const residual = results.reduce((sum, result) => sum + (result.true - result.predicted) ** 2, 0);
  return 1 - residual / total;
}

/**
 * Converts a trained ml-random-forest model into the flat serving format.
 *
 * @param model a trained `RandomForestRegression` or `RandomForestClassifier`
 * @param data the data it was trained on (for the shape, the classes and the feature importances)
 */
export function fromMlRandomForest(
  model: RandomForestRegression | RandomForestClassifier,
  data: TrainingSet,
  params: ResolvedForestParams,
  seed: number,
): FlatForest {
  const trained = model as unknown as TrainedForest;
  const classification = data.task === 'classification';
  const classCount = classification ? data.classes!.length : 0;
  const out = {
    feature: [] as number[],
    threshold: [] as number[],
    next: [] as number[],
    leafValues: [] as number[],
  };
  const treeRoots = new Uint32Array(trained.estimators.length);
  let leafBase = 0;
  trained.estimators.forEach((estimator, tree) => {
    treeRoots[tree] = out.feature.length;
    leafBase += flattenTree(estimator.root, trained.indexes[tree], classCount, out, leafBase);
  });
  const forest: FlatForest = {
    engine: 'ml-random-forest',
    task: data.task,
    featureCount: data.featureCount,
    classes: classification ? [...data.classes!] : [],
    nTrees: trained.estimators.length,
    firstTree: 0,
    params,
    seed,
    aggregation: classification ? 'vote' : 'mean',
    featureImportances: new Float64Array(data.featureCount),
    treeImportances: new Float64Array(trained.estimators.length * data.featureCount),
    treeRoots,
    nodeFeature: Int32Array.from(out.feature),
    nodeThreshold: Float64Array.from(out.threshold),
    nodeNext: Uint32Array.from(out.next),
    leafValues: Float64Array.from(out.leafValues),
  };
  forest.treeImportances = routedImportances(forest, data);
  forest.featureImportances = combineImportances(forest.treeImportances, data.featureCount);
  return forest;
}

/** Rows of `x` as the arrays of numbers the library expects. */
function rowsOf(data: TrainingSet): number[][] {
  return Array.from({ length: data.rowCount }, (_, row) =>
    Array.from(data.x.subarray(row * data.featureCount, (row + 1) * data.featureCount)),
  );
}

/**
 * Fits ml-random-forest and converts the result. Its defaults are the library's (see
 * `mlRandomForestDefaults`); it trains in this thread (`workers` is ignored: the library's trees are
 * seeded one after the other, so they cannot be spread out) and has quadratic split search, so keep it to
 * a few thousand rows.
 *
 * @throws RangeError for hyperparameters the library does not have (`minSamplesLeaf`, `maxLeaves`,
 *   `sampleFraction`).
 */
async function fitMlRandomForest(
  data: TrainingSet,
  params: ForestParams,
  options: FitOptions,
): Promise<FlatForest> {
  validateTrainingSet(data);
  const resolved = { ...resolveParams('ml-random-forest', data.task, params, data.rowCount), maxBins: 0 };
  const { seed } = options;
  validateSeed(seed);
  const libraryParams = { ...libraryOptions(resolved, data, seed), noOOB: options.oobScore !== true };
  const model =
    data.task === 'classification'
      ? new RandomForestClassifier(libraryParams)
      : new RandomForestRegression({ ...libraryParams, selectionMethod: 'mean' });
  try {
    model.train(rowsOf(data), Array.from(data.y));
  } catch (error) {
    if (options.oobScore === true && error instanceof TypeError && /empty/.test(error.message)) {
      throw new RangeError(
        "ml-random-forest: some rows are in every tree's bootstrap; use more trees for an out-of-bag score",
      );
    }
    throw error;
  }
  const forest = fromMlRandomForest(model, data, resolved, seed);
  if (options.oobScore === true)
    forest.oobScore = libraryOobScore(model as unknown as TrainedForest, data.task);
  return forest;
}

/** ml-random-forest behind the `Learner` interface. */
export const mlRandomForestLearner: Learner = {
  engine: 'ml-random-forest',
  fit: fitMlRandomForest,
};
