import { describe, expect, it } from 'vitest';
import { chiSquareTest } from '#core/stats/chi-square-test.ts';
import { expectClose } from './expect-close.ts';

describe('chiSquareTest', () => {
  // /usr/bin/python3 -c "from scipy import stats
  // for o, e in [([16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8]), ([30, 10, 25], [22.5, 22.5, 20.0]),
  //   ([5, 0, 12, 3], [4.4, 2.2, 11.0, 2.4])]: print(stats.chisquare(o, e))"
  it.each([
    [[16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8], 3.5, 0.6233876277495822],
    [[30, 10, 25], [22.5, 22.5, 20.0], 10.694444444444445, 0.004761358643200311],
    [[5, 0, 12, 3], [4.4, 2.2, 11.0, 2.4], 2.5227272727272725, 0.4711977547350553],
  ])('matches scipy.stats.chisquare(%j, %j)', (observed, expected, statistic, pValue) => {
    // Act
    const result = chiSquareTest(observed, expected);
    // Assess
    expectClose(result.statistic, statistic, 1e-14);
    expectClose(result.pValue, pValue, 1e-11);
    expect(result.degreesOfFreedom).toBe(observed.length - 1);
  });

  it('gives an infinite statistic and p = 0 when an expected frequency is 0, as SciPy', () => {
    // /usr/bin/python3 -c "from scipy import stats; print(stats.chisquare([5, 7], [12, 0]))"
    // => Power_divergenceResult(statistic=inf, pvalue=0.0)
    expect(chiSquareTest([5, 7], [12, 0])).toEqual({
      statistic: Number.POSITIVE_INFINITY,
      pValue: 0,
      degreesOfFreedom: 1,
    });
  });

  it('rejects degenerate input', () => {
    expect(() => chiSquareTest([5], [5])).toThrow(/at least two categories/);
    expect(() => chiSquareTest([5, 5], [5, 5, 0])).toThrow(RangeError);
    expect(() => chiSquareTest([5, 5], [4, 5])).toThrow(/totals must agree/);
    expect(() => chiSquareTest([-1, 11], [5, 5])).toThrow(/non-negative/);
    expect(() => chiSquareTest([0, 10, 0], [0, 10, 0])).toThrow(/neither observed nor expected/);
  });
});
