import { describe, expect, it } from 'vitest';
import {
  binShares,
  populationStabilityIndex,
  quantileBinEdges,
} from '#core/stats/population-stability-index.ts';
import { quantileSorted } from '#core/stats/quantile-sorted.ts';
import { expectClose } from './expect-close.ts';
import { integers, uniform } from './lcg.ts';

describe('quantileSorted', () => {
  // /usr/bin/python3 -c "import numpy as np
  // print([repr(np.quantile([3.0, 1.0, 4.0, 1.5, 9.0, 2.6], p)) for p in [0, 0.1, 0.25, 0.5, 0.9, 1]])"
  it.each([
    [0, 1.0],
    [0.1, 1.25],
    [0.25, 1.775],
    [0.5, 2.8],
    [0.9, 6.5],
    [1, 9.0],
  ])('matches np.quantile at p=%s', (p, expected) => {
    expectClose(quantileSorted([1.0, 1.5, 2.6, 3.0, 4.0, 9.0], p), expected, 1e-15);
  });

  it('rejects empty data and p outside [0, 1]', () => {
    expect(() => quantileSorted([], 0.5)).toThrow(RangeError);
    expect(() => quantileSorted([1], 1.5)).toThrow(RangeError);
  });
});

/**
 * The reference implementation in NumPy (bins right-closed, so np.searchsorted(..., side='left')
 * on the interior edges gives the bin index), after the lcg.ts twins:
 *
 * def psi_numeric(ref, cur, bins=10):
 *     ref = np.sort(np.asarray(ref, dtype=float)); cur = np.asarray(cur, dtype=float)
 *     inner = []
 *     for i in range(1, bins):
 *         q = np.quantile(ref, i / bins)
 *         if not inner or q != inner[-1]: inner.append(q)
 *     inner = np.array(inner)
 *     r = np.bincount(np.searchsorted(inner, ref, side='left'), minlength=len(inner) + 1) / len(ref)
 *     c = np.bincount(np.searchsorted(inner, cur, side='left'), minlength=len(inner) + 1) / len(cur)
 *     rr = np.where(r == 0, 0.0001, r); cc = np.where(c == 0, 0.0001, c)
 *     return list(inner), list(r), list(c), float(np.sum((cc - rr) * np.log(cc / rr)))
 */
describe('PSI over reference quantile bins', () => {
  function numericPsi(reference: number[], current: number[]) {
    const sorted = Float64Array.from(reference).sort();
    const edges = quantileBinEdges(sorted);
    const referenceShares = binShares(sorted, edges);
    const currentShares = binShares(current, edges);
    return {
      edges,
      referenceShares,
      currentShares,
      psi: populationStabilityIndex(referenceShares, currentShares),
    };
  }

  it('matches NumPy on a shifted sample, with an empty current bin (psi_numeric(uniform(5, 500), uniform(6, 400, 1.0, 0.15)))', () => {
    // Act
    const result = numericPsi(uniform(5, 500), uniform(6, 400, 1, 0.15));
    // Assess
    expect(result.edges).toHaveLength(11);
    expectClose(result.edges[1], 0.10384071995504202, 1e-15);
    expectClose(result.edges[9], 0.895506725856103, 1e-15);
    expect(result.referenceShares).toEqual(Array(10).fill(0.1));
    expect(result.currentShares).toEqual([
      0.0, 0.08, 0.085, 0.1225, 0.08, 0.0875, 0.0825, 0.115, 0.0875, 0.26,
    ]);
    expectClose(result.psi, 0.8676975006322368, 1e-12);
  });

  it('matches NumPy on two samples of one distribution (psi_numeric(uniform(7, 300), uniform(8, 300)))', () => {
    expectClose(numericPsi(uniform(7, 300), uniform(8, 300)).psi, 0.04285191901865563, 1e-12);
  });

  it('merges duplicate edges of tied data (psi_numeric(integers(9, 200, 4), integers(10, 150, 4, 1)))', () => {
    // Act
    const result = numericPsi(integers(9, 200, 4), integers(10, 150, 4, 1));
    // Assess: the nine quantiles of {0, 1, 2, 3} collapse to four edges, five bins
    expect(result.edges).toEqual([Number.NEGATIVE_INFINITY, 0, 1, 2, 3, Number.POSITIVE_INFINITY]);
    expect(result.referenceShares).toEqual([0.33, 0.215, 0.21, 0.245, 0.0]);
    expectClose(result.psi, 4.536113397744263, 1e-12);
  });

  it('replaces empty shares by 0.0001 (Evidently) and is 0 for equal shares', () => {
    // (0.5 − 0.0001)·ln(0.5 / 0.0001) + (0.5 − 1)·ln(0.5 / 1)
    expectClose(
      populationStabilityIndex([1, 0], [0.5, 0.5]),
      0.4999 * Math.log(5000) + 0.5 * Math.log(2),
      1e-15,
    );
    expect(populationStabilityIndex([0.2, 0.8], [0.2, 0.8])).toBe(0);
  });

  it('puts a value equal to an edge in the bin that edge closes', () => {
    expect(binShares([1, 2, 3, 4], [Number.NEGATIVE_INFINITY, 2, Number.POSITIVE_INFINITY])).toEqual([
      0.5, 0.5,
    ]);
  });

  it('rejects mismatched share vectors and bad bin counts', () => {
    expect(() => populationStabilityIndex([0.5, 0.5], [1])).toThrow(RangeError);
    expect(() => populationStabilityIndex([0.5, -0.5], [0.5, 0.5])).toThrow(RangeError);
    expect(() => quantileBinEdges([1, 2, 3], 0)).toThrow(RangeError);
    expect(() => binShares([], [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
});
