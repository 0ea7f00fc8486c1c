/*
 * Exact null distribution of the two-sided two-sample Kolmogorov–Smirnov statistic, ported from SciPy
 * 1.10 (`_compute_prob_outside_square` in `scipy/stats/_stats_py.py` and
 * `_compute_outer_prob_inside_method` in `scipy/stats/_stats_pythran.py`). Both count monotone lattice
 * paths from (0, 0) to (m, n) (Hodges 1958, after Drion, Gnedenko and Korolyuk); D is first turned into
 * the integer h = round(D · lcm(m, n)) so that path boundaries are exact.
 */

/**
 * P(D_{n,n} ≥ h/n) for equal sample sizes: 2 Σₖ (−1)^(k+1) C(2n, n − kh) / C(2n, n), evaluated as
 * 2·A₁(1 − A₂(1 − A₃(…))) with each Aₖ a ratio of h factors, which avoids subtractive cancellation.
 *
 * @param n - common sample size, n ≥ 1
 * @param h - integer boundary, 1 ≤ h ≤ n
 */
export function probabilityOutsideSquare(n: number, h: number): number {
  let probability = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let ratio = 1;
    for (let j = 0; j < h; j++) ratio = ((n - k * h - j) * ratio) / (n + k * h + j + 1);
    probability = ratio * (1 - probability);
  }
  return 2 * probability;
}

/**
 * P(D_{m,n} ≥ h / lcm(m, n)) for any sizes: the share of lattice paths that leave the band
 * |x/m − y/n| < h / lcm(m, n), by Hodges' "inside method" rewritten (Viehmann 2021, arXiv:2102.08037)
 * to carry 1 − p column by column. Each step is a convex combination, so values stay in [0, 1], and only
 * a sliding window of one column is kept: O(m · window) time, O(n) memory.
 *
 * @param m - first sample size
 * @param n - second sample size
 * @param g - gcd(m, n)
 * @param h - integer boundary, 1 ≤ h ≤ lcm(m, n)
 */
export function probabilityOutsideBand(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = m / g;
  const ng = n / g;
  let minJ = 0;
  let maxJ = Math.min(Math.ceil(h / mg), n + 1);
  let currentLength = maxJ - minJ;
  const column = new Float64Array(Math.min(2 * maxJ + 2, n + 1)).fill(1);
  column.fill(0, minJ, maxJ);
  for (let i = 1; i <= m; i++) {
    const lastMinJ = minJ;
    const lastLength = currentLength;
    minJ = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxJ = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxJ <= minJ) return 1;
    let value = minJ === 0 ? 0 : 1;
    for (let jj = 0; jj < maxJ - minJ; jj++) {
      const j = jj + minJ;
      value = (column[jj + minJ - lastMinJ] * i + value * j) / (i + j);
      column[jj] = value;
    }
    currentLength = maxJ - minJ;
    if (lastLength > currentLength) column.fill(1, maxJ - minJ, maxJ - minJ + (lastLength - currentLength));
  }
  return column[maxJ - minJ - 1];
}
