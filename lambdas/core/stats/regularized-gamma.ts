import { logGamma } from './log-gamma.ts';

/** Relative precision at which the series and the continued fraction stop. */
const EPSILON = Number.EPSILON;
/** Stand-in for zero in the modified Lentz algorithm, which divides by running terms. */
const TINY = 1e-300;

/**
 * Iterations allowed before giving up. Both expansions need O(√a) terms near x ≈ a, so the budget
 * grows with a; reaching it means the input is outside what double precision can resolve.
 */
function maxIterations(a: number): number {
  return 1000 + Math.ceil(100 * Math.sqrt(a));
}

/** ln(xᵃ e⁻ˣ / Γ(a)), the common prefactor of both expansions. */
function logPrefactor(a: number, x: number): number {
  return a * Math.log(x) - x - logGamma(a);
}

/** Lower regularized gamma P(a, x) by its power series; converges fast for x < a + 1. */
function lowerBySeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  let denominator = a;
  for (let i = 0; i < maxIterations(a); i++) {
    denominator += 1;
    term *= x / denominator;
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPSILON) {
      return sum * Math.exp(logPrefactor(a, x));
    }
  }
  throw new RangeError(`regularized gamma series did not converge for a=${a}, x=${x}`);
}

/** Upper regularized gamma Q(a, x) by its continued fraction (modified Lentz); converges fast for x ≥ a + 1. */
function upperByContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let fraction = d;
  for (let i = 1; i <= maxIterations(a); i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    fraction *= delta;
    if (Math.abs(delta - 1) < EPSILON) {
      return Math.exp(logPrefactor(a, x)) * fraction;
    }
  }
  throw new RangeError(`regularized gamma continued fraction did not converge for a=${a}, x=${x}`);
}

/**
 * Upper regularized incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a) = 1 − P(a, x)
 * (`scipy.special.gammaincc`).
 *
 * Numerical Recipes §6.2: the series for P(a, x) when x < a + 1 (there Q ≥ ~0.4, so 1 − P loses
 * nothing), the Lentz continued fraction for Q directly otherwise, which keeps full relative
 * precision deep in the upper tail.
 *
 * @param a - shape, a positive finite number
 * @param x - a non-negative number (Infinity gives 0)
 * @returns Q(a, x) in [0, 1]
 * @throws {RangeError} if a is not positive and finite, or x is negative or NaN
 * @example
 * regularizedGammaUpper(1, 2); // => 0.1353352832366127 (e⁻²)
 */
export function regularizedGammaUpper(a: number, x: number): number {
  if (!(a > 0) || !Number.isFinite(a)) {
    throw new RangeError(`regularizedGammaUpper requires a positive finite shape a, got ${a}`);
  }
  if (!(x >= 0)) {
    throw new RangeError(`regularizedGammaUpper requires x >= 0, got ${x}`);
  }
  if (x === 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  if (x < a + 1) return Math.min(1, Math.max(0, 1 - lowerBySeries(a, x)));
  return Math.min(1, upperByContinuedFraction(a, x));
}
