/**
 * The canary draw: which requests a baking canary answers. A Weyl sequence, u_n = frac(seed + n·(φ−1)),
 * in place of independent random draws: each container answers its canary share to within 3 requests over
 * any run of requests (for every seed), instead of a binomial spread, so a canary's share is what its spec
 * says from the first requests on, and a test can assert it exactly. The seed only sets where the sequence
 * starts (containers started with different seeds do not move in step); {@link canarySeed} derives it from
 * the container's identity, so which requests a container gave its canary can be replayed from its logs.
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

/**
 * A canary seed in [0, 1) from a container's identity (on Lambda, its log stream name, which is unique per
 * execution environment and recorded with every line it logs): the same identity always gives the same
 * sequence, and different containers start at unrelated points. FNV-1a over the UTF-16 code units, 32 bits.
 * @example
 * canarySeed('2026/01/01/[$LATEST]abc') === canarySeed('2026/01/01/[$LATEST]abc'); // true
 */
export function canarySeed(identity: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < identity.length; i++) {
    hash ^= identity.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 2 ** 32;
}
