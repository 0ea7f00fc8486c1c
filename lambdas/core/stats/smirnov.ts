/** Cephes' MINLOG, ln of the smallest normal double: below it exp() underflows. */
const MIN_LOG = -708.3964185322641;
/** SciPy switches to an approximation above this n, where the exact sum takes too long. */
const MAX_EXACT_N = 1_000_000;

/** Splits a double into two halves of 26 significant bits each (Veltkamp), for an exact product. */
function split(a: number): [number, number] {
  const c = 134217729 * a; // 2^27 + 1
  const high = c - (c - a);
  return [high, a - high];
}

/**
 * floor(n·x) and the fractional part of the exact product n·x. SciPy computes the product in
 * double-double arithmetic so that x = k/n lands on the integer k; the error-free product does the same.
 */
function floorAndFraction(n: number, x: number): { floor: number; fraction: number } {
  const product = n * x;
  const [nHigh, nLow] = split(n);
  const [xHigh, xLow] = split(x);
  const error = nHigh * xHigh - product + nHigh * xLow + nLow * xHigh + nLow * xLow;
  let floor = Math.floor(product);
  let fraction = product - floor + error;
  if (fraction < 0) {
    floor -= 1;
    fraction += 1;
  } else if (fraction >= 1) {
    floor += 1;
    fraction -= 1;
  }
  return { floor, fraction };
}

/**
 * Survival function of the one-sided Kolmogorov–Smirnov statistic, P(Dₙ⁺ ≥ x)
 * (`scipy.special.smirnov(n, x)`), by the Smirnov / Birnbaum–Tingey sum
 *
 *   P(Dₙ⁺ ≥ x) = x · Σ_{v=0}^{⌊n(1−x)⌋} C(n, v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v),
 *
 * with SciPy's special cases (x ≤ 1/n, x ≥ 1 − 1/n, underflow, n > 10⁶) and its early stop once the
 * remaining terms cannot change the sum. Terms are evaluated in log space, where SciPy uses
 * double-double arithmetic; the result agrees to about 1e-12 relative. SciPy's alternating "upper sum",
 * which it prefers for x ≤ 0.5/√n, is not ported: the two-sided distribution only needs the upper tail.
 *
 * @param n - sample size, a positive integer
 * @param x - the statistic in [0, 1]
 * @throws {RangeError} if n is not a positive integer or x is outside [0, 1]
 * @example
 * smirnovSurvival(5, 0.5); // => 0.056 (scipy.special.smirnov(5, 0.5))
 */
export function smirnovSurvival(n: number, x: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`smirnovSurvival requires a positive integer n, got ${n}`);
  }
  if (!(x >= 0 && x <= 1)) {
    throw new RangeError(`smirnovSurvival requires x in [0, 1], got ${x}`);
  }
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const { floor: nxFloor, fraction } = floorAndFraction(n, x);
  if (nxFloor === 0 || (nxFloor === 1 && fraction === 0)) {
    return clipProbability(1 - x * (1 + x) ** (n - 1));
  }
  if (-2 * n * x * x < MIN_LOG) return 0;
  if (nxFloor >= n - 1) return clipProbability((1 - x) ** n);
  if (n > MAX_EXACT_N) return clipProbability(Math.exp(-((6 * n * x + 1) ** 2) / 18 / n));

  // Terms v = 0 … ⌊n(1 − x)⌋; when n·x is an integer the last one is zero, so n − ⌊nx⌋ terms either way.
  const termCount = n - nxFloor;
  let sum = (1 - x) ** n / x;
  let logBinomial = 0;
  for (let v = 1; v < termCount; v++) {
    logBinomial += Math.log((n - v + 1) / v);
    const upper = (n - v) / n - x;
    const lower = v / n + x;
    const term = Math.exp(logBinomial + (n - v) * Math.log(upper) + (v - 1) * Math.log(lower));
    sum += term;
    if (term !== 0) {
      if (4 * (termCount - v) * term < Number.EPSILON * sum && v !== termCount - 1) break;
    } else if (v > Math.floor(n / 2)) {
      break;
    }
  }
  return clipProbability(x * sum);
}

function clipProbability(p: number): number {
  return Math.min(1, Math.max(0, p));
}
