import { kolmogorovTwoSidedSurvival } from './kolmogorov-two-sided.ts';
import { probabilityOutsideBand, probabilityOutsideSquare } from './ks-exact.ts';

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
  return sorted.sort();
}

/** D for two sorted samples: both empirical CDFs evaluated after each distinct value (right-continuous). */
function statisticOfSorted(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let largest = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    while (i < a.length && a[i] === next) i++;
    while (j < b.length && b[j] === next) j++;
    // The same floating-point difference SciPy takes: i/n₁ − j/n₂ in both signs.
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
