/**
 * The rows a tree learns from, drawn first from the tree's random stream so that the out-of-bag rows can
 * be replayed later from `(seed, tree index)` alone.
 */
import type { RandomStream } from './random.ts';

/**
 * How often each row is drawn for one tree: a bootstrap (`round(fraction · n)` draws with replacement,
 * scikit-learn's default) or a subsample of `round(fraction · n)` distinct rows.
 *
 * @returns per-row draw counts; 0 marks an out-of-bag row
 */
export function drawRowCounts(
  rng: RandomStream,
  rowCount: number,
  bootstrap: boolean,
  sampleFraction: number,
): Uint32Array {
  const draws = Math.max(1, Math.round(sampleFraction * rowCount));
  const counts = new Uint32Array(rowCount);
  if (bootstrap) {
    for (let draw = 0; draw < draws; draw++) counts[rng.below(rowCount)]++;
    return counts;
  }
  if (draws === rowCount) return counts.fill(1);
  // Partial Fisher–Yates: the first `draws` entries of a random permutation.
  const order = new Uint32Array(rowCount);
  for (let row = 0; row < rowCount; row++) order[row] = row;
  for (let draw = 0; draw < draws; draw++) {
    const pick = draw + rng.below(rowCount - draw);
    const row = order[pick];
    order[pick] = order[draw];
    order[draw] = row;
    counts[row] = 1;
  }
  return counts;
}
