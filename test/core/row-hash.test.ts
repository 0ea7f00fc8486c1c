import { describe, expect, it } from 'vitest';
import { hashRows, ROW_HASH_SPACE } from '#core/row-hash.ts';
import { parseSpec } from '#core/spec.ts';
import { HOLDOUT, hashedSplit, rowHashes, rowsWithRole } from '#core/splits.ts';
import type { Column, Table } from '#core/types.ts';
import { validateDrop } from '#core/validate.ts';
import { lcg } from './stats/lcg.ts';

const spec = parseSpec({ name: 't', task: 'regression', target: 'y' });

async function read(csv: string): Promise<Table> {
  const report = await validateDrop(new TextEncoder().encode(csv), {
    ...spec,
    validation: { ...spec.validation, minRows: 1, maxMissing: 1 },
  });
  if (!report.table) throw new Error(JSON.stringify(report.problems));
  return report.table;
}

const numeric = (name: string, values: ArrayLike<number>): Column => ({
  name,
  kind: 'numeric',
  values: Float64Array.from(values),
});

/** Pearson's chi-square of the hashes' places on [0, 1) over `bins` equal bins. */
function chiSquare(hashes: Float64Array, bins: number): number {
  const counts = new Float64Array(bins);
  for (const hash of hashes) counts[Math.floor((hash / ROW_HASH_SPACE) * bins)]++;
  const expected = hashes.length / bins;
  return counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
}

describe('hashRows', () => {
  it('gives a row one identity however the CSV printed its values, and whatever the column order', async () => {
    // Prepare: the same three rows, printed two ways, columns in two orders.
    const plain = await read('x,city,y\n1,Oslo,0\n0.5,,-2\n,Zürich,1e21\n');
    const printed = await read('y,x,city\n-0,1.0,Oslo\n-2.000,.5,\n1000000000000000000000,,Zürich\n');
    // Act / Assess
    expect(Array.from(rowHashes(spec, printed).values)).toEqual(Array.from(rowHashes(spec, plain).values));
  });

  it('hashes −0 as 0 and every NaN as one NaN, and keeps them apart from each other', () => {
    // Prepare: a NaN with another payload than the one JavaScript makes.
    const bits = new DataView(new ArrayBuffer(8));
    bits.setUint32(0, 0x7ff80000 + 12345);
    bits.setUint32(4, 0xdeadbeef);
    const otherNaN = bits.getFloat64(0);
    // Act
    const [zero, negativeZero, nan, payloadNaN] = hashRows([numeric('x', [0, -0, Number.NaN, otherNaN])], 4);
    // Assess
    expect(negativeZero).toBe(zero);
    expect(payloadNaN).toBe(nan);
    expect(nan).not.toBe(zero);
  });

  it('keeps infinities apart from NaN and from each other', () => {
    // Act
    const [inf, negativeInf, nan] = hashRows([numeric('x', [Infinity, -Infinity, Number.NaN])], 3);
    // Assess
    expect(new Set([inf, negativeInf, nan]).size).toBe(3);
  });

  it('gives a row the hash it has alone, wherever it falls among blocks of rows', () => {
    // Prepare: 5,000 rows (hashed in several blocks) of numbers, specials and texts.
    const rowCount = 5_000;
    const next = lcg(11);
    const specials = [0, -0, Number.NaN, Infinity, -Infinity, 5e-324, -1.5];
    const x = Array.from({ length: rowCount }, (_, row) =>
      row % 13 === 0 ? specials[row % specials.length] : Number((next() * 100).toFixed(3)),
    );
    const y = Array.from({ length: rowCount }, (_, row) => row % 5);
    const city = Array.from(
      { length: rowCount },
      (_, row) => ['', 'Oslo', 'Zürich', `n${row % 97}`][row % 4],
    );
    const columns: Column[] = [
      { name: 'city', kind: 'text', values: city },
      numeric('x', x),
      numeric('y', y),
    ];
    // Act
    const together = hashRows(columns, rowCount);
    const alone = Array.from(
      { length: rowCount },
      (_, row) =>
        hashRows(
          [
            { name: 'city', kind: 'text', values: [city[row]] },
            numeric('x', [x[row]]),
            numeric('y', [y[row]]),
          ],
          1,
        )[0],
    );
    // Assess
    expect(Array.from(together)).toEqual(alone);
  });

  it('keeps these hashes: a change to them moves every stored holdout', () => {
    // Prepare: a text and two numeric columns, the key order rowHashes gives.
    const columns: Column[] = [
      { name: 'color', kind: 'text', values: ['red', '', 'red', 'blue'] },
      numeric('x', [1.5, Number.NaN, -0, 2]),
      numeric('y', [10, 20, 30, 40]),
    ];
    // Act / Assess: the same hashes from an independent Python implementation of the algorithm:
    // python3 test/core/reference/row_hash.py → [7374973152764275, 5284167230406144, 6286676805892832, 2407334934763903]
    expect(Array.from(hashRows(columns, 4))).toEqual([
      7374973152764275, 5284167230406144, 6286676805892832, 2407334934763903,
    ]);
  });

  it('tells apart rows that differ in one value, in which column it is, and text from its neighbours', () => {
    // Prepare: 100,000 rows counting up in one column; a text column of 100,000 distinct values.
    const rowCount = 100_000;
    const counting = Float64Array.from({ length: rowCount }, (_, row) => row + 1);
    const zeros = new Float64Array(rowCount);
    const ids = Array.from({ length: rowCount }, (_, row) => `id-${row}`);
    // Act
    const byA = hashRows([numeric('a', counting), numeric('b', zeros)], rowCount);
    const byB = hashRows([numeric('a', zeros), numeric('b', counting)], rowCount);
    const byText = hashRows([{ name: 'a', kind: 'text', values: ids }], rowCount);
    // Assess: two rows that differ in one number never share the 64-bit state, so nor its hash here
    // (53 bits of it: among these 2·10⁵ rows a chance collision has probability ~2·10⁻⁶).
    expect(new Set([...byA, ...byB]).size).toBe(2 * rowCount);
    expect(new Set(byText).size).toBe(rowCount);
  });

  it('places seeded rows uniformly on the hash space, so a holdout share holds that share of rows', () => {
    // Prepare: 100,000 rows of 5-decimal normal-ish values, and 100,000 rows of small integers counting up
    // in one column with two categories (structured data a weak hash would bunch).
    const rowCount = 100_000;
    const next = lcg(7);
    const noisy = hashRows(
      Array.from({ length: 5 }, (_, c) =>
        numeric(
          `x${c}`,
          Array.from({ length: rowCount }, () => Number(((next() - 0.5) * 20).toFixed(5))),
        ),
      ),
      rowCount,
    );
    const structured = hashRows(
      [
        numeric(
          'id',
          Array.from({ length: rowCount }, (_, row) => row),
        ),
        {
          name: 'kind',
          kind: 'text',
          values: Array.from({ length: rowCount }, (_, row) => (row % 2 ? 'a' : 'b')),
        },
        numeric(
          'y',
          Array.from({ length: rowCount }, (_, row) => row % 7),
        ),
      ],
      rowCount,
    );
    // Act
    const held = (hashes: Float64Array) =>
      rowsWithRole(hashedSplit(hashes, { holdout: 0.25 }).roles, HOLDOUT).length;
    // Assess. Holdout: binomial(100,000, 0.25) has sd 137; measured 24,937 and 24,849 rows, allowed ±4 sd.
    expect(Math.abs(held(noisy) - 25_000)).toBeLessThan(548);
    expect(Math.abs(held(structured) - 25_000)).toBeLessThan(548);
    // Chi-square over 100 bins (99 degrees of freedom); measured 94.9 and 105.5. The bound is the 0.999
    // quantile: python3 -c "from scipy.stats import chi2; print(chi2.ppf(0.999, 99))" → 148.2303…
    expect(chiSquare(noisy, 100)).toBeLessThan(148.23);
    expect(chiSquare(structured, 100)).toBeLessThan(148.23);
  });

  it('refuses a column of another length', () => {
    expect(() => hashRows([numeric('x', [1, 2])], 3)).toThrow(/column "x" has 2 values, not 3/);
  });
});
