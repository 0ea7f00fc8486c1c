import { describe, expect, it } from 'vitest';
import { kFolds, rollingOriginFolds, selectionDirection, selectionMetric } from '#core/selection.ts';

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
