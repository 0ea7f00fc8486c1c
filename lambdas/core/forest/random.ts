/**
 * The forest's random streams. Tree `i` of a forest with seed `s` draws every random choice (its rows,
 * its feature samples) from a stream derived from `(s, i)` alone, so a tree is the same whichever worker,
 * shard or process builds it.
 */

/** A seeded stream of uniform 32-bit integers. */
export interface RandomStream {
  /** The next uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniform integer in [0, bound), bound ≤ 2^32 (multiply-shift: bias below 2^-32 · bound). */
  below(bound: number): number;
}

/** splitmix32-style finaliser: spreads a 32-bit value over all bits (Steele et al., "Fast splittable PRNGs"). */
function mix32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, from PractRand): 128 bits of state, passes
 * PractRand and BigCrush, and needs only 32-bit integer operations, which JavaScript does natively.
 */
function sfc32(a: number, b: number, c: number, d: number): RandomStream {
  const nextUint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  return { nextUint32, below: (bound) => Math.floor((nextUint32() * bound) / 4294967296) };
}

/**
 * Checks that a seed is an integer in [0, 2^32), the range every engine records and replays.
 *
 * @throws RangeError otherwise.
 */
export function validateSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  }
}

/**
 * The random stream of tree `treeIndex` in the forest seeded with `seed`.
 *
 * The four words of state are distinct hashes of (seed, tree index), and the generator is run 12 rounds
 * before use so that neighbouring trees' streams share nothing visible.
 *
 * @throws RangeError when `seed` or `treeIndex` is not an integer in [0, 2^32).
 * @example
 * const rng = treeStream(42, 7);
 * rng.below(10); // same value on every machine, worker and shard
 */
export function treeStream(seed: number, treeIndex: number): RandomStream {
  validateSeed(seed);
  if (!Number.isInteger(treeIndex) || treeIndex < 0 || treeIndex > 0xffffffff) {
    throw new RangeError(`tree index must be an integer in [0, 2^32), got ${treeIndex}`);
  }
  const seedHash = mix32(seed ^ 0x9e3779b9);
  const treeHash = mix32((treeIndex + 0x7f4a7c15) ^ mix32(seed + 0x6a09e667));
  const stream = sfc32(seedHash, treeHash, mix32(seedHash ^ treeHash), mix32(treeHash + 0x3c6ef372));
  for (let round = 0; round < 12; round++) stream.nextUint32();
  return stream;
}
