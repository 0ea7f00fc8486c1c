/**
 * The canary draw: which requests a baking canary answers. A Weyl sequence, u_n = frac(seed + n·(φ−1)),
 * in place of independent random draws: each container answers its canary share to within 3 requests over
 * any run of requests (for every seed), instead of a binomial spread, so a canary's share is what its spec
 * says from the first requests on, and a test can assert it exactly. The seed only sets where the sequence
 * starts (containers started with different seeds do not move in step).
 */

/** φ − 1: its continued fraction is all ones, which spreads the sequence most evenly (three-gap theorem). */
const GOLDEN_STEP = (Math.sqrt(5) - 1) / 2;

/**
 * A draw in [0, 1) per call; a request goes to the canary when its draw is below the canary's weight.
 * @param seed where the sequence starts, in [0, 1).
 * @throws {RangeError} for a seed outside [0, 1).
 * @example
 * const draw = canaryDraw(0);
 * Array.from({ length: 10 }, () => draw() < 0.2).filter(Boolean).length; // 2
 */
export function canaryDraw(seed: number): () => number {
  if (!(seed >= 0 && seed < 1)) throw new RangeError(`canary seed must be in [0, 1), got ${seed}`);
  let u = seed;
  return () => {
    u += GOLDEN_STEP;
    if (u >= 1) u -= 1;
    return u;
  };
}
