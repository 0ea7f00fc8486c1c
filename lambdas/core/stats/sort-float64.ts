/**
 * Sorting doubles by their bits: a least-significant-digit radix sort, for the samples drift sorts (up
 * to millions of values per column, two per column). The built-in `Float64Array.prototype.sort` is a
 * comparison sort, ~20 comparisons per value at a million; this is at most eight linear passes.
 *
 * The order of IEEE 754 doubles is the order of their bit patterns as unsigned 64-bit integers once the
 * sign bit of a positive number is set and every bit of a negative number is inverted (the usual key
 * flip): negatives then come first, larger magnitudes lower. The key is cut into six digits, 11 + 11 +
 * 10 bits of each 32-bit half (2,048 counters a digit: the counters and the write positions stay in
 * cache), and sorted digit by digit, each pass stable; a digit that every value shares is skipped.
 */

/** Below this many values the built-in sort is as fast and needs no second buffer. */
const RADIX_MIN_LENGTH = 4096;
const DIGIT_BUCKETS = 2048;
const DIGIT_COUNT = 6;
/** Each digit's 32-bit half (0 low, 1 high) and shift in it. */
const DIGIT_WORD = [0, 0, 0, 1, 1, 1] as const;
const DIGIT_SHIFT = [0, 11, 22, 0, 11, 22] as const;
const SIGN_BIT = 0x80000000;

/**
 * Sorts `values` ascending in place and returns it, in the same order as `Float64Array.prototype.sort`
 * (−Infinity first, −0 before +0): the result is bit for bit what the built-in sort gives.
 *
 * @param values - the doubles to sort, without NaN (not checked: a NaN with its sign bit set would come
 *   first); their buffer is reordered
 * @example
 * sortFloat64(Float64Array.of(3, -1, 2)); // => Float64Array [-1, 2, 3]
 */
export function sortFloat64(values: Float64Array): Float64Array {
  const length = values.length;
  if (length < RADIX_MIN_LENGTH) return values.sort();
  // Little-endian words: the low half of value i at 2i, its high half (sign, exponent) at 2i + 1.
  // Float64Array offsets are multiples of 8, so the same bytes view as whole Uint32 words.
  let source = new Uint32Array(values.buffer, values.byteOffset, 2 * length);
  let target: Uint32Array = new Uint32Array(2 * length);
  const counts = new Uint32Array(DIGIT_COUNT * DIGIT_BUCKETS);

  // One pass flips every key and counts all six digits.
  for (let i = 0; i < 2 * length; i += 2) {
    const high = source[i + 1];
    // −1 for a negative number (its sign bit), else 0: invert all its bits, or set the sign bit.
    const negative = high >> 31;
    const low = (source[i] ^ negative) >>> 0;
    const key = (high ^ (negative | SIGN_BIT)) >>> 0;
    source[i] = low;
    source[i + 1] = key;
    counts[low & 0x7ff]++;
    counts[DIGIT_BUCKETS + ((low >>> 11) & 0x7ff)]++;
    counts[2 * DIGIT_BUCKETS + (low >>> 22)]++;
    counts[3 * DIGIT_BUCKETS + (key & 0x7ff)]++;
    counts[4 * DIGIT_BUCKETS + ((key >>> 11) & 0x7ff)]++;
    counts[5 * DIGIT_BUCKETS + (key >>> 22)]++;
  }

  const offsets = new Uint32Array(DIGIT_BUCKETS);
  for (let digit = 0; digit < DIGIT_COUNT; digit++) {
    const base = digit * DIGIT_BUCKETS;
    // Every value has the same digit here: the pass would not move anything.
    let shared = false;
    let total = 0;
    for (let bucket = 0; bucket < DIGIT_BUCKETS; bucket++) {
      const count = counts[base + bucket];
      if (count === length) shared = true;
      offsets[bucket] = total;
      total += count;
    }
    if (shared) continue;
    const word = DIGIT_WORD[digit];
    const shift = DIGIT_SHIFT[digit];
    for (let i = 0; i < 2 * length; i += 2) {
      const at = 2 * offsets[(source[i + word] >>> shift) & 0x7ff]++;
      target[at] = source[i];
      target[at + 1] = source[i + 1];
    }
    [source, target] = [target, source];
  }

  // Flip the keys back; after an odd number of passes they are in the scratch buffer.
  const out = new Uint32Array(values.buffer, values.byteOffset, 2 * length);
  for (let i = 0; i < 2 * length; i += 2) {
    const key = source[i + 1];
    // 0 for a positive number (its key's top bit set), else −1.
    const negative = (key >>> 31) - 1;
    out[i] = source[i] ^ negative;
    out[i + 1] = key ^ (negative | SIGN_BIT);
  }
  return values;
}
