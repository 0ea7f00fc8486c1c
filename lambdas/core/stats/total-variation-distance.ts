/**
 * Total variation distance between two discrete distributions given as shares over the same categories:
 * ½ Σᵢ |pᵢ − qᵢ|, in [0, 1] — the largest difference in probability the two give to any set of categories.
 *
 * @param p - shares of the first distribution (summing to 1)
 * @param q - shares of the second distribution, same order and length
 * @throws {RangeError} for vectors of different lengths
 * @example
 * totalVariationDistance([0.5, 0.5], [0.8, 0.2]); // => 0.3
 */
export function totalVariationDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) {
    throw new RangeError(`totalVariationDistance needs vectors of one length (${p.length}, ${q.length})`);
  }
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += Math.abs(p[i] - q[i]);
  return sum / 2;
}
