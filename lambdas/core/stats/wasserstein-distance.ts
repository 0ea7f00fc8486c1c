import { standardDeviation } from 'simple-statistics';
import { sortFloat64 } from './sort-float64.ts';

/** Evidently's floor on the normalizing standard deviation, so that a constant reference does not divide by 0. */
const MIN_NORM = 0.001;

function sortedFiniteCopy(values: ArrayLike<number>, label: string): Float64Array {
  if (values.length === 0) {
    throw new RangeError(`the Wasserstein distance requires a non-empty ${label} sample`);
  }
  const sorted = Float64Array.from(values);
  for (const value of sorted) {
    if (!Number.isFinite(value)) {
      throw new RangeError(`the ${label} sample contains ${value}: drop missing values before measuring`);
    }
  }
  return sortFloat64(sorted);
}

/**
 * First Wasserstein (earth mover's) distance between two 1-D empirical distributions
 * (`scipy.stats.wasserstein_distance(u, v)`): W₁ = ∫ |U(x) − V(x)| dx, computed exactly as the sum over
 * consecutive pooled values of |U − V| times the gap between them.
 *
 * @param u - first sample (finite values)
 * @param v - second sample (finite values)
 * @throws {RangeError} if a sample is empty or holds a non-finite value
 * @example
 * wassersteinDistance([0, 1, 3], [5, 6, 8]); // => 5
 */
export function wassersteinDistance(u: ArrayLike<number>, v: ArrayLike<number>): number {
  return wassersteinDistanceSorted(sortedFiniteCopy(u, 'first'), sortedFiniteCopy(v, 'second'));
}

/** {@link wassersteinDistance} of samples already sorted ascending, finite and non-empty (not checked). */
export function wassersteinDistanceSorted(uSorted: Float64Array, vSorted: Float64Array): number {
  let i = 0;
  let j = 0;
  let distance = 0;
  let previous = Math.min(uSorted[0], vSorted[0]);
  while (i < uSorted.length || j < vSorted.length) {
    const next =
      j >= vSorted.length || (i < uSorted.length && uSorted[i] <= vSorted[j]) ? uSorted[i] : vSorted[j];
    // The CDFs are constant on [previous, next), at their values after `previous`.
    distance += Math.abs(i / uSorted.length - j / vSorted.length) * (next - previous);
    while (i < uSorted.length && uSorted[i] === next) i++;
    while (j < vSorted.length && vSorted[j] === next) j++;
    previous = next;
  }
  return distance;
}

/**
 * Evidently's normed Wasserstein distance: W₁(reference, current) / max(σ, 0.001), with σ the population
 * standard deviation of the reference (`np.std`). A value ≥ 0.1 is Evidently's default drift threshold:
 * the distributions moved by a tenth of a reference standard deviation.
 *
 * @throws {RangeError} if a sample is empty or holds a non-finite value
 * @example
 * normedWassersteinDistance([1, 2, 3, 4], [2, 3, 4, 5]); // => 0.894… (1 / 1.118)
 */
export function normedWassersteinDistance(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const distance = wassersteinDistance(reference, current);
  return distance / Math.max(standardDeviation(Array.from(reference)), MIN_NORM);
}

/** {@link normedWassersteinDistance} of samples already sorted ascending, finite and non-empty (not checked). */
export function normedWassersteinDistanceSorted(reference: Float64Array, current: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < reference.length; i++) sum += reference[i];
  const mean = sum / reference.length;
  let squares = 0;
  for (let i = 0; i < reference.length; i++) squares += (reference[i] - mean) ** 2;
  const deviation = Math.sqrt(squares / reference.length);
  return wassersteinDistanceSorted(reference, current) / Math.max(deviation, MIN_NORM);
}
