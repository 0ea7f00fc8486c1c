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
 * columns must not matter), one column at a time over a block of rows: the columns' own memory is read
 * in order, and the rows of a block are independent, so the processor overlaps their arithmetic.
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
 * Rows hashed together: the state of a block (16 KB) stays in the first-level cache while each column
 * goes through it, and the loops below run in short calls, so V8 optimizes them as whole functions
 * within the first blocks instead of replacing a long loop's stack midway (a fresh process hashes
 * once: measured ~1.4× less CPU for 100k rows × 20 than one pass over every row per column).
 */
const BLOCK_ROWS = 2048;

/**
 * A numeric column's values of rows [from, to) into the block's state: each value's two words, xored
 * with the name's (n1, n2); −0 as 0 (both words zero) and every NaN as one NaN. The words are read as
 * integers, so the loop never loads a double.
 */
function mixNumbers(
  state: Int32Array,
  words: Int32Array,
  n1: number,
  n2: number,
  from: number,
  to: number,
): void {
  for (let row = from, at = 0; row < to; row++, at += 2) {
    let low = words[2 * row + LOW_WORD];
    let high = words[2 * row + 1 - LOW_WORD];
    const magnitude = high & 0x7fffffff;
    // Every comparison runs on every value: one first met in a rare branch (a zero, a NaN) would make V8
    // drop the loop's optimized code. A NaN has every exponent bit and a mantissa bit set, ±0 no bit
    // but the sign; `(low | -low) >>> 31` is 1 when the low word has a bit set.
    const notANumber = magnitude > 0x7ff00000 - ((low | -low) >>> 31);
    const isZero = (magnitude | low) === 0;
    if (notANumber) {
      low = 0;
      high = NAN_HIGH;
    } else if (isZero) high = 0;
    let h1 = state[at];
    let h2 = state[at + 1];
    h1 ^= Math.imul(rotl(Math.imul(low ^ n1, C1), 15), C2);
    h1 = (Math.imul((rotl(h1, 19) + h2) | 0, 5) + 0x561ccd1b) | 0;
    h2 ^= Math.imul(rotl(Math.imul(high ^ n2, C2), 16), C3);
    h2 = (Math.imul((rotl(h2, 17) + h1) | 0, 5) + 0x0bcaa747) | 0;
    state[at] = h1;
    state[at + 1] = h2;
  }
}

/** Each distinct text of a column and its 64-bit hash, kept from block to block. */
class TextHashes {
  readonly index = new Map<string, number>();
  pairs = new Int32Array(64);
  distinct = 0;

  /** Where the text's hash is in {@link pairs}: hashed the first time the text is seen. */
  at(text: string): number {
    let at = this.index.get(text);
    if (at === undefined) {
      at = 2 * this.distinct++;
      if (at + 2 > this.pairs.length) {
        const grown = new Int32Array(2 * this.pairs.length);
        grown.set(this.pairs);
        this.pairs = grown;
      }
      textHash(text, this.pairs, at);
      this.index.set(text, at);
    }
    return at;
  }
}

/** A text column's values of rows [from, to) into the block's state, xored with the name's words. */
function mixTexts(
  state: Int32Array,
  values: readonly string[],
  texts: TextHashes,
  n1: number,
  n2: number,
  from: number,
  to: number,
): void {
  for (let row = from; row < to; row++) {
    const at = texts.at(values[row]);
    mix(state, row - from, n1 ^ texts.pairs[at], n2 ^ texts.pairs[at + 1]);
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

/** Seeds the state of a block of `rows` rows. */
function seedBlock(state: Int32Array, rows: number): void {
  for (let at = 0; at < 2 * rows; at += 2) {
    state[at] = SEED1;
    state[at + 1] = SEED2;
  }
}

/** Finalizes a block's state into the hashes of rows [from, to): the top 53 of each row's 64 bits. */
function finishBlock(
  state: Int32Array,
  hashes: Float64Array,
  from: number,
  to: number,
  blocks: number,
): void {
  for (let row = from, at = 0; row < to; row++, at += 2) {
    finalize(state, at, blocks);
    hashes[row] = (state[at] >>> 0) * 2 ** 21 + (state[at + 1] >>> 11);
  }
}

/**
 * Each row's 53-bit hash of its values in `columns` (in the order given, each value with its column's
 * name): see the module comment for what makes two rows equal and how rarely distinct ones meet.
 * Rows are hashed {@link BLOCK_ROWS} at a time, each column in turn over the block, so hashing takes no
 * memory beyond the hashes but a block's state and each text column's distinct texts.
 * @throws {RangeError} when a column is not `rowCount` long.
 */
export function hashRows(columns: readonly Column[], rowCount: number): Float64Array {
  const names = new Int32Array(2 * columns.length);
  for (let c = 0; c < columns.length; c++) {
    const column = columns[c];
    if (column.values.length !== rowCount) {
      throw new RangeError(`column "${column.name}" has ${column.values.length} values, not ${rowCount}`);
    }
    textHash(column.name, names, 2 * c);
  }
  const words = columns.map((column) =>
    column.kind === 'numeric'
      ? new Int32Array(column.values.buffer, column.values.byteOffset, 2 * rowCount)
      : undefined,
  );
  const texts = columns.map((column) => (column.kind === 'text' ? new TextHashes() : undefined));
  const hashes = new Float64Array(rowCount);
  const state = new Int32Array(2 * BLOCK_ROWS);
  for (let from = 0; from < rowCount; from += BLOCK_ROWS) {
    const to = Math.min(rowCount, from + BLOCK_ROWS);
    seedBlock(state, to - from);
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c];
      if (column.kind === 'numeric') mixNumbers(state, words[c]!, names[2 * c], names[2 * c + 1], from, to);
      else mixTexts(state, column.values, texts[c]!, names[2 * c], names[2 * c + 1], from, to);
    }
    finishBlock(state, hashes, from, to, columns.length);
  }
  return hashes;
}
