/**
 * A row's identity: a 53-bit hash of its values, taken from the parsed values themselves — a number's
 * IEEE 754 bits, a text value's UTF-16 code units — never from how the CSV printed them, so "1", "1.0"
 * and "1e0" are one value, and −0 is 0 and every NaN one NaN (a missing number), as the merge compares
 * rows. The holdout rule (`splits.ts`), the champion's seen rows and the merge's duplicate search all
 * key rows by it.
 *
 * The hash is the 64-bit state of a two-lane MurmurHash3 (x86_128's block step on two of its lanes,
 * 32-bit `Math.imul` arithmetic) fed one 64-bit block per column: the value, xored with the hash of the
 * column's name; a text value's 64-bit hash is computed once per distinct string. With the state and the
 * other blocks fixed, each step is a bijection of the block, and the finalizer (MurmurHash3's `fmix32` on
 * both lanes, cross-added) a bijection of the state: two rows that differ in one number never share the
 * 64-bit state (in one text, only if the two texts' 64-bit hashes meet). The top 53 bits are kept — a float64 holds them exactly — and two distinct rows share
 * them with probability 2⁻⁵³: among a million rows the expected number of colliding pairs is
 * 10¹² / 2⁵⁴ ≈ 6 · 10⁻⁵, among a hundred million 0.6. A collision costs little anyway: the merge compares
 * rows value by value when hashes meet, and two rows with one hash share a side of the split (or, when
 * the champion trained on one of them, both stay out of the holdout).
 *
 * Columns are hashed in the order given (callers pass them in name order where the order of a file's
 * columns must not matter), one column at a time over every row: the columns' own memory is read in
 * order, and each row's state is kept in the 8 bytes its hash is then written to.
 */
import type { Column } from './types.ts';

/**
 * The hash kind a table file records with its row hashes: a reader whose kind differs recomputes them.
 * Files written before had sha256 hashes of the rows' text and no kind.
 */
export const ROW_HASH_KIND = 'murmur3-values-53';

/** Row hashes are integers below 2⁵³; a hash over this is the row's place on [0, 1). */
export const ROW_HASH_SPACE = 2 ** 53;

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;

/** Which 32-bit word of a float64 holds its low mantissa bits, on this machine's byte order. */
const LOW_WORD = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 0 : 1;

const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));

/** MurmurHash3's 32-bit finalizer: every input bit reaches every output bit. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const SEED1 = 0x9e3779b9 | 0;
const SEED2 = 0x7f4a7c15;
/** The high word of the one NaN every NaN is hashed as (JavaScript's, 0x7ff8000000000000). */
const NAN_HIGH = 0x7ff80000;

/**
 * Mixes the 64-bit block (k1, k2) into a row's state: MurmurHash3 x86_128's block step on its first
 * two lanes. `state` holds each row's lanes (h1, h2) side by side.
 */
function mix(state: Int32Array, row: number, k1: number, k2: number): void {
  const at = 2 * row;
  let h1 = state[at];
  let h2 = state[at + 1];
  h1 ^= Math.imul(rotl(Math.imul(k1, C1), 15), C2);
  h1 = (Math.imul((rotl(h1, 19) + h2) | 0, 5) + 0x561ccd1b) | 0;
  h2 ^= Math.imul(rotl(Math.imul(k2, C2), 16), C3);
  h2 = (Math.imul((rotl(h2, 17) + h1) | 0, 5) + 0x0bcaa747) | 0;
  state[at] = h1;
  state[at + 1] = h2;
}

/**
 * A numeric column's values into the state: each value's two words, xored with the name's (n1, n2).
 * A function of its own per column, so the loop is optimized as a whole and not only on stack
 * replacement (measured ~1.3× faster than the loop inline in {@link hashRows}).
 */
function mixNumbers(state: Int32Array, values: Float64Array, n1: number, n2: number): void {
  const words = new Int32Array(values.buffer, values.byteOffset, 2 * values.length);
  for (let row = 0; row < values.length; row++) {
    const value = values[row];
    if (value === 0)
      mix(state, row, n1, n2); // −0 is 0: both words zero
    else if (Number.isNaN(value))
      mix(state, row, n1, n2 ^ NAN_HIGH); // every NaN is one NaN
    else mix(state, row, n1 ^ words[2 * row + LOW_WORD], n2 ^ words[2 * row + 1 - LOW_WORD]);
  }
}

/** A text column's values into the state: each distinct text hashed once, xored with the name's words. */
function mixTexts(state: Int32Array, values: readonly string[], n1: number, n2: number): void {
  const index = new Map<string, number>();
  let pairs = new Int32Array(64);
  let distinct = 0;
  for (let row = 0; row < values.length; row++) {
    const text = values[row];
    let at = index.get(text);
    if (at === undefined) {
      at = 2 * distinct++;
      if (at + 2 > pairs.length) {
        const grown = new Int32Array(2 * pairs.length);
        grown.set(pairs);
        pairs = grown;
      }
      textHash(text, pairs, at);
      index.set(text, at);
    }
    mix(state, row, n1 ^ pairs[at], n2 ^ pairs[at + 1]);
  }
}

/** MurmurHash3 x86_128's finalization on two lanes, `length` the blocks' count or the text's. */
function finalize(state: Int32Array, at: number, length: number): void {
  let h1 = state[at] ^ length;
  let h2 = state[at + 1] ^ length;
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  state[at] = h1;
  state[at + 1] = h2;
}

/** A text's 64-bit hash into `out[at]`, `out[at + 1]`: its UTF-16 code units four to a block, and its length. */
function textHash(text: string, out: Int32Array, at: number): void {
  const state = Int32Array.of(SEED1, SEED2);
  const code = (i: number) => (i < text.length ? text.charCodeAt(i) : 0);
  for (let i = 0; i < text.length; i += 4) {
    mix(state, 0, code(i) | (code(i + 1) << 16), code(i + 2) | (code(i + 3) << 16));
  }
  finalize(state, 0, text.length);
  out[at] = state[0];
  out[at + 1] = state[1];
}

/**
 * Each row's 53-bit hash of its values in `columns` (in the order given, each value with its column's
 * name): see the module comment for what makes two rows equal and how rarely distinct ones meet. The
 * state lives in the returned array's own memory, each row's two lanes in its 8 bytes until the row is
 * finalized into its hash, so hashing takes no memory beyond the hashes.
 * @throws {RangeError} when a column is not `rowCount` long.
 */
export function hashRows(columns: readonly Column[], rowCount: number): Float64Array {
  const hashes = new Float64Array(rowCount);
  const state = new Int32Array(hashes.buffer);
  for (let row = 0; row < rowCount; row++) {
    state[2 * row] = SEED1;
    state[2 * row + 1] = SEED2;
  }
  const name = new Int32Array(2);
  for (const column of columns) {
    if (column.values.length !== rowCount) {
      throw new RangeError(`column "${column.name}" has ${column.values.length} values, not ${rowCount}`);
    }
    textHash(column.name, name, 0);
    if (column.kind === 'numeric') mixNumbers(state, column.values, name[0], name[1]);
    else mixTexts(state, column.values, name[0], name[1]);
  }
  for (let row = 0; row < rowCount; row++) {
    finalize(state, 2 * row, columns.length);
    // Both lanes are read before the row's 8 bytes are overwritten with its hash: the top 53 bits.
    const high = state[2 * row] >>> 0;
    const low = state[2 * row + 1] >>> 11;
    hashes[row] = high * 2 ** 21 + low;
  }
  return hashes;
}
