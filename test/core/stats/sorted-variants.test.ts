import { describe, expect, it } from 'vitest';
import { ksStatistic, ksStatisticSorted, ksTwoSample, ksTwoSampleSorted } from '#core/stats/ks-two-sample.ts';
import { binShares, binSharesSorted, quantileBinEdges } from '#core/stats/population-stability-index.ts';
import {
  normedWassersteinDistance,
  normedWassersteinDistanceSorted,
} from '#core/stats/wasserstein-distance.ts';
import { integers, uniform } from './lcg.ts';

/** Drift sorts each sample once and hands the sorted arrays to every statistic: they must agree exactly. */
describe('statistics of pre-sorted samples', () => {
  const cases = [
    ['continuous, large (asymptotic KS)', uniform(1, 20_000, 10), uniform(2, 15_000, 10, 0.3)],
    ['continuous, small (exact KS)', uniform(3, 300, 1), uniform(4, 250, 1, 0.1)],
    ['ties', integers(5, 5_000, 7), integers(6, 4_000, 7, 1)],
  ] as const;

  it.each(cases)('match the unsorted functions on %s', (_case, a, b) => {
    // Prepare
    const sortedA = Float64Array.from(a).sort();
    const sortedB = Float64Array.from(b).sort();
    const edges = quantileBinEdges(sortedA);
    // Act / Assess
    expect(ksTwoSampleSorted(sortedA, sortedB)).toEqual(ksTwoSample(a, b));
    expect(ksStatisticSorted(sortedA, sortedB)).toBe(ksStatistic(a, b));
    expect(binSharesSorted(sortedB, edges)).toEqual(binShares(b, edges));
    expect(binSharesSorted(sortedA, edges)).toEqual(binShares(a, edges));
    expect(normedWassersteinDistanceSorted(sortedA, sortedB)).toBeCloseTo(
      normedWassersteinDistance(a, b),
      12,
    );
  });

  /** SciPy's D spelled out: i/n₁ − j/n₂ divided at every pooled value, the largest in either sign. */
  function dividedAtEveryValue(a: Float64Array, b: Float64Array): number {
    // How many values are ≤ x: an upper-bound binary search (np.searchsorted(side='right')).
    const upTo = (sorted: Float64Array, x: number) => {
      let low = 0;
      let high = sorted.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (sorted[middle] <= x) low = middle + 1;
        else high = middle;
      }
      return low;
    };
    let largest = 0;
    for (const x of new Set([...a, ...b])) {
      largest = Math.max(largest, Math.abs(upTo(a, x) / a.length - upTo(b, x) / b.length));
    }
    return largest;
  }

  const statisticCases = [
    ['unequal sizes', uniform(7, 1_500, 3), uniform(8, 1_100, 3, 0.2)],
    ['coprime sizes, ties', integers(9, 997, 40), integers(10, 1_013, 40, 2)],
    ['the second sample all above', uniform(11, 300, 1), uniform(12, 200, 1, 5)],
    ['the second sample all below', uniform(13, 300, 1, 5), uniform(14, 700, 1)],
    [
      'one sample the other repeated',
      integers(15, 500, 9),
      [...integers(15, 500, 9), ...integers(15, 500, 9)],
    ],
  ] as const;

  it.each(statisticCases)('take D as SciPy does, bit for bit, on %s', (_case, a, b) => {
    // Prepare
    const sortedA = Float64Array.from(a).sort();
    const sortedB = Float64Array.from(b).sort();
    // Act / Assess
    expect(ksStatisticSorted(sortedA, sortedB)).toBe(dividedAtEveryValue(sortedA, sortedB));
    expect(ksStatisticSorted(sortedB, sortedA)).toBe(dividedAtEveryValue(sortedB, sortedA));
  });
});
