/**
 * The forest's public shapes: the one serving format every engine exports to (`FlatForest`), the
 * `Learner` interface the engines implement, and the options of a fit.
 */
import type { EngineName, ForestParams, LearningTask, TrainingSet } from '../types.ts';

/** Forest hyperparameters with every default filled in, as recorded in a trained forest. */
export type ResolvedForestParams = Required<ForestParams>;

/**
 * How the trees' leaf values combine into a prediction.
 * - `mean`: average the trees' leaf values (regression values, or class-probability vectors).
 * - `vote`: every tree casts one vote (its leaf holds a one-hot vector); the prediction is the class with
 *   the most votes, ties going to the class that reached the top count first in tree order, and the
 *   "probabilities" are vote shares. This is how ml-random-forest's classifier predicts.
 */
export type Aggregation = 'mean' | 'vote';

/**
 * A trained forest in the one serving format shared by every engine: flat typed arrays of nodes over all
 * trees in pre-order (a node's left child is the next node), plus the metadata needed to trust and
 * reproduce it. Prediction walks a denser layout derived from these arrays once per forest
 * (`serving.ts`), without allocating; the arrays are never changed once a forest exists. A forest loaded
 * from format 3 is that layout and builds these arrays only when they are read.
 *
 * A node `i` is a leaf when `nodeFeature[i] < 0`; then `nodeNext[i]` is its leaf index and its values are
 * `leafValues[leaf * valuesPerLeaf .. +valuesPerLeaf]` (`valuesPerLeaf` = 1 for regression, the class
 * count for classification). Otherwise a row goes left (`i + 1`) when `row[nodeFeature[i]] <= nodeThreshold[i]`
 * and right (`nodeNext[i]`) otherwise; NaN goes right.
 */
export interface FlatForest {
  engine: EngineName;
  task: LearningTask;
  featureCount: number;
  /** Classification: the original label of each class index; empty for regression. */
  classes: number[];
  /** Trees in this object. */
  nTrees: number;
  /** Index of this object's first tree in the seeded forest (non-zero only for a shard). */
  firstTree: number;
  /** The fully resolved hyperparameters (`params.nTrees` is the whole forest's size, also for a shard). */
  params: ResolvedForestParams;
  seed: number;
  aggregation: Aggregation;
  /**
   * Mean decrease in impurity per feature (sklearn's `feature_importances_`): each tree's impurity
   * decreases normalised to sum 1, averaged over the trees that split at all, normalised again.
   * All zeros only when no tree has a single split.
   */
  featureImportances: Float64Array;
  /** Each tree's normalised importances, `nTrees × featureCount` row-major (kept so shards merge exactly). */
  treeImportances: Float64Array;
  /** Out-of-bag R² (regression) or accuracy (classification), when requested at fit time. */
  oobScore?: number;
  /** Index of each tree's root node. */
  treeRoots: Uint32Array;
  /** Feature tested at each node; -1 marks a leaf. */
  nodeFeature: Int32Array;
  /** Split threshold of each internal node (0 at leaves). */
  nodeThreshold: Float64Array;
  /** Internal node: index of its right child. Leaf: its leaf index. */
  nodeNext: Uint32Array;
  /** Leaf values, `valuesPerLeaf` per leaf: Float32 for the fast engine, Float64 where exactness matters. */
  leafValues: Float32Array | Float64Array;
}

/** Options of one fit. */
export interface FitOptions {
  /** Seed of every random choice; an integer in [0, 2^32). */
  seed: number;
  /**
   * Worker threads building trees; a count given is used as is.
   * @default as many as the fit repays (`defaultWorkers`), at most os.availableParallelism()
   */
  workers?: number;
  /** Compute the out-of-bag score (R² or accuracy). @default false */
  oobScore?: boolean;
  /**
   * Where the worker module is. Running from source, it is found next to the engine; a bundled Lambda
   * bundles `lambdas/core/forest/worker.ts` as its own entry point and passes its location, e.g.
   * `new URL('./forest-worker.mjs', import.meta.url)`. When it cannot be found, trees are built in-thread
   * (with a one-time process warning) and the forest is the same.
   * @default new URL('./worker.ts', import.meta.url) of the engine module
   */
  workerScript?: string | URL;
}

/** A random forest learner: one engine behind one interface, always producing a `FlatForest`. */
export interface Learner {
  readonly engine: EngineName;
  /**
   * Fits a forest.
   * @throws RangeError on invalid data or hyperparameters.
   */
  fit(data: TrainingSet, params: ForestParams, options: FitOptions): Promise<FlatForest>;
}

/** Thrown for bytes that are not a serialized forest of a supported format version, or that were damaged. */
export class ForestFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForestFormatError';
  }
}

/** Number of values stored per leaf. */
export function valuesPerLeaf(forest: Pick<FlatForest, 'task' | 'classes'>): number {
  return forest.task === 'classification' ? forest.classes.length : 1;
}
