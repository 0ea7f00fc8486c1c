import { describe, expect, it } from 'vitest';
import {
  dieboldMariano,
  kFolds,
  rollingOriginFolds,
  rowLosses,
  selectionDirection,
  selectionMetric,
} from '#core/selection.ts';

const span = (positions: Int32Array) => [positions[0], positions[positions.length - 1], positions.length];

describe('rollingOriginFolds', () => {
  it('cuts 108 monthly rows at 4 origins a year apart, each scoring the next 12 months', () => {
    // The folds of sklearn's TimeSeriesSplit(n_splits=4, test_size=12) on 108 rows:
    // /usr/bin/python3 -c "from sklearn.model_selection import TimeSeriesSplit as T; import numpy as np;
    //   [print(f[-1], t[0], t[-1]) for f, t in T(n_splits=4, test_size=12).split(np.zeros(108))]"  (sklearn 1.2.1)
    // → 59 60 71 / 71 72 83 / 83 84 95 / 95 96 107
    const folds = rollingOriginFolds(108, { origins: 4, horizon: 12 });
    expect(folds.map((fold) => [fold.fit[fold.fit.length - 1], ...span(fold.score)])).toEqual([
      [59, 60, 71, 12],
      [71, 72, 83, 12],
      [83, 84, 95, 12],
      [95, 96, 107, 12],
    ]);
    for (const fold of folds) expect(fold.fit[0]).toBe(0);
  });

  it('shortens the horizon so the first fit keeps at least half the rows', () => {
    const folds = rollingOriginFolds(40);
    // floor(floor(40 / 2) / 4) = 5 steps per origin, the first fit on 20 rows
    expect(folds).toHaveLength(4);
    expect(folds.map((fold) => fold.score.length)).toEqual([5, 5, 5, 5]);
    expect(folds[0].fit).toHaveLength(20);
  });

  it('refuses too few rows with a message saying why', () => {
    expect(() => rollingOriginFolds(7)).toThrow(/7 training rows are too few for 4 rolling origins/);
  });
});

describe('kFolds', () => {
  it('scores every row exactly once, fits on the others, and keeps class shares per fold', () => {
    const strata = Array.from({ length: 103 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const folds = kFolds(103, 5, 7, strata);
    const scored = folds.flatMap((fold) => Array.from(fold.score)).sort((a, b) => a - b);
    expect(scored).toEqual(Array.from({ length: 103 }, (_, i) => i));
    for (const fold of folds) {
      expect(fold.fit.length + fold.score.length).toBe(103);
      expect(Array.from(fold.fit).some((row) => fold.score.includes(row))).toBe(false);
      // 35 of 103 rows are class 1: 7 per fold of about 20
      const ones = Array.from(fold.score).filter((row) => strata[row] === 1).length;
      expect(ones).toBe(7);
    }
  });

  it('is the same for a seed and differs across seeds', () => {
    expect(kFolds(50, 5, 1)).toEqual(kFolds(50, 5, 1));
    expect(kFolds(50, 5, 1)).not.toEqual(kFolds(50, 5, 2));
    expect(() => kFolds(3, 5, 1)).toThrow(/2 ≤ k ≤ 3/);
  });
});

describe('selectionMetric', () => {
  it('selects classifiers by log loss and everything else by the spec metric', () => {
    expect(selectionMetric('classification', 'auc')).toBe('logloss');
    expect(selectionDirection('classification', 'auc')).toBe('lower');
    expect(selectionMetric('forecast', 'mape')).toBe('mape');
    expect(selectionDirection('regression', 'r2')).toBe('higher');
  });
});

describe('dieboldMariano', () => {
  // Errors drawn in R 4 (forecast 8.x): set.seed(1); e1 <- rnorm(44); e2 <- rnorm(44) * 1.3 + 0.2, rounded to 6 digits.
  const e1 = [
    -0.626454, 0.183643, -0.835629, 1.595281, 0.329508, -0.820468, 0.487429, 0.738325, 0.575781, -0.305388,
    1.511781, 0.389843, -0.621241, -2.2147, 1.124931, -0.044934, -0.01619, 0.943836, 0.821221, 0.593901,
    0.918977, 0.782136, 0.074565, -1.989352, 0.619826, -0.056129, -0.155796, -1.470752, -0.47815, 0.417942,
    1.35868, -0.102788, 0.387672, -0.053805, -1.37706, -0.414995, -0.39429, -0.059313, 1.100025, 0.763176,
    -0.164524, -0.253362, 0.696963, 0.556663,
  ];
  const e2 = [
    -0.695382, -0.719744, 0.673957, 1.199093, 0.05395, 1.34544, 0.717538, -0.595634, 0.643456, -1.268172,
    2.062931, 2.77452, -0.277388, -1.157375, 0.940636, 0.024429, 3.322103, 0.148988, 1.096661, 0.236403,
    -0.766255, 0.44543, -2.146446, 2.105221, 0.399229, 3.024395, 0.818162, -0.72293, 0.993944, -1.014327,
    -1.429723, 0.57888, -0.376279, 0.201437, 0.296644, -0.566377, -0.539269, 0.024268, 1.731513, -1.780637,
    0.97213, 0.632835, 1.58203, -0.195439,
  ];

  it("matches R forecast's dm.test with h = 1 on absolute errors", () => {
    // R: dm.test(e1, e2, h = 1, power = 1, alternative = "less")$statistic → -2.28474386608445
    expect(dieboldMariano(e1.map(Math.abs), e2.map(Math.abs))).toBeCloseTo(-2.28474386608445, 10);
    // R: dm.test(c(1, 2, 3, 1), c(2, 2, 4, 3), h = 1, power = 1)$statistic → -2.44948974278318
    expect(dieboldMariano([1, 2, 3, 1], [2, 2, 4, 3])).toBeCloseTo(-2.44948974278318, 12);
  });

  it('is antisymmetric, and degenerate differences give 0 or an infinity instead of NaN', () => {
    expect(dieboldMariano(e2, e1)).toBeCloseTo(-dieboldMariano(e1, e2), 12);
    expect(dieboldMariano([1, 2], [1, 2])).toBe(0);
    expect(dieboldMariano([1, 2], [2, 3])).toBe(Number.NEGATIVE_INFINITY);
    expect(() => dieboldMariano([1], [2])).toThrow(/at least 2 periods/);
    expect(() => dieboldMariano([1, 2], [2])).toThrow(RangeError);
  });
});

describe('rowLosses', () => {
  it('gives the terms each metric averages', () => {
    const actual = [100, 200];
    const predicted = [110, 190];
    // mape([100, 200], [110, 190]) = 7.5: the mean of 10 and 5
    expect(rowLosses('mape', actual, predicted)).toEqual([10, 5]);
    expect(rowLosses('mae', actual, predicted)).toEqual([10, 10]);
    expect(rowLosses('rmse', actual, predicted)).toEqual([100, 100]);
    expect(rowLosses('smape', [100, 0], [300, 0])).toEqual([100, 0]);
    expect(() => rowLosses('auc', actual, predicted)).toThrow(/no per-row loss/);
  });
});
