/**
 * Quantile binning: every feature is cut into at most `maxBins` bins (one per distinct value when there
 * are fewer), and the training matrix becomes one Uint8Array column of bin indexes per feature, held in a
 * SharedArrayBuffer so every worker reads the same memory.
 */

/** A binned training matrix. */
export interface BinnedMatrix {
  rowCount: number;
  featureCount: number;
  /** Column-major bin indexes: `bins[feature * rowCount + row]`. Backed by a SharedArrayBuffer. */
  bins: Uint8Array;
  /** Per feature, the thresholds between consecutive bins (length = bin count − 1, ascending). */
  thresholds: Float64Array[];
}

/**
 * A threshold strictly between `below` and `above` (below < above): their midpoint, as scikit-learn, or
 * `below` when the two are adjacent doubles and the midpoint rounds up to `above`.
 */
export function midpoint(below: number, above: number): number {
  const middle = below / 2 + above / 2;
  return middle >= above || middle < below ? below : middle;
}

/**
 * Thresholds cutting sorted values into at most `maxBins` bins of roughly equal counts.
 * A value `v` belongs to bin `k` = the number of thresholds `< v`; so `v <= thresholds[k]` ⇔ bin ≤ k.
 */
export function quantileThresholds(sorted: Float64Array, maxBins: number): Float64Array {
  const distinct: number[] = [];
  const endOf: number[] = [];
  for (let index = 0; index < sorted.length; index++) {
    if (index === 0 || sorted[index] !== sorted[index - 1]) distinct.push(sorted[index]);
    endOf[distinct.length - 1] = index + 1;
  }
  const cuts: number[] = [];
  if (distinct.length <= maxBins) {
    for (let k = 1; k < distinct.length; k++) cuts.push(midpoint(distinct[k - 1], distinct[k]));
    return Float64Array.from(cuts);
  }
  // Close a bin after the distinct value whose cumulative count first reaches the next quantile; a value
  // heavier than one quantile fills a bin alone, and the remaining quantiles are re-spread over what's left.
  const total = sorted.length;
  let binsLeft = maxBins;
  let consumed = 0;
  for (let k = 0; k < distinct.length - 1 && binsLeft > 1; k++) {
    const target = consumed + (total - consumed) / binsLeft;
    if (endOf[k] >= target - 1e-9) {
      cuts.push(midpoint(distinct[k], distinct[k + 1]));
      consumed = endOf[k];
      binsLeft--;
    }
  }
  return Float64Array.from(cuts);
}

/** The bin of `value`: the number of thresholds strictly below it (binary search). */
export function binOf(thresholds: Float64Array, value: number): number {
  let low = 0;
  let high = thresholds.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (thresholds[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Bins a row-major matrix feature by feature.
 *
 * @param x row-major `rowCount × featureCount` values, no NaN
 * @param maxBins at most 255 bins per feature
 */
export function binMatrix(
  x: Float64Array,
  rowCount: number,
  featureCount: number,
  maxBins: number,
): BinnedMatrix {
  const bins = new Uint8Array(new SharedArrayBuffer(rowCount * featureCount));
  const thresholds: Float64Array[] = [];
  const column = new Float64Array(rowCount);
  for (let feature = 0; feature < featureCount; feature++) {
    for (let row = 0; row < rowCount; row++) column[row] = x[row * featureCount + feature];
    const featureThresholds = quantileThresholds(column.slice().sort(), maxBins);
    thresholds.push(featureThresholds);
    const offset = feature * rowCount;
    for (let row = 0; row < rowCount; row++) bins[offset + row] = binOf(featureThresholds, column[row]);
  }
  return { rowCount, featureCount, bins, thresholds };
}
