/**
 * Prediction over the flat arrays: a tight loop per tree, no allocation per row. (A packed 16-byte node
 * layout was measured slower than these three parallel arrays, which stay hot in cache across rows.)
 */
import { type FlatForest, valuesPerLeaf } from './types.ts';

/** Leaf index reached by `row` (read at `offset`) in the tree rooted at node `root`. */
export function leafOf(forest: FlatForest, root: number, row: ArrayLike<number>, offset = 0): number {
  const { nodeFeature, nodeThreshold, nodeNext } = forest;
  let node = root;
  let feature = nodeFeature[node];
  while (feature >= 0) {
    node = row[offset + feature] <= nodeThreshold[node] ? node + 1 : nodeNext[node];
    feature = nodeFeature[node];
  }
  return nodeNext[node];
}

let sharedProbabilities = new Float64Array(0);

/** Offset from `base` of the largest of `count` values (the first one on ties). */
function argMax(values: ArrayLike<number>, base: number, count: number): number {
  let top = 0;
  for (let k = 1; k < count; k++) if (values[base + k] > values[base + top]) top = k;
  return top;
}

/**
 * Predicts one row.
 *
 * Regression: returns the mean of the trees' leaf values. Classification: fills `out` (length
 * `classes.length`; a shared buffer when omitted) with class probabilities — the mean of the trees' leaf
 * class distributions, or vote shares for a `vote` forest — and returns the index of the top class
 * (for `vote`, ties go to the class that reached the top count first in tree order, as ml-random-forest).
 *
 * @param row the features in training order; NaN goes right at every split
 * @example
 * const value = predictRow(forest, [0.1, 0.5, 0.9]);
 * const probabilities = new Float64Array(forest.classes.length);
 * const top = predictRow(classifier, row, probabilities); // classifier.classes[top] is the label
 */
export function predictRow(forest: FlatForest, row: ArrayLike<number>, out?: Float64Array): number {
  const { treeRoots, leafValues, nTrees } = forest;
  if (forest.task === 'regression') {
    let sum = 0;
    for (let tree = 0; tree < nTrees; tree++) sum += leafValues[leafOf(forest, treeRoots[tree], row)];
    return sum / nTrees;
  }
  const classCount = valuesPerLeaf(forest);
  if (out === undefined) {
    if (sharedProbabilities.length !== classCount) sharedProbabilities = new Float64Array(classCount);
    out = sharedProbabilities;
  }
  out.fill(0, 0, classCount);
  if (forest.aggregation === 'vote') {
    let mode = 0;
    let modeCount = 0;
    for (let tree = 0; tree < nTrees; tree++) {
      const base = leafOf(forest, treeRoots[tree], row) * classCount;
      const vote = argMax(leafValues, base, classCount);
      const count = ++out[vote];
      if (count > modeCount) {
        modeCount = count;
        mode = vote;
      }
    }
    for (let k = 0; k < classCount; k++) out[k] /= nTrees;
    return mode;
  }
  for (let tree = 0; tree < nTrees; tree++) {
    const base = leafOf(forest, treeRoots[tree], row) * classCount;
    for (let k = 0; k < classCount; k++) out[k] += leafValues[base + k];
  }
  for (let k = 0; k < classCount; k++) out[k] /= nTrees;
  return argMax(out, 0, classCount);
}

/**
 * Predicts many rows: `x` is row-major `rowCount × featureCount`. Returns regression values, or
 * row-major class probabilities (`rowCount × classes.length`). Trees are walked one at a time over all
 * rows so each tree's nodes stay in cache; every row still sums its trees in tree order, so results
 * equal `predictRow`'s exactly.
 *
 * @throws RangeError when `x` does not hold `rowCount × featureCount` values.
 */
export function predictBatch(forest: FlatForest, x: Float64Array, rowCount: number): Float64Array {
  const { featureCount, treeRoots, leafValues, nTrees } = forest;
  if (!Number.isInteger(rowCount) || rowCount < 0 || x.length !== rowCount * featureCount) {
    throw new RangeError(`x has ${x.length} values; ${rowCount} rows × ${featureCount} features expected`);
  }
  const classCount = valuesPerLeaf(forest);
  const out = new Float64Array(rowCount * classCount);
  if (forest.aggregation === 'vote') {
    for (let row = 0; row < rowCount; row++) {
      predictRow(
        forest,
        x.subarray(row * featureCount, (row + 1) * featureCount),
        out.subarray(row * classCount),
      );
    }
    return out;
  }
  for (let tree = 0; tree < nTrees; tree++) {
    const root = treeRoots[tree];
    for (let row = 0; row < rowCount; row++) {
      const base = leafOf(forest, root, x, row * featureCount) * classCount;
      const target = row * classCount;
      for (let k = 0; k < classCount; k++) out[target + k] += leafValues[base + k];
    }
  }
  for (let cell = 0; cell < out.length; cell++) out[cell] /= nTrees;
  return out;
}
