import { describe, expect, it } from 'vitest';
import { scoreClassification, scoreRegression } from '#core/metrics.ts';
import { type HoldoutPredictions, pairedBootstrap } from '#core/paired-bootstrap.ts';
import { integers, uniform } from './stats/lcg.ts';

// The data of test/core/reference/paired_bootstrap.py, which draws the same resamples (mulberry32,
// stratified by class for classifiers), scores each with scikit-learn 1.2.1 and sample_weight = the row
// multiplicities, and takes np.percentile of the differences:
//   /usr/bin/python3 test/core/reference/paired_bootstrap.py
const y = uniform(1, 30, 400, 100);
const regression = (noise: number[]): HoldoutPredictions => ({
  actual: y,
  predicted: y.map((value, i) => value + noise[i]),
});
const regressionChampion = regression(uniform(2, 30, 60, -30));
const regressionCandidate = regression(uniform(3, 30, 40, -20));

const labels = integers(4, 40, 2);
const classifier = (p: number[]): HoldoutPredictions => ({
  actual: labels,
  predicted: p.flatMap((value) => [1 - value, value]),
  classes: [0, 1],
});
const classifierChampion = classifier(uniform(5, 40, 0.5).map((value, i) => value + 0.4 * labels[i]));
const classifierCandidate = classifier(uniform(6, 40, 0.5).map((value, i) => value + 0.45 * labels[i]));

describe('pairedBootstrap against scikit-learn on the same resamples', () => {
  it.each([
    ['mae', -4.530024183137963, [-7.516375512501689, -1.3619806886068555]],
    ['rmse', -5.487172065718482, [-8.361381731944675, -2.4579717089685773]],
    ['mape', -1.6859856674038434, [-3.281717104711804, 0.06632728809213356]],
    ['r2', 0.013517582925944516, [0.004933439147263327, 0.02760815981917102]],
  ] as const)('regression %s: difference and 95%% interval', (metric, difference, [low, high]) => {
    // Act
    const paired = pairedBootstrap(regressionCandidate, regressionChampion, {
      metric,
      resamples: 500,
      seed: 7,
    });
    // Assess
    expect(paired.difference).toBeCloseTo(difference, 9);
    expect(paired.interval[0]).toBeCloseTo(low, 9);
    expect(paired.interval[1]).toBeCloseTo(high, 9);
    expect(paired).toMatchObject({ metric, confidence: 0.95, resamples: 500, seed: 7, rows: 30 });
  });

  it.each([
    ['auc', 0.012531328320801949, [-0.020050125313283207, 0.06015037593984962]],
    ['logloss', -0.05862406538700915, [-0.13823450629588707, 0.020575903454331104]],
    ['accuracy', 0.04999999999999993, [-0.050000000000000044, 0.15000000000000002]],
    ['f1', 0.05253283302063794, [-0.04999999999999993, 0.17136178861788598]],
  ] as const)(
    'binary classification %s, stratified by class: difference and 95%% interval',
    (metric, difference, [low, high]) => {
      const paired = pairedBootstrap(classifierCandidate, classifierChampion, {
        metric,
        resamples: 500,
        seed: 7,
      });
      expect(paired.difference).toBeCloseTo(difference, 9);
      expect(paired.interval[0]).toBeCloseTo(low, 9);
      expect(paired.interval[1]).toBeCloseTo(high, 9);
    },
  );
});

describe('pairedBootstrap properties', () => {
  it('gives the whole-holdout difference of the metrics scoreRegression and scoreClassification report', () => {
    for (const metric of ['mae', 'rmse', 'mape', 'smape', 'r2'] as const) {
      const paired = pairedBootstrap(regressionCandidate, regressionChampion, {
        metric,
        resamples: 10,
        seed: 1,
      });
      const scores = [regressionCandidate, regressionChampion].map((p) =>
        scoreRegression(p.actual, p.predicted),
      );
      expect(paired.difference).toBeCloseTo(scores[0][metric] - scores[1][metric], 12);
    }
    const proba = (p: HoldoutPredictions) =>
      labels.map((_, i) => [p.predicted[2 * i], p.predicted[2 * i + 1]]);
    for (const metric of ['accuracy', 'precision', 'recall', 'f1', 'auc', 'logloss'] as const) {
      const paired = pairedBootstrap(classifierCandidate, classifierChampion, {
        metric,
        resamples: 10,
        seed: 1,
      });
      const scores = [classifierCandidate, classifierChampion].map((p) =>
        scoreClassification(labels, proba(p), [0, 1]),
      );
      expect(paired.difference).toBeCloseTo(scores[0][metric]! - scores[1][metric]!, 12);
    }
  });

  it('multi-class AUC is the one-vs-rest macro average, as scoreClassification', () => {
    const actual = integers(8, 30, 3);
    const raw = uniform(9, 90).map((value, i) => value + (actual[Math.floor(i / 3)] === i % 3 ? 0.5 : 0));
    const rows = actual.map((_, i) => {
      const row = raw.slice(3 * i, 3 * i + 3);
      const total = row.reduce((sum, value) => sum + value, 0);
      return row.map((value) => value / total);
    });
    const model = { actual, predicted: rows.flat(), classes: [0, 1, 2] };
    const uniformModel = { actual, predicted: rows.flatMap(() => [1 / 3, 1 / 3, 1 / 3]), classes: [0, 1, 2] };
    const paired = pairedBootstrap(model, uniformModel, { metric: 'auc', resamples: 10, seed: 1 });
    expect(paired.difference).toBeCloseTo(scoreClassification(actual, rows, [0, 1, 2]).auc! - 0.5, 12);
  });

  it('an identical candidate differs by exactly 0 on every resample: the interval is [0, 0]', () => {
    const paired = pairedBootstrap(regressionChampion, regressionChampion, { metric: 'rmse', seed: 3 });
    expect(paired).toMatchObject({ difference: 0, interval: [0, 0], resamples: 2000, confidence: 0.95 });
  });

  it('is reproducible from its seed, and a wider confidence gives a wider interval', () => {
    const options = { metric: 'mae', seed: 11 } as const;
    const first = pairedBootstrap(regressionCandidate, regressionChampion, options);
    const again = pairedBootstrap(regressionCandidate, regressionChampion, options);
    const wider = pairedBootstrap(regressionCandidate, regressionChampion, { ...options, confidence: 0.99 });
    expect(again).toEqual(first);
    expect(wider.interval[0]).toBeLessThan(first.interval[0]);
    expect(wider.interval[1]).toBeGreaterThan(first.interval[1]);
  });

  it('refuses models scored on different rows, and bad options, with a RangeError', () => {
    const shorter = { actual: y.slice(1), predicted: y.slice(1) };
    expect(() => pairedBootstrap(regressionCandidate, shorter, { metric: 'mae', seed: 1 })).toThrow(
      new RangeError(
        'pairedBootstrap: candidate and champion must be scored on the same rows, targets and classes',
      ),
    );
    expect(() =>
      pairedBootstrap(regressionCandidate, regressionChampion, { metric: 'mae', seed: 1, confidence: 1 }),
    ).toThrow(new RangeError('pairedBootstrap: confidence must be in (0, 1) such as 0.95, got 1'));
    expect(() =>
      pairedBootstrap(regressionCandidate, regressionChampion, { metric: 'mae', seed: 1, resamples: 5 }),
    ).toThrow(new RangeError('pairedBootstrap: resamples must be an integer ≥ 10, got 5'));
    expect(() =>
      pairedBootstrap(regressionCandidate, regressionChampion, { metric: 'auc', seed: 1 }),
    ).toThrow(new RangeError('pairedBootstrap: auc is not a regression metric'));
  });
});
