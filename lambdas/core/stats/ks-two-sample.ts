import { kolmogorovTwoSidedSurvival } from './kolmogorov-two-sided.ts';
import { probabilityOutsideBand, probabilityOutsideSquare } from './ks-exact.ts';
import { sortFloat64 } from './sort-float64.ts';

/** Result of the two-sample Kolmogorov–Smirnov test. */
export interface KsTestResult {
  /** D = supₓ |F₁(x) − F₂(x)|, in [0, 1]. In exact mode D is snapped to the lattice, h / lcm(n₁, n₂). */
  statistic: number;
  /** Two-sided p-value, in [0, 1]. */
  pValue: number;
  /** How the p-value was computed. */
  method: 'exact' | 'asymptotic';
}

/** SciPy's `method='auto'` computes the exact distribution when both samples have at most this many values. */
const MAX_EXACT_SIZE = 10_000;

function sortedCopy(values: ArrayLike<number>, label: string): Float64Array {
  if (values.length === 0) {
    throw new RangeError(`the Kolmogorov–Smirnov test requires a non-empty ${label} sample`);
  }
  const sorted = Float64Array.from(values);
  for (const value of sorted) {
    if (Number.isNaN(value)) {
      throw new RangeError(`the ${label} sample contains NaN: drop missing values before testing`);
    }
  }
  return sortFloat64(sorted);
}

/**
 * D for two sorted samples: both empirical CDFs evaluated after each distinct value (right-continuous).
 *
 * SciPy takes the largest of the floating-point differences i/n₁ − j/n₂ in both signs. Their exact
 * values are the integers i·n₂ − j·n₁ over n₁n₂, which this tracks instead (exact while n₁n₂ < 2⁵³);
 * exact values that differ do so by at least 1/(n₁n₂), far beyond the rounding of the divisions, so
 * SciPy's maximum lies among the points of the exact extremes, and only those points are divided.
 */
function statisticOfSorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 * n2 >= 2 ** 53) return statisticByDivision(a, b);
  let i = 0;
  let j = 0;
  // The extremes of i·n₂ − j·n₁ so far and SciPy's difference at them; the last point (n₁, n₂) gives 0.
  let highest = 0;
  let highestDifference = 0;
  let lowest = 0;
  let lowestDifference = 0;
  // Once a sample is used up, the difference only moves back towards 0 at (n₁, n₂).
  while (i < n1 && j < n2) {
    const x = a[i];
    const y = b[j];
    if (x <= y) {
      i++;
      while (i < n1 && a[i] === x) i++;
    }
    if (y <= x) {
      j++;
      while (j < n2 && b[j] === y) j++;
    }
    const exact = i * n2 - j * n1;
    if (exact >= highest) {
      const difference = i / n1 - j / n2;
      highestDifference = exact > highest ? difference : Math.max(highestDifference, difference);
      highest = exact;
    } else if (exact <= lowest) {
      const difference = i / n1 - j / n2;
      lowestDifference = exact < lowest ? difference : Math.min(lowestDifference, difference);
      lowest = exact;
    }
  }
  return Math.max(highestDifference, -lowestDifference);
}

/** {@link statisticOfSorted} for samples too large for exact products: every point divided, as SciPy. */
function statisticByDivision(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let largest = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    while (i < a.length && a[i] === next) i++;
    while (j < b.length && b[j] === next) j++;
    largest = Math.max(largest, Math.abs(i / a.length - j / b.length));
  }
  return largest;
}

function greatestCommonDivisor(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** NumPy's round-half-to-even. */
function roundHalfEven(x: number): number {
  const rounded = Math.round(x);
  return Math.abs(x % 1) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

/**
 * The two-sample Kolmogorov–Smirnov statistic D = supₓ |F₁(x) − F₂(x)| alone, without a p-value.
 *
 * @throws {RangeError} if a sample is empty or contains NaN
 * @example
 * ksStatistic([1, 2, 3], [2, 3, 4, 5]); // => 0.5
 */
export function ksStatistic(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return statisticOfSorted(sortedCopy(a, 'first'), sortedCopy(b, 'second'));
}

/**
 * {@link ksStatistic} of samples already sorted ascending, without NaN and non-empty (not checked): for
 * callers that sort each sample once and use it for several statistics.
 */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  return statisticOfSorted(a, b);
}

/**
 * Two-sided two-sample Kolmogorov–Smirnov test, reproducing `scipy.stats.ks_2samp(a, b)` (SciPy 1.10,
 * `alternative='two-sided'`, `method='auto'`).
 *
 * D = supₓ |F₁(x) − F₂(x)| over the empirical CDFs; ties are handled by evaluating both CDFs after each
 * distinct value. When max(n₁, n₂) ≤ 10 000 the p-value is exact: D becomes the lattice integer
 * h = round(D · lcm(n₁, n₂)) and P(D ≥ h / lcm) is counted over lattice paths (see `ks-exact.ts`);
 * should that fail to give a probability, SciPy falls back — as here — to the asymptotic p-value
 * P(D_N ≥ D) of the one-sample two-sided distribution with N = round(n₁n₂ / (n₁ + n₂)).
 *
 * @param a - first sample (any order; must not contain NaN)
 * @param b - second sample
 * @throws {RangeError} if a sample is empty or contains NaN
 * @example
 * ksTwoSample([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
 * // => { statistic: 1, pValue: 0.007936507936507936, method: 'exact' }
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsTestResult {
  return ksTwoSampleSorted(sortedCopy(a, 'first'), sortedCopy(b, 'second'));
}

/**
 * {@link ksTwoSample} of samples already sorted ascending, without NaN and non-empty (not checked).
 */
export function ksTwoSampleSorted(a: Float64Array, b: Float64Array): KsTestResult {
  const n1 = a.length;
  const n2 = b.length;
  let statistic = statisticOfSorted(a, b);
  if (Math.max(n1, n2) <= MAX_EXACT_SIZE) {
    const g = greatestCommonDivisor(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(statistic * lcm);
    // SciPy keeps the lattice value of D, also when it falls back to the asymptotic p-value.
    statistic = h / lcm;
    if (h === 0) return { statistic, pValue: 1, method: 'exact' };
    const pValue = n1 === n2 ? probabilityOutsideSquare(n1, h) : probabilityOutsideBand(n1, n2, g, h);
    if (pValue >= 0 && pValue <= 1) return { statistic, pValue, method: 'exact' };
  }
  const effectiveSize = roundHalfEven((n1 * n2) / (n1 + n2));
  const pValue = Math.min(1, Math.max(0, kolmogorovTwoSidedSurvival(effectiveSize, statistic)));
  return { statistic, pValue, method: 'asymptotic' };
}
