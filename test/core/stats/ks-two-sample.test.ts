import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ksStatistic, ksTwoSample } from '#core/stats/ks-two-sample.ts';
import { expectClose } from './expect-close.ts';
import { integers, uniform } from './lcg.ts';

/**
 * References from SciPy 1.10.1 on the same samples, each row's <a>, <b> run as
 *
 *   /usr/bin/python3 - <<'EOF'
 *   <the Python twin of lcg, uniform, integers from lcg.ts>
 *   from scipy import stats
 *   r = stats.ks_2samp(<a>, <b>); print(repr(r.statistic), repr(r.pvalue))
 *   EOF
 *
 * SciPy's `method='auto'` is exact up to 10 000 values per sample, asymptotic above.
 */
const cases: [string, () => [number[], number[]], number, number, 'exact' | 'asymptotic'][] = [
  [
    '[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]',
    () => [
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10],
    ],
    1.0,
    0.007936507936507936,
    'exact',
  ],
  ['[0.5], [0.25]', () => [[0.5], [0.25]], 1.0, 1.0, 'exact'],
  ['[0.5], uniform(3, 10)', () => [[0.5], uniform(3, 10)], 0.6, 0.9090909090909091, 'exact'],
  ['uniform(4, 10), [0.5]', () => [uniform(4, 10), [0.5]], 0.6, 0.9090909090909091, 'exact'],
  ['uniform(1, 5), uniform(2, 5)', () => [uniform(1, 5), uniform(2, 5)], 0.4, 0.873015873015873, 'exact'],
  [
    'uniform(1, 20), uniform(2, 20, 1.0, 0.3)',
    () => [uniform(1, 20), uniform(2, 20, 1, 0.3)],
    0.45,
    0.0335416594061465,
    'exact',
  ],
  [
    'uniform(5, 30), uniform(6, 47, 1.0, 0.2)',
    () => [uniform(5, 30), uniform(6, 47, 1, 0.2)],
    0.3659574468085106,
    0.010339671059532532,
    'exact',
  ],
  [
    'uniform(7, 100), uniform(8, 73)',
    () => [uniform(7, 100), uniform(8, 73)],
    0.14095890410958903,
    0.33105343797661313,
    'exact',
  ],
  [
    'uniform(9, 250), uniform(10, 400, 1.2, 0.0)',
    () => [uniform(9, 250), uniform(10, 400, 1.2, 0)],
    0.187,
    3.551412133293904e-5,
    'exact',
  ],
  [
    'uniform(11, 7), uniform(12, 11, 1.0, 5.0) (fully separated)',
    () => [uniform(11, 7), uniform(12, 11, 1, 5)],
    1.0,
    6.28456510809452e-5,
    'exact',
  ],
  [
    'uniform(13, 64), uniform(13, 64) (identical)',
    () => [uniform(13, 64), uniform(13, 64)],
    0.0,
    1.0,
    'exact',
  ],
  [
    'integers(14, 50, 4), integers(15, 80, 4) (ties)',
    () => [integers(14, 50, 4), integers(15, 80, 4)],
    0.16,
    0.3694279218090134,
    'exact',
  ],
  [
    'integers(16, 200, 5), integers(17, 300, 5, 1) (ties)',
    () => [integers(16, 200, 5), integers(17, 300, 5, 1)],
    0.23333333333333334,
    3.441975200148237e-6,
    'exact',
  ],
  [
    'integers(18, 1000, 10), integers(19, 1000, 10) (ties)',
    () => [integers(18, 1000, 10), integers(19, 1000, 10)],
    0.04,
    0.4006338815832625,
    'exact',
  ],
  [
    'integers(20, 120, 2), integers(21, 90, 3) (ties)',
    () => [integers(20, 120, 2), integers(21, 90, 3)],
    0.28888888888888886,
    0.00029030344745219525,
    'exact',
  ],
  [
    'integers(22, 37, 3), integers(22, 37, 3) (identical, ties)',
    () => [integers(22, 37, 3), integers(22, 37, 3)],
    0.0,
    1.0,
    'exact',
  ],
  [
    'uniform(23, 1000), uniform(24, 999, 1.0, 0.02)',
    () => [uniform(23, 1000), uniform(24, 999, 1, 0.02)],
    0.05594994994994995,
    0.0820343670757543,
    'exact',
  ],
  [
    'uniform(25, 10000), uniform(26, 10000, 1.0, 0.01)',
    () => [uniform(25, 10000), uniform(26, 10000, 1, 0.01)],
    0.0109,
    0.5924073621556236,
    'exact',
  ],
  [
    'uniform(27, 10000), uniform(28, 9999, 1.0, 0.02)',
    () => [uniform(27, 10000), uniform(28, 9999, 1, 0.02)],
    0.02827063706370637,
    0.0006475247748879497,
    'exact',
  ],
  [
    'uniform(29, 10001), uniform(30, 500, 1.0, 0.05)',
    () => [uniform(29, 10001), uniform(30, 500, 1, 0.05)],
    0.07117628237176282,
    0.015291676991473348,
    'asymptotic',
  ],
  [
    'uniform(31, 10001), uniform(32, 100, 1.0, 0.1)',
    () => [uniform(31, 10001), uniform(32, 100, 1, 0.1)],
    0.18457654234576543,
    0.0020027664076566485,
    'asymptotic',
  ],
  [
    'uniform(33, 12000), uniform(34, 12000, 1.0, 0.005)',
    () => [uniform(33, 12000), uniform(34, 12000, 1, 0.005)],
    0.011749999999999927,
    0.37597822869869857,
    'asymptotic',
  ],
  [
    'uniform(35, 20000), uniform(36, 15000, 1.0, 0.05)',
    () => [uniform(35, 20000), uniform(36, 15000, 1, 0.05)],
    0.0592,
    1.4903263802477285e-26,
    'asymptotic',
  ],
  [
    'integers(37, 10001, 20), integers(38, 600, 20) (ties)',
    () => [integers(37, 10001, 20), integers(38, 600, 20)],
    0.054030930240309305,
    0.07075838721326633,
    'asymptotic',
  ],
];

describe('ksTwoSample', () => {
  it.each(cases)('matches scipy.stats.ks_2samp(%s)', (_, samples, statistic, pValue, method) => {
    // Prepare
    const [a, b] = samples();
    // Act
    const result = ksTwoSample(a, b);
    // Assess: far inside the 1e-6 absolute / 1% relative the drift report needs
    expect(result.method).toBe(method);
    expectClose(result.statistic, statistic, 1e-15);
    expectClose(result.pValue, pValue, 1e-9, 1e-12);
  });

  it('has p in [0, 1], D in [0, 1], and is symmetric in its samples', () => {
    const sample = fc.oneof(
      fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 40 }),
      fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }),
    );
    fc.assert(
      fc.property(sample, sample, (a, b) => {
        const forward = ksTwoSample(a, b);
        const backward = ksTwoSample(b, a);
        expect(forward.pValue).toBeGreaterThanOrEqual(0);
        expect(forward.pValue).toBeLessThanOrEqual(1);
        expect(forward.statistic).toBeGreaterThanOrEqual(0);
        expect(forward.statistic).toBeLessThanOrEqual(1);
        expect(backward).toEqual(forward);
      }),
      { seed: 20240611, numRuns: 300 },
    );
  });

  it('gives D = 0 and p = 1 for a sample compared with a reordering of itself', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 60 }), (a) => {
        expect(ksTwoSample(a, [...a].reverse())).toEqual({ statistic: 0, pValue: 1, method: 'exact' });
      }),
      { seed: 7, numRuns: 100 },
    );
  });

  it('rejects empty samples and NaN', () => {
    expect(() => ksTwoSample([], [1])).toThrow(/non-empty first sample/);
    expect(() => ksTwoSample([1], [])).toThrow(/non-empty second sample/);
    expect(() => ksTwoSample([1, Number.NaN], [1])).toThrow(/NaN/);
  });
});

describe('ksStatistic', () => {
  it('is the largest gap between the empirical CDFs, ties included', () => {
    // F₁ − F₂ after 2: 2/3 − 1/4; after 3: 1 − 2/4 = 0.5, the largest
    expect(ksStatistic([1, 2, 3], [2, 3, 4, 5])).toBe(0.5);
    expect(ksStatistic(Float64Array.of(1, 1, 1), Float64Array.of(1, 1))).toBe(0);
  });
});
