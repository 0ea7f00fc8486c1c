/**
 * Shared types of driftline's pure core. Nothing here (or anywhere under `lambdas/core/`) may import
 * an AWS SDK or touch the network: the core is used by the Lambda handlers, the CLI and the local
 * runtime alike, and is tested in milliseconds.
 */

/** What a model predicts. `forecast` is a regression on lag features of a single monthly series. */
export type Task = 'forecast' | 'regression' | 'classification';

/** The learning problem a forest solves once features are built. */
export type LearningTask = 'regression' | 'classification';

/** A column of a parsed table: numbers (NaN marks a missing value) or strings ('' marks a missing value). */
export type Column =
  | { name: string; kind: 'numeric'; values: Float64Array }
  | { name: string; kind: 'text'; values: string[] };

/** A parsed CSV drop, column-major, in file order. */
export interface Table {
  columns: Column[];
  rowCount: number;
}

/**
 * A feature matrix ready for a learner: row-major `x` of `rowCount × featureCount`,
 * and the target `y` (regression: the value; classification: the class index 0..k-1 into `classes`).
 */
export interface TrainingSet {
  task: LearningTask;
  x: Float64Array;
  y: Float64Array;
  rowCount: number;
  featureCount: number;
  featureNames: string[];
  /** Classification only: the original label of each class index, sorted ascending. */
  classes?: number[];
}

/** Random forest hyperparameters shared by every engine. Unset fields take the engine defaults. */
export interface ForestParams {
  /** Number of trees. @default 100 */
  nTrees?: number;
  /** Maximum depth; 0 or undefined = unlimited. */
  maxDepth?: number;
  /** Minimum samples in a leaf. @default 1 */
  minSamplesLeaf?: number;
  /** Minimum samples to split a node. @default 2 */
  minSamplesSplit?: number;
  /** Maximum leaves per tree; 0 or undefined = unlimited. */
  maxLeaves?: number;
  /**
   * Features tried at each split: a fraction of all features (0, 1], or 'sqrt' / 'log2'.
   * @default 1.0 for regression, 'sqrt' for classification (as scikit-learn)
   */
  maxFeatures?: number | 'sqrt' | 'log2';
  /** Rows drawn per tree as a fraction of all rows. @default 1.0 */
  sampleFraction?: number;
  /** Draw rows with replacement (bootstrap) or without (subsampling). @default true */
  bootstrap?: boolean;
  /** Maximum histogram bins per feature (fast engine only). @default 255 */
  maxBins?: number;
}

/** Names of the forest engines behind the `Learner` interface. */
export type EngineName = 'fast' | 'ml-random-forest';
