import { describe, expect, it } from 'vitest';
import { chiSquareSurvival } from '#core/stats/chi-square-survival.ts';
import { logGamma } from '#core/stats/log-gamma.ts';
import { regularizedGammaUpper } from '#core/stats/regularized-gamma.ts';
import { expectClose } from './expect-close.ts';

describe('logGamma', () => {
  // /usr/bin/python3 -c "from scipy import special
  // for x in [1e-8, 0.5, 1.0, 1.5, 2.0, 3.7, 9.99, 10.0, 100.25, 12345.678, 1e7]: print(x, repr(special.gammaln(x)))"
  it.each([
    [1e-8, 18.42068073818021],
    [0.5, 0.5723649429247],
    [1.0, 0.0],
    [1.5, -0.12078223763524526],
    [2.0, 0.0],
    [3.7, 1.428072326665388],
    [9.99, 12.779315214350195],
    [10.0, 12.801827480081469],
    [100.25, 360.28455963776423],
    [12345.678, 103959.91990554606],
    [1e7, 151180949.36947393],
  ])('ln Γ(%s) matches scipy.special.gammaln', (x, expected) => {
    expectClose(logGamma(x), expected, 1e-14, 1e-14);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects %s', (x) => {
    expect(() => logGamma(x)).toThrow(RangeError);
  });
});

describe('regularizedGammaUpper', () => {
  // /usr/bin/python3 -c "from scipy import special
  // for a, x in [(0.5, 0.1), (1.0, 2.0), (3.0, 2.5), (2.5, 10.0), (10.0, 3.0), (50.0, 45.0), (50.0, 80.0),
  //   (0.1, 5.0), (250.0, 240.0), (5000.0, 5100.0), (1e-3, 1e-3), (7.5, 60.0)]: print(a, x, repr(special.gammaincc(a, x)))"
  it.each([
    [0.5, 0.1, 0.6547208460185768],
    [1.0, 2.0, 0.1353352832366127],
    [3.0, 2.5, 0.5438131158833297],
    [2.5, 10.0, 0.0012497305630313773],
    [10.0, 3.0, 0.9988975118698845],
    [50.0, 45.0, 0.7531979655998298],
    [50.0, 80.0, 0.0001307839765914092],
    [0.1, 5.0, 0.00014393896584673387],
    [250.0, 240.0, 0.7323499301459842],
    [5000.0, 5100.0, 0.07932888107761896],
    [1e-3, 1e-3, 0.006312353291139709],
    [7.5, 60.0, 1.8924849646375555e-18],
  ])('Q(%s, %s) matches scipy.special.gammaincc', (a, x, expected) => {
    expectClose(regularizedGammaUpper(a, x), expected, 1e-11);
  });

  it('is 1 at x = 0 and 0 at x = Infinity', () => {
    expect(regularizedGammaUpper(3, 0)).toBe(1);
    expect(regularizedGammaUpper(3, Number.POSITIVE_INFINITY)).toBe(0);
  });

  it('rejects a non-positive shape or a negative x', () => {
    expect(() => regularizedGammaUpper(0, 1)).toThrow(RangeError);
    expect(() => regularizedGammaUpper(1, -1)).toThrow(RangeError);
    expect(() => regularizedGammaUpper(1, Number.NaN)).toThrow(RangeError);
  });
});

describe('chiSquareSurvival', () => {
  // /usr/bin/python3 -c "from scipy import stats
  // for x, df in [(3.84, 1), (0.5, 2), (100.0, 50), (0.001, 10), (1000.0, 900), (50.0, 3), (10000.0, 10000),
  //   (0.1, 0.5), (6.0, 5), (200.0, 10)]: print(x, df, repr(stats.chi2.sf(x, df)))"
  it.each([
    [3.84, 1, 0.05004352124870519],
    [0.5, 2, 0.7788007830714049],
    [100.0, 50, 3.454931382984871e-5],
    [0.001, 10, 1.0],
    [1000.0, 900, 0.010994608942135844],
    [50.0, 3, 7.989179244951495e-11],
    [10000.0, 10000, 0.49811936596618267],
    [0.1, 0.5, 0.48344467916953426],
    [6.0, 5, 0.30621891841327875],
    [200.0, 10, 1.6139305336977317e-37],
  ])('P(χ² > %s | df=%s) matches scipy.stats.chi2.sf', (x, df, expected) => {
    expectClose(chiSquareSurvival(x, df), expected, 1e-10);
  });

  it('is 1 for a statistic at or below 0', () => {
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(chiSquareSurvival(-2, 3)).toBe(1);
  });

  it('rejects degrees of freedom that are not positive', () => {
    expect(() => chiSquareSurvival(1, 0)).toThrow(RangeError);
    expect(() => chiSquareSurvival(Number.NaN, 2)).toThrow(RangeError);
  });
});
