/** p · ln(p / m), with 0 · ln 0 = 0 (`scipy.special.rel_entr` where m ≥ p / 2 > 0). */
function relativeEntropyTerm(p: number, m: number): number {
  return p > 0 ? p * Math.log(p / m) : 0;
}

function total(values: ArrayLike<number>, label: string): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    if (!(values[i] >= 0) || !Number.isFinite(values[i])) {
      throw new RangeError(`${label} frequencies must be finite and non-negative, got ${values[i]} at ${i}`);
    }
    sum += values[i];
  }
  if (sum === 0) throw new RangeError(`${label} frequencies sum to 0`);
  return sum;
}

/**
 * Jensen–Shannon distance between two discrete distributions given as frequency vectors over the same
 * categories (`scipy.spatial.distance.jensenshannon(p, q)`, natural logarithm):
 * √((KL(p ‖ m) + KL(q ‖ m)) / 2) with m = (p + q) / 2, after normalizing each vector to sum to 1.
 * It lies in [0, √ln 2 ≈ 0.833]. Current Evidently calls it with the natural logarithm too (one release
 * used base 2); its default drift threshold is 0.1.
 *
 * @param p - frequencies or shares of the first distribution
 * @param q - frequencies or shares of the second distribution, same order and length
 * @throws {RangeError} for vectors of different lengths or empty, negative, non-finite or all-zero frequencies
 * @example
 * jensenShannonDistance([1, 0], [0, 1]); // => 0.8325546111576977 (√ln 2)
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length || p.length === 0) {
    throw new RangeError(
      `jensenShannonDistance needs two non-empty vectors of one length (${p.length}, ${q.length})`,
    );
  }
  const pTotal = total(p, 'first');
  const qTotal = total(q, 'second');
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const pShare = p[i] / pTotal;
    const qShare = q[i] / qTotal;
    const mixture = (pShare + qShare) / 2;
    divergence += relativeEntropyTerm(pShare, mixture) + relativeEntropyTerm(qShare, mixture);
  }
  // Rounding can leave a tiny negative sum for identical inputs; the distance is then 0.
  return Math.sqrt(Math.max(0, divergence) / 2);
}
