/**
 * The fast engine: histogram random forests on quantile-binned data, trees grown in parallel on worker
 * threads, every tree seeded from `(seed, tree index)` alone.
 */
import { availableParallelism } from 'node:os';
import type { ForestParams, TrainingSet } from '../types.ts';
import { binMatrix } from './binning.ts';
import { combineImportances, normalizeImportances } from './importances.ts';
import { outOfBagScore } from './oob.ts';
import { featuresPerSplit, resolveParams, validateTrainingSet } from './params.ts';
import { growTrees } from './pool.ts';
import { validateSeed } from './random.ts';
import type { GrownTree, TreeJob } from './tree.ts';
import type { FitOptions, FlatForest, Learner, ResolvedForestParams } from './types.ts';

/** Options of `trainShard`: those of a fit, without the seed (given separately). */
export type ShardOptions = Omit<FitOptions, 'seed'>;

/** Bins the data and packs everything the tree builders share. */
function prepareJob(
  data: TrainingSet,
  params: ResolvedForestParams,
  seed: number,
): { job: TreeJob; thresholds: Float64Array[] } {
  const { rowCount, featureCount } = data;
  const binned = binMatrix(data.x, rowCount, featureCount, params.maxBins);
  const target = new Float64Array(new SharedArrayBuffer(rowCount * Float64Array.BYTES_PER_ELEMENT));
  target.set(data.y);
  const job: TreeJob = {
    rowCount,
    featureCount,
    bins: binned.bins,
    binCounts: Int32Array.from(binned.thresholds, (cuts) => cuts.length + 1),
    target,
    classCount: data.task === 'classification' ? data.classes!.length : 0,
    seed,
    featuresPerSplit: featuresPerSplit(params.maxFeatures, featureCount),
    maxDepth: params.maxDepth,
    minSamplesLeaf: params.minSamplesLeaf,
    minSamplesSplit: params.minSamplesSplit,
    maxLeaves: params.maxLeaves,
    bootstrap: params.bootstrap,
    sampleFraction: params.sampleFraction,
  };
  return { job, thresholds: binned.thresholds };
}

/** Concatenates grown trees into the flat serving arrays, turning split bins into threshold values. */
function assemble(
  trees: GrownTree[],
  thresholds: Float64Array[],
  meta: Pick<FlatForest, 'task' | 'featureCount' | 'classes' | 'firstTree' | 'params' | 'seed'>,
): FlatForest {
  const { featureCount } = meta;
  const nodeCount = trees.reduce((sum, tree) => sum + tree.feature.length, 0);
  const leafValueCount = trees.reduce((sum, tree) => sum + tree.leafValues.length, 0);
  const treeRoots = new Uint32Array(trees.length);
  const nodeFeature = new Int32Array(nodeCount);
  const nodeThreshold = new Float64Array(nodeCount);
  const nodeNext = new Uint32Array(nodeCount);
  const leafValues = new Float32Array(leafValueCount);
  const treeImportances = new Float64Array(trees.length * featureCount);
  const perLeaf = meta.task === 'classification' ? meta.classes.length : 1;
  let nodeBase = 0;
  let leafBase = 0;
  trees.forEach((tree, index) => {
    treeRoots[index] = nodeBase;
    for (let local = 0; local < tree.feature.length; local++) {
      const feature = tree.feature[local];
      const node = nodeBase + local;
      nodeFeature[node] = feature;
      if (feature < 0) {
        nodeNext[node] = leafBase + tree.next[local];
      } else {
        nodeNext[node] = nodeBase + tree.next[local];
        nodeThreshold[node] = thresholds[feature][tree.splitBin[local]];
      }
    }
    leafValues.set(tree.leafValues, leafBase * perLeaf);
    treeImportances.set(normalizeImportances(tree.importances), index * featureCount);
    nodeBase += tree.feature.length;
    leafBase += tree.leafValues.length / perLeaf;
  });
  return {
    engine: 'fast',
    ...meta,
    nTrees: trees.length,
    aggregation: 'mean',
    featureImportances: combineImportances(treeImportances, featureCount),
    treeImportances,
    treeRoots,
    nodeFeature,
    nodeThreshold,
    nodeNext,
    leafValues,
  };
}

/**
 * Row × tree units of work per worker thread worth starting: a worker costs its start-up and its own JIT
 * warm-up (tens of ms idle, most of a second under load, in a cold Lambda), which a small fit — a forecast
 * series of a hundred rows and a few hundred trees — finishes in before the worker is ready. Measured in
 * `bench/RESULTS.md` (#15, cold containers).
 */
export const ROW_TREES_PER_WORKER = 100_000;

/**
 * The worker threads a fit of `treeCount` trees on `rowCount` rows uses by default: one per
 * {@link ROW_TREES_PER_WORKER} units, at least one (this thread), at most one per core.
 */
export function defaultWorkers(rowCount: number, treeCount: number): number {
  const repaid = Math.floor((rowCount * treeCount) / ROW_TREES_PER_WORKER);
  return Math.max(1, Math.min(availableParallelism(), repaid));
}

function resolveWorkers(workers: number | undefined, rowCount: number, treeCount: number): number {
  const count = workers ?? defaultWorkers(rowCount, treeCount);
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`workers must be a positive integer, got ${count}`);
  return count;
}

/**
 * Trains trees `treeStart .. treeStart + treeCount − 1` of the fast-engine forest with this seed. Shards
 * trained anywhere (other workers, other Lambdas) and joined with `mergeForests` equal the forest fitted
 * in one go, because tree `i` depends only on the data, the parameters, the seed and `i`. A shard has no
 * out-of-bag score (`options.oobScore` is honoured only for a whole forest).
 *
 * @throws RangeError on invalid data, parameters or tree range.
 * @example
 * const [a, b] = await Promise.all([trainShard(data, params, 7, 0, 50), trainShard(data, params, 7, 50, 50)]);
 * const forest = mergeForests([a, b]); // same bytes as fitting 100 trees with seed 7
 */
export async function trainShard(
  data: TrainingSet,
  params: ForestParams,
  seed: number,
  treeStart: number,
  treeCount: number,
  options: ShardOptions = {},
): Promise<FlatForest> {
  validateTrainingSet(data);
  validateSeed(seed);
  const resolved = resolveParams('fast', data.task, params, data.rowCount);
  if (!Number.isInteger(treeStart) || treeStart < 0)
    throw new RangeError(`treeStart must be ≥ 0, got ${treeStart}`);
  if (!Number.isInteger(treeCount) || treeCount < 1 || treeStart + treeCount > resolved.nTrees) {
    throw new RangeError(
      `trees ${treeStart}..${treeStart + treeCount - 1} are outside a forest of ${resolved.nTrees}`,
    );
  }
  const { job, thresholds } = prepareJob(data, resolved, seed);
  const treeIndexes = Array.from({ length: treeCount }, (_, offset) => treeStart + offset);
  const workers = resolveWorkers(options.workers, data.rowCount, treeCount);
  const trees = await growTrees(job, treeIndexes, workers, options.workerScript);
  const forest = assemble(trees, thresholds, {
    task: data.task,
    featureCount: data.featureCount,
    classes: data.task === 'classification' ? [...data.classes!] : [],
    firstTree: treeStart,
    params: resolved,
    seed,
  });
  const whole = treeStart === 0 && treeCount === resolved.nTrees;
  if (options.oobScore === true && whole) forest.oobScore = outOfBagScore(forest, data);
  return forest;
}

/** The fast engine behind the `Learner` interface. */
export const fastLearner: Learner = {
  engine: 'fast',
  async fit(data, params, options) {
    const { seed, ...rest } = options;
    return trainShard(
      data,
      params,
      seed,
      0,
      resolveParams('fast', data.task, params, data.rowCount).nTrees,
      rest,
    );
  },
};
