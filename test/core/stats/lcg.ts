/**
 * Deterministic test data that Python can reproduce bit for bit, so that SciPy reference values pasted in
 * the tests belong to exactly these samples. The generator is the 32-bit LCG of Numerical Recipes
 * (a = 1664525, c = 1013904223, m = 2³²); the products stay below 2⁵³, so they are exact in doubles.
 * Samples use only multiplication, addition and floor — no transcendental function whose last bit could
 * differ between libms. The Python twin, pasted at the top of each reference snippet:
 *
 * ```python
 * import math
 * def lcg(seed):
 *     s = seed % 2**32
 *     while True:
 *         s = (1664525 * s + 1013904223) % 2**32
 *         yield s / 2**32
 * def uniform(seed, n, scale=1.0, shift=0.0):
 *     g = lcg(seed)
 *     return [next(g) * scale + shift for _ in range(n)]
 * def integers(seed, n, levels, shift=0):
 *     g = lcg(seed)
 *     return [math.floor(next(g) * levels) + shift for _ in range(n)]
 * ```
 */

const MULTIPLIER = 1664525;
const INCREMENT = 1013904223;
const MODULUS = 2 ** 32;

/** A generator of uniform numbers in [0, 1), the Python `lcg(seed)`. */
export function lcg(seed: number): () => number {
  let state = seed % MODULUS;
  return () => {
    state = (MULTIPLIER * state + INCREMENT) % MODULUS;
    return state / MODULUS;
  };
}

/** n uniform values in [shift, shift + scale), the Python `uniform(seed, n, scale, shift)`. */
export function uniform(seed: number, n: number, scale = 1, shift = 0): number[] {
  const next = lcg(seed);
  return Array.from({ length: n }, () => next() * scale + shift);
}

/** n integers in [shift, shift + levels), the Python `integers(seed, n, levels, shift)`. */
export function integers(seed: number, n: number, levels: number, shift = 0): number[] {
  const next = lcg(seed);
  return Array.from({ length: n }, () => Math.floor(next() * levels) + shift);
}

/** Fisher–Yates shuffle driven by `lcg(seed)`, the Python `shuffled(seed, values)`:
 *
 * ```python
 * def shuffled(seed, values):
 *     g = lcg(seed); out = list(values)
 *     for i in range(len(out) - 1, 0, -1):
 *         j = math.floor(next(g) * (i + 1))
 *         out[i], out[j] = out[j], out[i]
 *     return out
 * ```
 */
export function shuffled<T>(seed: number, values: readonly T[]): T[] {
  const next = lcg(seed);
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
