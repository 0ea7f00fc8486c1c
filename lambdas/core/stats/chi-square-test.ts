import { chiSquareSurvival } from './chi-square-survival.ts';

/** Result of Pearson's chi-square goodness-of-fit test. */
export interface ChiSquareResult {
  /** Σ (observed − expected)² / expected; Infinity when a category expected never occurs. */
  statistic: number;
  /** P(χ²(k − 1) ≥ statistic). */
  pValue: number;
  /** k − 1, with k the number of categories. */
  degreesOfFreedom: number;
}

/** SciPy's tolerance on the mismatch between the observed and expected totals. */
const TOTAL_RELATIVE_TOLERANCE = 1e-8;

/**
 * Pearson's chi-square goodness-of-fit test (`scipy.stats.chisquare(observed, expected)`):
 * statistic χ² = Σᵢ (Oᵢ − Eᵢ)² / Eᵢ, p-value from χ² with k − 1 degrees of freedom.
 *
 * A category with expected frequency 0 but observed occurrences makes the statistic infinite and the
 * p-value 0, as in SciPy.
 *
 * @param observed - observed frequencies, one per category
 * @param expected - expected frequencies in the same order; totals must match `observed` (relative 1e-8)
 * @throws {RangeError} with fewer than two categories, arrays of different lengths, negative or
 *   non-finite frequencies, mismatched totals, or a category with both frequencies 0
 * @example
 * chiSquareTest([16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8]);
 * // => { statistic: 3.5, pValue: 0.6233876277495822, degreesOfFreedom: 5 }
 */
export function chiSquareTest(observed: ArrayLike<number>, expected: ArrayLike<number>): ChiSquareResult {
  const categoryCount = observed.length;
  if (categoryCount !== expected.length) {
    throw new RangeError(
      `chiSquareTest needs as many expected as observed frequencies (${expected.length} vs ${categoryCount})`,
    );
  }
  if (categoryCount < 2) {
    throw new RangeError(`chiSquareTest requires at least two categories, got ${categoryCount}`);
  }
  let observedTotal = 0;
  let expectedTotal = 0;
  for (let i = 0; i < categoryCount; i++) {
    if (!(observed[i] >= 0 && expected[i] >= 0) || !Number.isFinite(observed[i] + expected[i])) {
      throw new RangeError(
        `chiSquareTest needs finite non-negative frequencies, got ${observed[i]} / ${expected[i]} at ${i}`,
      );
    }
    if (observed[i] === 0 && expected[i] === 0) {
      throw new RangeError(`category ${i} has neither observed nor expected frequency`);
    }
    observedTotal += observed[i];
    expectedTotal += expected[i];
  }
  if (
    Math.abs(observedTotal - expectedTotal) >
    TOTAL_RELATIVE_TOLERANCE * Math.min(observedTotal, expectedTotal)
  ) {
    throw new RangeError(
      `observed and expected totals must agree (relative ${TOTAL_RELATIVE_TOLERANCE}): ${observedTotal} vs ${expectedTotal}`,
    );
  }
  let statistic = 0;
  for (let i = 0; i < categoryCount; i++) {
    const deviation = observed[i] - expected[i];
    statistic += (deviation * deviation) / expected[i];
  }
  const degreesOfFreedom = categoryCount - 1;
  return { statistic, pValue: chiSquareSurvival(statistic, degreesOfFreedom), degreesOfFreedom };
}
