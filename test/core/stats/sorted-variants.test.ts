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
});
