/**
 * Out-of-bag score of a fast-engine forest: every training row is predicted by the trees that did not
 * draw it, and those predictions are scored (R² for regression, accuracy for classification, as
 * scikit-learn's `oob_score_`). The rows each tree drew are replayed from `(seed, tree index)`.
 */
import type { TrainingSet } from '../types.ts';
import { leafOf } from './predict.ts';
import { treeStream } from './random.ts';
import { drawRowCounts } from './sampling.ts';
import { type FlatForest, valuesPerLeaf } from './types.ts';

/** Each training row predicted by the trees that did not draw it. */
export interface OutOfBagPredictions {
  /** Per row: the mean prediction (regression) or the class probabilities (`classCount` values, classification). */
  values: Float64Array;
  /** Trees that left each row out; rows with 0 have no prediction (their values are 0). */
  votes: Uint32Array;
  classCount: number;
}

/**
 * Out-of-bag predictions of a fast-engine forest on the rows it was fitted on (`data` must be exactly
 * those rows, in order): the mean of the leaf values of the trees that did not draw the row.
 */
export function outOfBagPredictions(forest: FlatForest, data: TrainingSet): OutOfBagPredictions {
  const { rowCount, featureCount, x } = data;
  const classCount = valuesPerLeaf(forest);
  const values = new Float64Array(rowCount * classCount);
  const votes = new Uint32Array(rowCount);
  const { bootstrap, sampleFraction } = forest.params;
  for (let tree = 0; tree < forest.nTrees; tree++) {
    const counts = drawRowCounts(
      treeStream(forest.seed, forest.firstTree + tree),
      rowCount,
      bootstrap,
      sampleFraction,
    );
    const root = forest.treeRoots[tree];
    for (let row = 0; row < rowCount; row++) {
      if (counts[row] > 0) continue;
      const base = leafOf(forest, root, x, row * featureCount) * classCount;
      for (let k = 0; k < classCount; k++) values[row * classCount + k] += forest.leafValues[base + k];
      votes[row]++;
    }
  }
  for (let row = 0; row < rowCount; row++) {
    if (votes[row] === 0) continue;
    for (let k = 0; k < classCount; k++) values[row * classCount + k] /= votes[row];
  }
  return { values, votes, classCount };
}

/**
 * Computes the out-of-bag score over the rows that are out of bag for at least one tree.
 *
 * @throws RangeError when no row is out of bag (no bootstrap and `sampleFraction` 1) or, for regression,
 *   when the out-of-bag targets are constant.
 */
export function outOfBagScore(forest: FlatForest, data: TrainingSet): number {
  const { rowCount, y } = data;
  const { values, votes, classCount } = outOfBagPredictions(forest, data);
  let scored = 0;
  let meanTarget = 0;
  for (let row = 0; row < rowCount; row++) {
    if (votes[row] === 0) continue;
    scored++;
    meanTarget += (y[row] - meanTarget) / scored;
  }
  if (scored === 0)
    throw new RangeError('oobScore needs out-of-bag rows: use bootstrap or a sampleFraction below 1');
  if (forest.task === 'classification') {
    let correct = 0;
    for (let row = 0; row < rowCount; row++) {
      if (votes[row] === 0) continue;
      let top = 0;
      for (let k = 1; k < classCount; k++)
        if (values[row * classCount + k] > values[row * classCount + top]) top = k;
      if (top === y[row]) correct++;
    }
    return correct / scored;
  }
  let residual = 0;
  let total = 0;
  for (let row = 0; row < rowCount; row++) {
    if (votes[row] === 0) continue;
    residual += (y[row] - values[row]) ** 2;
    total += (y[row] - meanTarget) ** 2;
  }
  if (total === 0) throw new RangeError('out-of-bag R² is undefined: the out-of-bag targets are constant');
  return 1 - residual / total;
}
