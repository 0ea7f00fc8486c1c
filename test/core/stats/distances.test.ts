import { describe, expect, it } from 'vitest';
import { jensenShannonDistance } from '#core/stats/jensen-shannon-distance.ts';
import { totalVariationDistance } from '#core/stats/total-variation-distance.ts';
import { normedWassersteinDistance, wassersteinDistance } from '#core/stats/wasserstein-distance.ts';
import { expectClose } from './expect-close.ts';
import { integers, uniform } from './lcg.ts';

// Samples from lcg.ts; in Python the twins of `uniform` / `integers` printed there come first.
describe('wassersteinDistance', () => {
  it.each([
    // /usr/bin/python3 -c "from scipy import stats; print(stats.wasserstein_distance([0, 1, 3], [5, 6, 8]))"
    [
      '[0, 1, 3], [5, 6, 8]',
      () => [
        [0, 1, 3],
        [5, 6, 8],
      ],
      5.0,
    ],
    // /usr/bin/python3 -c "from scipy import stats; print(stats.wasserstein_distance([0, 1], [0, 1]))"
    [
      '[0, 1], [0, 1]',
      () => [
        [0, 1],
        [0, 1],
      ],
      0.0,
    ],
    // /usr/bin/python3 -c "from scipy import stats; print(stats.wasserstein_distance([3.4, 3.9, 7.5, 7.8], [4.5, 1.4]))"
    [
      '[3.4, 3.9, 7.5, 7.8], [4.5, 1.4]',
      () => [
        [3.4, 3.9, 7.5, 7.8],
        [4.5, 1.4],
      ],
      2.7,
    ],
    // print(repr(stats.wasserstein_distance(uniform(1, 200), uniform(2, 300, 1.5, 0.1))))
    [
      'uniform(1, 200), uniform(2, 300, 1.5, 0.1)',
      () => [uniform(1, 200), uniform(2, 300, 1.5, 0.1)],
      0.36848779806634413,
    ],
    // print(repr(stats.wasserstein_distance(integers(3, 150, 6), integers(4, 90, 6, 1))))
    [
      'integers(3, 150, 6), integers(4, 90, 6, 1)',
      () => [integers(3, 150, 6), integers(4, 90, 6, 1)],
      0.9977777777777779,
    ],
  ] as [string, () => [number[], number[]], number][])(
    'matches scipy.stats.wasserstein_distance(%s)',
    (_, samples, expected) => {
      const [u, v] = samples();
      expectClose(wassersteinDistance(u, v), expected, 1e-12, 1e-15);
    },
  );

  it('rejects empty and non-finite samples', () => {
    expect(() => wassersteinDistance([], [1])).toThrow(RangeError);
    expect(() => wassersteinDistance([1], [Number.NaN])).toThrow(RangeError);
  });
});

describe('normedWassersteinDistance', () => {
  // Evidently's formula: stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
  // def normed(r, c): return stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
  it.each([
    // print(repr(normed(uniform(1, 200), uniform(2, 300, 1.5, 0.1))))
    [
      'uniform(1, 200), uniform(2, 300, 1.5, 0.1)',
      () => [uniform(1, 200), uniform(2, 300, 1.5, 0.1)],
      1.2811079092306163,
    ],
    // print(repr(normed(integers(3, 150, 6), integers(4, 90, 6, 1))))
    [
      'integers(3, 150, 6), integers(4, 90, 6, 1)',
      () => [integers(3, 150, 6), integers(4, 90, 6, 1)],
      0.5910740272542347,
    ],
    // print(repr(normed([2.0]*10, [2.0]*9 + [2.5]))): a constant reference divides by the 0.001 floor
    ['[2.0]*10, [2.0]*9 + [2.5]', () => [Array(10).fill(2), [...Array(9).fill(2), 2.5]], 49.999999999999986],
  ] as [string, () => [number[], number[]], number][])(
    'matches Evidently with SciPy/NumPy on %s',
    (_, samples, expected) => {
      const [reference, current] = samples();
      expectClose(normedWassersteinDistance(reference, current), expected, 1e-12);
    },
  );
});

describe('jensenShannonDistance', () => {
  it.each([
    // /usr/bin/python3 -c "from scipy.spatial import distance; print(repr(distance.jensenshannon([1, 0], [0, 1])))"
    [[1, 0], [0, 1], 0.8325546111576977],
    // /usr/bin/python3 -c "from scipy.spatial import distance; print(repr(distance.jensenshannon([10, 20, 30], [30, 20, 10])))"
    [[10, 20, 30], [30, 20, 10], 0.2953100471720493],
    // /usr/bin/python3 -c "from scipy.spatial import distance; print(repr(distance.jensenshannon([0.25, 0.25, 0.5, 0], [0.2, 0.3, 0.3, 0.2])))"
    [[0.25, 0.25, 0.5, 0], [0.2, 0.3, 0.3, 0.2], 0.2906509762262525],
    // /usr/bin/python3 -c "from scipy.spatial import distance; print(repr(distance.jensenshannon([5, 5], [5, 5])))"
    [[5, 5], [5, 5], 0.0],
  ])('matches scipy.spatial.distance.jensenshannon(%j, %j)', (p, q, expected) => {
    expectClose(jensenShannonDistance(p, q), expected, 1e-14, 1e-16);
  });

  it('rejects vectors of different lengths and all-zero frequencies', () => {
    expect(() => jensenShannonDistance([1, 2], [1, 2, 3])).toThrow(RangeError);
    expect(() => jensenShannonDistance([0, 0], [1, 2])).toThrow(/sum to 0/);
    expect(() => jensenShannonDistance([-1, 2], [1, 2])).toThrow(/non-negative/);
  });
});

describe('totalVariationDistance', () => {
  it('is half the L1 distance between the shares', () => {
    expectClose(totalVariationDistance([0.5, 0.5], [0.8, 0.2]), 0.3, 1e-15);
    expect(totalVariationDistance([1, 0], [0, 1])).toBe(1);
    expect(() => totalVariationDistance([1], [0.5, 0.5])).toThrow(RangeError);
  });
});
