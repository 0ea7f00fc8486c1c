import { smirnovSurvival } from './smirnov.ts';

/*
 * The distribution of the two-sided one-sample Kolmogorov–Smirnov statistic Dₙ = supₓ |Fₙ(x) − F(x)|,
 * ported from SciPy's `scipy/stats/_ksstats.py` (`kolmogn`), which follows Simard & L'Ecuyer (2011),
 * "Computing the Two-Sided Kolmogorov-Smirnov Distribution", J. Stat. Softw. 39(11): exact
 * Ruben–Gambino formulas at the ends, the Durbin matrix (Marsaglia–Tsang–Wang) or Pomeranz recursion
 * for small n·x², 2·P(Dₙ⁺ ≥ x) in the upper tail, and the Pelz–Good asymptotic series for large n.
 */

const TWO_POW_128 = 2 ** 128;
const TWO_POW_MINUS_128 = 2 ** -128;
const SCALE_EXPONENT = 128;
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT3 = Math.sqrt(3);
const PI_SQUARED = Math.PI ** 2;
const PI_FOUR = Math.PI ** 4;
const PI_SIX = Math.PI ** 6;
/** exp() of anything below this is zero for SciPy's Pelz–Good cut-off. */
const MIN_LOG = -708;
/** Stirling series coefficients B₂ⱼ / (2j(2j−1)) for j = 8 … 1, highest power first. */
const STIRLING_COEFFICIENTS = [
  -3617 / 122400,
  1 / 156,
  -691 / 360360,
  1 / 1188,
  -1 / 1680,
  1 / 1260,
  -1 / 360,
  1 / 12,
];

function clipProbability(p: number): number {
  return Math.min(1, Math.max(0, p));
}

/** x · 2^exponent without overflowing or underflowing in an intermediate power of two. */
function scaleByPowerOfTwo(x: number, exponent: number): number {
  let result = x;
  let remaining = exponent;
  while (remaining > 1000) {
    result *= 2 ** 1000;
    remaining -= 1000;
  }
  while (remaining < -1000) {
    result *= 2 ** -1000;
    remaining += 1000;
  }
  return result * 2 ** remaining;
}

/** ln(n! / nⁿ) by Stirling's series, with n·ln n removed up front to avoid cancellation. */
function logFactorialOverPower(n: number): number {
  const reciprocal = 1 / n;
  let series = 0;
  for (const coefficient of STIRLING_COEFFICIENTS) series = series * (reciprocal / n) + coefficient;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + reciprocal * series;
}

/** A square matrix as rows. */
type Matrix = Float64Array[];

function multiplyMatrices(a: Matrix, b: Matrix): Matrix {
  const size = a.length;
  const product = Array.from({ length: size }, () => new Float64Array(size));
  for (let i = 0; i < size; i++) {
    const row = product[i];
    for (let k = 0; k < size; k++) {
      const aik = a[i][k];
      if (aik === 0) continue;
      const bRow = b[k];
      for (let j = 0; j < size; j++) row[j] += aik * bRow[j];
    }
  }
  return product;
}

/**
 * P(Dₙ ≤ d) by Durbin's matrix formula as computed by Marsaglia, Tsang & Wang (2003): with
 * d = (k − h)/n, the k-th diagonal entry of (n!/nⁿ) Hⁿ for a (2k−1)×(2k−1) matrix H, raised to the n-th
 * power by squaring and rescaled by 2^±128 to stay in range. Suited to small n·d.
 */
function durbinCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const size = 2 * k - 1;

  // v[j] = (1 − h^(j+1)) / (j+1)!, w[j] = 1/j!; the last entry of v gets the corner correction.
  const v = new Float64Array(size);
  const w = new Float64Array(size);
  let factorial = 1;
  for (let j = 1; j <= size; j++) {
    w[j - 1] = factorial;
    factorial /= j;
    v[j - 1] = (1 - h ** j) * factorial;
  }
  const corner = Math.max(2 * h - 1, 0) ** size - 2 * h ** size;
  v[size - 1] = (1 + corner) * factorial;

  let matrix: Matrix = Array.from({ length: size }, () => new Float64Array(size));
  for (let column = 1; column < size; column++) {
    for (let row = column - 1; row < size; row++) matrix[row][column] = w[row - column + 1];
  }
  for (let row = 0; row < size; row++) matrix[row][0] = v[row];
  for (let column = 0; column < size; column++) matrix[size - 1][column] = v[size - 1 - column];

  let power: Matrix = Array.from({ length: size }, (_, i) => {
    const row = new Float64Array(size);
    row[i] = 1;
    return row;
  });
  let exponent = 0;
  let matrixExponent = 0;
  for (let remaining = n; remaining > 0; remaining = Math.floor(remaining / 2)) {
    if (remaining % 2 === 1) {
      power = multiplyMatrices(power, matrix);
      exponent += matrixExponent;
    }
    matrix = multiplyMatrices(matrix, matrix);
    matrixExponent *= 2;
    if (Math.abs(matrix[k - 1][k - 1]) > TWO_POW_128) {
      for (const row of matrix) for (let j = 0; j < size; j++) row[j] /= TWO_POW_128;
      matrixExponent += SCALE_EXPONENT;
    }
  }

  let p = power[k - 1][k - 1];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < TWO_POW_MINUS_128) {
      p *= TWO_POW_128;
      exponent -= SCALE_EXPONENT;
    }
  }
  return clipProbability(scaleByPowerOfTwo(p, exponent));
}

/** Full discrete convolution of a and b (`np.convolve(a, b)`). */
function convolve(a: Float64Array, b: Float64Array): Float64Array {
  const result = new Float64Array(a.length + b.length - 1);
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) result[i + j] += a[i] * b[j];
  }
  return result;
}

/** Endpoints [j1, j2] of the non-zero entries of row i in Pomeranz's recursion. */
function pomeranzBounds(i: number, n: number, ll: number, ceilF: number, roundF: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilF - 1;
    j2 = ll + ceilF - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilF - 1;
        j2 = n + ll + ceilF - 1;
      } else {
        j1 = half - 1 - ll - roundF - 1;
        j2 = half + ll - 1 + ceilF - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundF - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/**
 * P(Dₙ ≤ x) by Pomeranz's recursion (1974): 2n + 1 convolutions of a sliding row with truncated
 * Poisson weights, rescaled by 2^±128 against underflow, times n! at the end.
 */
function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilF = f > 0 ? 1 : 0;
  const roundF = f > 0.5 ? 1 : 0;
  const powerCount = 2 * (ll + 1);
  const gPower = new Float64Array(powerCount);
  const twoGPower = new Float64Array(powerCount);
  const oneMinusTwoGPower = new Float64Array(powerCount);
  gPower[0] = 1;
  twoGPower[0] = 1;
  oneMinusTwoGPower[0] = 1;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < powerCount; m++) {
    gPower[m] = (gPower[m - 1] * gOverN) / m;
    twoGPower[m] = (twoGPower[m - 1] * twoGOverN) / m;
    oneMinusTwoGPower[m] = (oneMinusTwoGPower[m - 1] * oneMinusTwoGOverN) / m;
  }

  let previous = new Float64Array(powerCount);
  let current = new Float64Array(powerCount);
  current[0] = 1;
  let previousStart = 0;
  let currentStart = 0;
  let exponent = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilF, roundF);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [previous, current] = [current, previous];
    [previousStart, currentStart] = [currentStart, previousStart];
    current.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilF, roundF);
    const powers = i === 1 || i === 2 * n + 1 ? gPower : i % 2 === 1 ? twoGPower : oneMinusTwoGPower;
    const length = j2 - k1 + 1;
    if (length > 0) {
      const window = previous.subarray(k1 - previousStart, k1 - previousStart + length);
      const convolution = convolve(window, powers.subarray(0, length));
      const offset = j1 - k1;
      const count = j2 - j1 + 1;
      current.set(convolution.subarray(offset, offset + count));
      let largest = Number.NEGATIVE_INFINITY;
      for (const value of current) largest = Math.max(largest, value);
      if (largest > 0 && largest < TWO_POW_MINUS_128) {
        for (let j = 0; j < current.length; j++) current[j] *= TWO_POW_128;
        exponent -= SCALE_EXPONENT;
      }
      currentStart = previousStart + j1 - k1;
    }
  }

  let answer = current[n - currentStart];
  for (let m = 1; m <= n; m++) {
    if (Math.abs(answer) > TWO_POW_128) {
      answer *= TWO_POW_MINUS_128;
      exponent += SCALE_EXPONENT;
    }
    answer *= m;
  }
  return clipProbability(scaleByPowerOfTwo(answer, exponent));
}

/**
 * Pelz–Good (1976) approximation to P(Dₙ ≤ x): the Li-Chien/Korolyuk expansion
 * K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^1.5 with z = x√n, each Kᵢ rewritten through Jacobi theta
 * functions into a series that converges fast for small z. Not clipped, as in SciPy.
 */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const zSquared = z ** 2;
  const zThree = z ** 3;
  const zFour = z ** 4;
  const zSix = z ** 6;
  const qLog = -PI_SQUARED / 8 / zSquared;
  if (qLog < MIN_LOG) return 0;
  let q = Math.exp(qLog);

  const k1a = -zSquared;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * zSix + 2 * zFour;
  const k2b = ((2 * zFour - 5 * zSquared) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * zSquared)) / 16;
  const k3d = (PI_SIX * (5 - 30 * zSquared)) / 64;
  const k3c = (PI_FOUR * (-60 * zSquared + 212 * zFour)) / 16;
  const k3b = (PI_SQUARED * (135 * zFour - 96 * zSix)) / 4;
  const k3a = -30 * zSix - 90 * z ** 8;

  // Horner scheme over odd m = 2k − 1 of the sums Σ cₘ q^(m²).
  const terms = [0, 0, 0, 0];
  const maxK = Math.ceil((16 * z) / Math.PI);
  for (let k = maxK; k > 0; k--) {
    const m = 2 * k - 1;
    const mSquared = m ** 2;
    const mFour = m ** 4;
    const mSix = m ** 6;
    const qPower = q ** (8 * k);
    const coefficients = [
      1,
      k1a + k1b * mSquared,
      k2a + k2b * mSquared + k2c * mFour,
      k3a + k3b * mSquared + k3c * mFour + k3d * mSix,
    ];
    for (let i = 0; i < 4; i++) terms[i] = terms[i] * qPower + coefficients[i];
  }
  const divisors = [z, 6 * zFour, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) terms[i] = (terms[i] * q * SQRT_2PI) / divisors[i];

  // The remaining sums over all integers k in K₂ and K₃.
  q = Math.exp(-PI_SQUARED / 2 / zSquared);
  const sqrt3z = SQRT3 * z;
  let k2Extra = 0;
  let k3Extra = 0;
  for (let k = maxK; k > 0; k--) {
    const kSquared = k ** 2;
    const kPi = Math.PI * k;
    const qPower = q ** kSquared;
    k2Extra += kSquared * qPower;
    k3Extra += (sqrt3z + kPi) * (sqrt3z - kPi) * kSquared * qPower;
  }
  terms[2] += (k2Extra * PI_SQUARED * SQRT_2PI) / (-36 * zThree);
  terms[3] += (k3Extra * PI_SQUARED * SQRT_2PI) / (216 * zSix);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += terms[i] / n ** (i / 2);
  return sum;
}

/**
 * Survival function of the two-sided one-sample Kolmogorov–Smirnov statistic, P(Dₙ ≥ x)
 * (`scipy.stats.kstwo.sf(x, n)`), following SciPy's choice of method by n and n·x² (Simard & L'Ecuyer):
 *
 * - n·x ≤ 1 and n·x ≥ n − 1: Ruben–Gambino closed forms;
 * - x ≥ ½: exactly 2·P(Dₙ⁺ ≥ x);
 * - n ≤ 140: Durbin matrix (n·x² ≤ 0.754693), Pomeranz (≤ 4), else 2·P(Dₙ⁺ ≥ x);
 * - n > 140: 0 for n·x² ≥ 370, 2·P(Dₙ⁺ ≥ x) for n·x² ≥ 2.2, else 1 − CDF by Durbin
 *   (n ≤ 100 000 and n·x^1.5 ≤ 1.4) or Pelz–Good.
 *
 * @param n - sample size, a positive integer
 * @param x - the statistic; ≤ 0 gives 1, ≥ 1 gives 0
 * @throws {RangeError} if n is not a positive integer or x is NaN
 * @example
 * kolmogorovTwoSidedSurvival(10, 0.3); // => 0.27053557479999946 (scipy.stats.kstwo.sf(0.3, 10))
 */
export function kolmogorovTwoSidedSurvival(n: number, x: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`the Kolmogorov distribution needs a positive integer n, got ${n}`);
  }
  if (Number.isNaN(x)) {
    throw new RangeError('the Kolmogorov survival function of NaN is undefined');
  }
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let cdf: number;
    if (n <= 140) {
      cdf = 1;
      for (let i = 1; i <= n; i++) cdf *= i * (1 / n) * (2 * t - 1);
    } else {
      cdf = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clipProbability(1 - cdf);
  }
  if (t >= n - 1) return clipProbability(2 * (1 - x) ** n);
  if (x >= 0.5) return clipProbability(2 * smirnovSurvival(n, x));

  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) return clipProbability(1 - durbinCdf(n, x));
    if (nxSquared <= 4) return clipProbability(1 - pomeranzCdf(n, x));
    return clipProbability(2 * smirnovSurvival(n, x));
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return clipProbability(2 * smirnovSurvival(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? durbinCdf(n, x) : pelzGoodCdf(n, x);
  return clipProbability(1 - cdf);
}
