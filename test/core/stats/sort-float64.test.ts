import { describe, expect, it } from 'vitest';
import { sortFloat64 } from '#core/stats/sort-float64.ts';
import { integers, lcg, uniform } from './lcg.ts';

/** The bit patterns of doubles, so that −0 and +0 (equal as numbers) are told apart. */
const bits = (values: Float64Array) =>
  Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length * 2));

/** Normal-ish values (a sum of uniforms) over many magnitudes and both signs. */
function mixedMagnitudes(seed: number, n: number): number[] {
  const next = lcg(seed);
  return Array.from(
    { length: n },
    () => (next() + next() + next() - 1.5) * 10 ** Math.floor(next() * 12 - 6),
  );
}

describe('sortFloat64', () => {
  const cases: [string, number[]][] = [
    ['empty', []],
    ['one value', [2.5]],
    ['below the radix threshold', uniform(1, 4095, 2, -1)],
    ['at the radix threshold', uniform(2, 4096, 2, -1)],
    ['uniform, both signs', uniform(3, 50_000, 200, -100)],
    ['many magnitudes', mixedMagnitudes(4, 50_000)],
    ['few distinct integers (digits shared)', integers(5, 20_000, 7, -3)],
    ['one repeated value (every pass skipped)', new Array(10_000).fill(-3.25)],
    [
      'zeros, infinities, extremes and subnormals',
      [
        ...uniform(6, 10_000, 1, -0.5),
        ...new Array(100).fill(-0),
        ...new Array(100).fill(0),
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        Number.MAX_VALUE,
        -Number.MAX_VALUE,
        Number.MIN_VALUE,
        -Number.MIN_VALUE,
        2 ** -1070,
        -(2 ** -1070),
      ],
    ],
  ];

  it.each(cases)('gives the built-in sort bit for bit on %s', (_case, values) => {
    // Prepare
    const expected = Float64Array.from(values).sort();
    // Act
    const sorted = sortFloat64(Float64Array.from(values));
    // Assess
    expect(bits(sorted)).toEqual(bits(expected));
  });

  it('sorts a view in place, leaving the rest of its buffer alone', () => {
    // Prepare
    const buffer = Float64Array.from(uniform(7, 20_000, 10, -5));
    const before = Float64Array.from(buffer);
    const view = buffer.subarray(1000, 19_000);
    // Act
    const sorted = sortFloat64(view);
    // Assess
    expect(sorted).toBe(view);
    expect(bits(view)).toEqual(bits(before.subarray(1000, 19_000).sort()));
    expect(bits(buffer.subarray(0, 1000))).toEqual(bits(before.subarray(0, 1000)));
    expect(bits(buffer.subarray(19_000))).toEqual(bits(before.subarray(19_000)));
  });
});
