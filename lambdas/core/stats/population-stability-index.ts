import { quantileSorted } from './quantile-sorted.ts';

/** Evidently's stand-in for an empty bin's share, so that ln(cur / ref) stays finite. */
export const PSI_EMPTY_SHARE = 0.0001;

/** Default number of quantile bins. */
export const PSI_BIN_COUNT = 10;

/**
 * Population Stability Index of two binned distributions:
 * PSI = Σᵢ (curᵢ − refᵢ) · ln(curᵢ / refᵢ), with empty shares replaced by 0.0001 (Evidently's epsilon).
 * Usual reading: < 0.1 stable, 0.1–0.2 moderate shift, > 0.2 significant shift.
 *
 * @param referenceShares - share of the reference in each bin (or category)
 * @param currentShares - share of the current data in the same bins
 * @throws {RangeError} for vectors of different lengths, empty vectors, or negative / non-finite shares
 * @example
 * populationStabilityIndex([0.5, 0.5], [0.7, 0.3]); // => 0.1695… (0.2·ln(1.4) − 0.2·ln(0.6))
 */
export function populationStabilityIndex(
  referenceShares: ArrayLike<number>,
  currentShares: ArrayLike<number>,
): number {
  if (referenceShares.length !== currentShares.length || referenceShares.length === 0) {
    throw new RangeError(
      `populationStabilityIndex needs two non-empty share vectors of one length (${referenceShares.length}, ${currentShares.length})`,
    );
  }
  let psi = 0;
  for (let i = 0; i < referenceShares.length; i++) {
    const reference = referenceShares[i];
    const current = currentShares[i];
    if (!(reference >= 0 && current >= 0) || !Number.isFinite(reference + current)) {
      throw new RangeError(`shares must be finite and non-negative, got ${reference} / ${current} at ${i}`);
    }
    const referenceShare = reference === 0 ? PSI_EMPTY_SHARE : reference;
    const currentShare = current === 0 ? PSI_EMPTY_SHARE : current;
    psi += (currentShare - referenceShare) * Math.log(currentShare / referenceShare);
  }
  return psi;
}

/**
 * Bin edges at the reference's quantiles: interior edges at the 1/k, 2/k, … (k−1)/k quantiles
 * (`np.quantile`, linear), duplicates merged, outer edges −∞ and +∞. Bins are right-closed,
 * (edgeᵢ, edgeᵢ₊₁], so an edge at the reference minimum still leaves a non-empty first bin.
 *
 * @param sortedReference - reference values sorted ascending, finite
 * @param binCount - number of quantile bins before merging
 * @throws {RangeError} for an empty reference or a bin count that is not an integer ≥ 1
 * @example
 * quantileBinEdges([1, 2, 3, 4, 5], 2); // => [-Infinity, 3, Infinity]
 */
export function quantileBinEdges(
  sortedReference: ArrayLike<number>,
  binCount: number = PSI_BIN_COUNT,
): number[] {
  if (!Number.isInteger(binCount) || binCount < 1) {
    throw new RangeError(`binCount must be an integer >= 1, got ${binCount}`);
  }
  const edges = [Number.NEGATIVE_INFINITY];
  for (let i = 1; i < binCount; i++) {
    const edge = quantileSorted(sortedReference, i / binCount);
    if (edge !== edges[edges.length - 1]) edges.push(edge);
  }
  edges.push(Number.POSITIVE_INFINITY);
  return edges;
}

/**
 * {@link binShares} of values already sorted ascending (not checked): one binary search per edge instead
 * of one per value.
 */
export function binSharesSorted(sorted: Float64Array, edges: readonly number[]): number[] {
  if (sorted.length === 0) throw new RangeError('binShares requires at least one value');
  if (edges.length < 2) throw new RangeError(`binShares requires at least two edges, got ${edges.length}`);
  // How many values are ≤ edge: the upper bound of the edge in the sorted values.
  const atMost = (edge: number) => {
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (sorted[middle] <= edge) low = middle + 1;
      else high = middle;
    }
    return low;
  };
  const shares: number[] = [];
  let below = 0;
  for (let bin = 1; bin < edges.length; bin++) {
    const upTo = bin === edges.length - 1 ? sorted.length : atMost(edges[bin]);
    shares.push((upTo - below) / sorted.length);
    below = upTo;
  }
  return shares;
}

/**
 * Share of `values` in each right-closed bin (edgeᵢ, edgeᵢ₊₁] of `edges` (as from `quantileBinEdges`).
 *
 * @throws {RangeError} for empty values or fewer than two edges
 * @example
 * binShares([1, 2, 3, 4], [-Infinity, 2, Infinity]); // => [0.5, 0.5]
 */
export function binShares(values: ArrayLike<number>, edges: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError('binShares requires at least one value');
  if (edges.length < 2) throw new RangeError(`binShares requires at least two edges, got ${edges.length}`);
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    // First interior edge ≥ value, by binary search over edges[1 … length − 2].
    let low = 1;
    let high = edges.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (edges[middle] >= values[i]) high = middle;
      else low = middle + 1;
    }
    counts[low - 1] += 1;
  }
  return counts.map((count) => count / values.length);
}
