import { regularizedGammaUpper } from './regularized-gamma.ts';

/**
 * Survival function of the chi-square distribution, P(X > x) for X ~ χ²(df)
 * (`scipy.stats.chi2.sf`): Q(df / 2, x / 2), the upper regularized incomplete gamma function.
 *
 * @param x - the statistic; values ≤ 0 give 1, Infinity gives 0
 * @param degreesOfFreedom - a positive finite number
 * @returns the upper-tail probability in [0, 1]
 * @throws {RangeError} if degreesOfFreedom is not positive and finite, or x is NaN
 * @example
 * chiSquareSurvival(3.84, 1); // => 0.05004352124870519
 */
export function chiSquareSurvival(x: number, degreesOfFreedom: number): number {
  if (!(degreesOfFreedom > 0) || !Number.isFinite(degreesOfFreedom)) {
    throw new RangeError(`chi-square needs positive finite degrees of freedom, got ${degreesOfFreedom}`);
  }
  if (Number.isNaN(x)) {
    throw new RangeError('chi-square survival of NaN is undefined');
  }
  if (x <= 0) return 1;
  return regularizedGammaUpper(degreesOfFreedom / 2, x / 2);
}
