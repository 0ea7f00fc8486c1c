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
 * both lanes, cross-added) a bijection of the state: two rows that differ in one column never share the
 * 64-bit state. The top 53 bits are kept — a float64 holds them exactly — and two distinct rows share
 * them with probability 2⁻⁵³: among a million rows the expected number of colliding pairs is
 * 10¹² / 2⁵⁴ ≈ 6 · 10⁻⁵, among a hundred million 0.6. A collision costs little anyway: the merge compares
 * rows value by value when hashes meet, and two rows with one hash just share a side of the split.
 *
 * Columns are hashed in the order given (callers pass them in name order where the order of a file's
 * columns must not matter), one column at a time over every row: the columns' own memory is read in
 * order and the state is two `Uint32Array`s, 8 bytes a row.
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

/**
 * One 64-bit block (k1, k2) into the state (h1, h2) at `at`: MurmurHash3 x86_128's block step on its
 * first two lanes.
 */
function step(h1s: Uint32Array, h2s: Uint32Array, at: number, k1: number, k2: number): void {
  let h1 = h1s[at];
  let h2 = h2s[at];
  h1 ^= Math.imul(rotl(Math.imul(k1, C1), 15), C2);
  h1 = (Math.imul((rotl(h1, 19) + h2) | 0, 5) + 0x561ccd1b) | 0;
  h2 ^= Math.imul(rotl(Math.imul(k2, C2), 16), C3);
  h2 = (Math.imul((rotl(h2, 17) + h1) | 0, 5) + 0x0bcaa747) | 0;
  h1s[at] = h1;
  h2s[at] = h2;
}

/** The finalized state at `at`, as the integer of its top 53 bits. */
function finish(h1s: Uint32Array, h2s: Uint32Array, at: number, blocks: number): number {
  let h1 = h1s[at] ^ blocks;
  let h2 = h2s[at] ^ blocks;
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  return (h1 >>> 0) * 2 ** 21 + (h2 >>> 11);
}

const SEED1 = 0x9e3779b9;
const SEED2 = 0x7f4a7c15;

/** A text's 64-bit hash as two words: its UTF-16 code units, four to a block, and its length. */
function textHash(text: string, out: Uint32Array, at: number): void {
  const h1s = out.subarray(at, at + 1);
  const h2s = out.subarray(at + 1, at + 2);
  h1s[0] = SEED1;
  h2s[0] = SEED2;
  const code = (i: number) => (i < text.length ? text.charCodeAt(i) : 0);
  for (let i = 0; i < text.length; i += 4) {
    step(h1s, h2s, 0, code(i) | (code(i + 1) << 16), code(i + 2) | (code(i + 3) << 16));
  }
  // The full finalized state: mix the lanes, keep all 64 bits.
  let h1 = h1s[0] ^ text.length;
  let h2 = h2s[0] ^ text.length;
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  h1 = fmix32(h1);
  h2 = fmix32(h2);
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  out[at] = h1;
  out[at + 1] = h2;
}

/**
 * Each row's 53-bit hash of its values in `columns` (in the order given, each value with its column's
 * name): see the module comment for what makes two rows equal and how rarely distinct ones meet.
 * @throws {RangeError} when a column is not `rowCount` long.
 */
export function hashRows(columns: readonly Column[], rowCount: number): Float64Array {
  const h1s = new Uint32Array(rowCount).fill(SEED1);
  const h2s = new Uint32Array(rowCount).fill(SEED2);
  const name = new Uint32Array(2);
  for (const column of columns) {
    if (column.values.length !== rowCount) {
      throw new RangeError(`column "${column.name}" has ${column.values.length} values, not ${rowCount}`);
    }
    textHash(column.name, name, 0);
    const [n1, n2] = name;
    if (column.kind === 'numeric') {
      const { values } = column;
      const words = new Uint32Array(values.buffer, values.byteOffset, 2 * rowCount);
      for (let row = 0; row < rowCount; row++) {
        const value = values[row];
        if (value === 0)
          step(h1s, h2s, row, n1, n2); // −0 is 0: both words zero
        else if (Number.isNaN(value))
          step(h1s, h2s, row, n1, n2 ^ 0x7ff80000); // every NaN is one NaN
        else {
          const low = words[2 * row + LOW_WORD];
          const high = words[2 * row + 1 - LOW_WORD];
          step(h1s, h2s, row, n1 ^ low, n2 ^ high);
        }
      }
    } else {
      // Each distinct text is hashed once; a row looks its hash up.
      const { values } = column;
      const index = new Map<string, number>();
      let pairs = new Uint32Array(64);
      let distinct = 0;
      for (let row = 0; row < rowCount; row++) {
        const text = values[row];
        let at = index.get(text);
        if (at === undefined) {
          at = 2 * distinct++;
          if (at + 2 > pairs.length) {
            const grown = new Uint32Array(2 * pairs.length);
            grown.set(pairs);
            pairs = grown;
          }
          textHash(text, pairs, at);
          index.set(text, at);
        }
        step(h1s, h2s, row, n1 ^ pairs[at], n2 ^ pairs[at + 1]);
      }
    }
  }
  const hashes = new Float64Array(rowCount);
  for (let row = 0; row < rowCount; row++) hashes[row] = finish(h1s, h2s, row, columns.length);
  return hashes;
}
