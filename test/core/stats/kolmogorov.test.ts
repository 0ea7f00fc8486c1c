import { describe, expect, it } from 'vitest';
import { kolmogorovTwoSidedSurvival } from '#core/stats/kolmogorov-two-sided.ts';
import { smirnovSurvival } from '#core/stats/smirnov.ts';
import { expectClose } from './expect-close.ts';

describe('kolmogorovTwoSidedSurvival', () => {
  // One case per branch of SciPy's `_kolmogn`, each from
  // /usr/bin/python3 -c "from scipy import stats; print(repr(stats.kstwo.sf(x, n)))"
  it.each([
    [10, 0.04, 1.0, 'n·x ≤ 0.5'],
    [10, 0.08, 0.9999978058034054, 'Ruben–Gambino, n·x ≤ 1, n ≤ 140'],
    [141, 0.007, 1.0, 'Ruben–Gambino, n·x ≤ 1, n > 140'],
    [10, 0.92, 2.1474836479999892e-11, 'Ruben–Gambino, n·x ≥ n − 1'],
    [10, 0.6, 0.0005681672000000003, 'x ≥ 0.5: 2·smirnov'],
    [300, 0.55, 9.502612440402723e-86, 'x ≥ 0.5, n > 140'],
    [50, 0.1, 0.6623112704658186, 'n ≤ 140, Durbin'],
    [140, 0.07, 0.4776228287946577, 'n ≤ 140, Durbin'],
    [50, 0.2, 0.03143877776953241, 'n ≤ 140, Pomeranz'],
    [99, 0.15, 0.0207571487983919, 'n ≤ 140, Pomeranz'],
    [7, 0.45, 0.08235918175946066, 'n ≤ 140, Pomeranz, small n'],
    [50, 0.35, 5.573523514803185e-6, 'n ≤ 140, 2·smirnov'],
    [141, 0.2, 2.0276784223976912e-5, 'n > 140, n·x² ≥ 2.2: 2·smirnov'],
    [476, 0.0711, 0.015451567945807158, 'n > 140, 2·smirnov'],
    [2000, 0.5, 0.0, 'x ≥ 0.5, underflow'],
    [1000, 0.7, 0.0, 'n > 140, n·x² ≥ 370'],
    [200, 0.03, 0.991436524714942, 'n > 140, Durbin (n·x^1.5 ≤ 1.4)'],
    [5000, 0.004, 0.9999977369528622, 'n > 140, Durbin (n·x^1.5 ≤ 1.4)'],
    [200, 0.05, 0.6802625495871704, 'n > 140, Pelz–Good (n·x^1.5 > 1.4)'],
    [476, 0.05, 0.17886527031931188, 'n > 140, Pelz–Good'],
    [5000, 0.015, 0.20846142096186204, 'n > 140, Pelz–Good'],
    [150000, 0.003, 0.1341018124495077, 'n > 100000, Pelz–Good'],
    [500000, 0.0005, 0.9996286945544336, 'n > 100000, Pelz–Good'],
  ])('n=%s, x=%s: kstwo.sf = %s (%s)', (n, x, expected) => {
    expectClose(kolmogorovTwoSidedSurvival(n, x), expected, 1e-10, 1e-300);
  });

  it('is 1 at x ≤ 0 and 0 at x ≥ 1', () => {
    expect(kolmogorovTwoSidedSurvival(20, 0)).toBe(1);
    expect(kolmogorovTwoSidedSurvival(20, 1)).toBe(0);
  });

  it('rejects a non-integer n and a NaN statistic', () => {
    expect(() => kolmogorovTwoSidedSurvival(2.5, 0.3)).toThrow(RangeError);
    expect(() => kolmogorovTwoSidedSurvival(0, 0.3)).toThrow(RangeError);
    expect(() => kolmogorovTwoSidedSurvival(10, Number.NaN)).toThrow(RangeError);
  });
});

describe('smirnovSurvival', () => {
  // /usr/bin/python3 -c "from scipy import special; print(repr(special.smirnov(n, x)))"
  it.each([
    [1, 0.3, 0.7],
    [5, 0.1, 0.85359],
    [5, 0.2, 0.58528],
    [5, 0.5, 0.056],
    [5, 0.9, 9.999999999999989e-6],
    [10, 0.3, 0.1354635556],
    [100, 0.1, 0.1265906584562817],
    [100, 0.25, 2.7044358882174237e-6],
    [1500, 0.05, 0.0005333051097710876],
    [2000, 0.03, 0.026773982498367117],
    [40, 0.25, 0.005447760766544563],
    [300, 0.6, 4.199832563434037e-104],
    // x ≤ 0.5/√n, where SciPy switches to its alternating upper sum; the lower sum agrees
    [100, 0.03, 0.8190484857999243],
    [5000, 0.005, 0.7762166965536714],
  ])('smirnov(%s, %s) = %s', (n, x, expected) => {
    expectClose(smirnovSurvival(n, x), expected, 1e-10);
  });

  it('rejects x outside [0, 1]', () => {
    expect(() => smirnovSurvival(5, 1.5)).toThrow(RangeError);
    expect(() => smirnovSurvival(5, -0.1)).toThrow(RangeError);
  });
});
