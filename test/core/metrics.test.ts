/*
 * Reference values come from scikit-learn 1.2.1 / numpy 1.24.2 under Debian's Python:
 *
 *   /usr/bin/python3 -c "import numpy as np; from sklearn import metrics as m; <fixtures>; print(repr(<snippet>))"
 *
 * <fixtures> defines the arrays below under the names given in their comments (y, p, z, zp, yb, sb, pb,
 * ym, pm) and <snippet> is the expression pasted beside each assertion.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  CLASSIFICATION_METRICS,
  confusionMatrix,
  f1,
  isMetricName,
  logLoss,
  type MetricName,
  mae,
  mape,
  metricDirection,
  metricsForTask,
  precision,
  REGRESSION_METRICS,
  r2,
  recall,
  rmse,
  rocAuc,
  rocCurve,
  scoreClassification,
  scoreRegression,
  smape,
} from '#core/metrics.ts';

/** Agreement with a reference to 1e-9, relative for values beyond 1 in magnitude. */
function expectReference(actual: number, reference: number): void {
  expect(Math.abs(actual - reference)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(reference)));
}

// AirPassengers 1960 (y) against a seasonal-naive forecast with 10% growth, 1959 × 1.1 (p).
// y = np.array([417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432.0])
const AIR_1960 = [417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432];
// p = np.array([396.0, 376.2, 446.6, 435.6, 462.0, 519.2, 602.8, 614.9, 509.3, 447.7, 398.2, 445.5])
const AIR_FORECAST = [396.0, 376.2, 446.6, 435.6, 462.0, 519.2, 602.8, 614.9, 509.3, 447.7, 398.2, 445.5];

// A series touching zero: z = np.array([0, 2, -1, 0, 4.0]); zp = np.array([0, 1.5, -1.5, 0.25, 4.0])
const WITH_ZEROS = [0, 2, -1, 0, 4];
const WITH_ZEROS_PREDICTED = [0, 1.5, -1.5, 0.25, 4];

// Binary labels and scores with ties and the extreme scores 0 and 1:
// yb = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0])
const BINARY_TRUE = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0];
// sb = np.array([0.5, 0.6, 0.7, 0.7, 1.0, 0.9, 0.8, 0.6, 0.0, 0.1, 0.4, 0.4, 0.4, 0.3, 0.3, 0.9, 0.4, 0.7, 0.3, 0.2, 0.4, 1.0, 0.4, 0.1])
const BINARY_SCORES = [
  0.5, 0.6, 0.7, 0.7, 1.0, 0.9, 0.8, 0.6, 0.0, 0.1, 0.4, 0.4, 0.4, 0.3, 0.3, 0.9, 0.4, 0.7, 0.3, 0.2, 0.4,
  1.0, 0.4, 0.1,
];
// pb = (sb >= 0.5).astype(int)
const BINARY_PREDICTED = BINARY_SCORES.map((score) => (score >= 0.5 ? 1 : 0));

// Three classes with labels 3, 5, 7; row 3 holds a certain probability, row 12 ties classes 3 and 5.
// ym = np.array([7, 5, 5, 3, 5, 7, 5, 3, 5, 3, 7, 7, 3, 5, 7])
const MULTI_CLASSES = [3, 5, 7];
const MULTI_TRUE = [7, 5, 5, 3, 5, 7, 5, 3, 5, 3, 7, 7, 3, 5, 7];
// pm = np.array(<the rows below>)
const MULTI_PROBA = [
  [0.26, 0.34, 0.4],
  [0.11, 0.46, 0.43],
  [0.44, 0.42, 0.14],
  [1.0, 0.0, 0.0],
  [0.1, 0.59, 0.31],
  [0.16, 0.29, 0.55],
  [0.16, 0.4, 0.44],
  [0.68, 0.31, 0.01],
  [0.21, 0.58, 0.21],
  [0.48, 0.24, 0.28],
  [0.15, 0.08, 0.77],
  [0.27, 0.31, 0.42],
  [0.4, 0.4, 0.2],
  [0.01, 0.82, 0.17],
  [0.39, 0.11, 0.5],
];
// ypm = np.array([3, 5, 7])[np.argmax(pm, axis=1)] -> [7, 5, 3, 3, 5, 7, 7, 3, 5, 3, 7, 7, 3, 5, 7]
const MULTI_PREDICTED = [7, 5, 3, 3, 5, 7, 7, 3, 5, 3, 7, 7, 3, 5, 7];

describe('regression metrics', () => {
  it('match scikit-learn on a year of AirPassengers forecasts', () => {
    // Act
    const scores = scoreRegression(AIR_1960, AIR_FORECAST);
    // Assess
    expectReference(mae(AIR_1960, AIR_FORECAST), 14.916666666666666); // m.mean_absolute_error(y, p)
    expectReference(rmse(AIR_1960, AIR_FORECAST), 16.564319082493753); // m.mean_squared_error(y, p, squared=False)
    expectReference(mape(AIR_1960, AIR_FORECAST), 3.2428243213890506); // 100 * m.mean_absolute_percentage_error(y, p)
    // 100 * np.mean(np.where(np.abs(y) + np.abs(p) == 0, 0.0, 2 * np.abs(y - p) / (np.abs(y) + np.abs(p))))
    expectReference(smape(AIR_1960, AIR_FORECAST), 3.261635324541646);
    expectReference(r2(AIR_1960, AIR_FORECAST), 0.9504688071968348); // m.r2_score(y, p)
    expect(scores).toEqual({
      mae: mae(AIR_1960, AIR_FORECAST),
      rmse: rmse(AIR_1960, AIR_FORECAST),
      mape: mape(AIR_1960, AIR_FORECAST),
      smape: smape(AIR_1960, AIR_FORECAST),
      r2: r2(AIR_1960, AIR_FORECAST),
    });
  });

  it('MAPE divides by machine epsilon where y is zero, as scikit-learn', () => {
    // 100 * m.mean_absolute_percentage_error(z, zp) -> 2.2517998136852492e+16
    expectReference(mape(WITH_ZEROS, WITH_ZEROS_PREDICTED), 2.2517998136852492e16);
  });

  it('sMAPE counts a predicted zero for a true zero as no error', () => {
    // with np.errstate(invalid='ignore'): 100 * np.mean(np.where(np.abs(z) + np.abs(zp) == 0, 0.0,
    //   2 * np.abs(z - zp) / (np.abs(z) + np.abs(zp)))) -> 53.714285714285715
    expectReference(smape(WITH_ZEROS, WITH_ZEROS_PREDICTED), 53.714285714285715);
  });

  it('R² of a constant y_true is 1 for a perfect prediction and 0 otherwise, as scikit-learn', () => {
    expect(r2([5, 5, 5, 5], [5, 5, 5, 5])).toBe(1); // m.r2_score([5, 5, 5, 5], [5, 5, 5, 5.0]) -> 1.0
    expect(r2([5, 5, 5, 5], [4, 5, 6, 5])).toBe(0); // m.r2_score([5, 5, 5, 5], [4, 5, 6, 5.0]) -> 0.0
    // Deliberately not m.r2_score([0.1, 0.1, 0.1], [0.1, 0.1, 0.2]) -> -1.73e+31, a rounding residue of
    // the mean: a constant y_true is detected exactly.
    expect(r2([0.1, 0.1, 0.1], [0.1, 0.1, 0.2])).toBe(0);
  });

  it('R² goes below zero for a model worse than the mean', () => {
    expect(r2([1, 2, 3], [3, 2, 1])).toBe(-3); // m.r2_score([1, 2, 3], [3, 2, 1.0]) -> -3.0
  });

  it('throw a RangeError on degenerate input', () => {
    expect(() => mae([], [])).toThrow(new RangeError('mae: requires at least one sample, got empty yTrue'));
    expect(() => rmse([1, 2], [1])).toThrow(
      new RangeError('rmse: yTrue and yPred must have the same length, got 2 and 1'),
    );
    expect(() => smape([1, Number.NaN], [1, 2])).toThrow(
      new RangeError('smape: yTrue[1] must be a finite number, got NaN'),
    );
    expect(() => mape([1, 2], [1, Number.POSITIVE_INFINITY])).toThrow(RangeError);
    expect(() => r2([1], [1])).toThrow(new RangeError('r2: requires at least two samples, got 1'));
  });

  it('accept typed arrays', () => {
    expect(mae(Float64Array.from(AIR_1960), Float64Array.from(AIR_FORECAST))).toBe(
      mae(AIR_1960, AIR_FORECAST),
    );
  });

  it('keep MAE ≤ RMSE and sMAPE within [0, 200] on any data', () => {
    // Values in cents keep the squares away from subnormal underflow, which would say nothing about the metrics.
    const value = fc.integer({ min: -100_000_000, max: 100_000_000 }).map((cents) => cents / 100);
    const pairs = fc
      .array(fc.tuple(value, value), { minLength: 1, maxLength: 30 })
      .map((rows) => ({ y: rows.map(([y]) => y), p: rows.map(([, p]) => p) }));
    fc.assert(
      fc.property(pairs, ({ y, p }) => {
        expect(mae(y, p)).toBeLessThanOrEqual(rmse(y, p) * (1 + 1e-12));
        expect(smape(y, p)).toBeGreaterThanOrEqual(0);
        expect(smape(y, p)).toBeLessThanOrEqual(200 + 1e-9);
      }),
      { seed: 42 },
    );
  });
});

describe('label metrics', () => {
  it('match scikit-learn on binary labels, the larger label being positive', () => {
    expectReference(accuracy(BINARY_TRUE, BINARY_PREDICTED), 0.7916666666666666); // m.accuracy_score(yb, pb)
    expectReference(precision(BINARY_TRUE, BINARY_PREDICTED), 0.8181818181818182); // m.precision_score(yb, pb)
    expectReference(recall(BINARY_TRUE, BINARY_PREDICTED), 0.75); // m.recall_score(yb, pb)
    expectReference(f1(BINARY_TRUE, BINARY_PREDICTED), 0.7826086956521738); // m.f1_score(yb, pb)
  });

  it('take the larger of two labels as positive whatever the labels are', () => {
    // Prepare: the same outcome with labels 2 and 5; y25 = np.where(yb == 1, 5, 2), p25 = np.where(pb == 1, 5, 2)
    const to25 = (label: number) => (label === 1 ? 5 : 2);
    const yTrue = BINARY_TRUE.map(to25);
    const yPred = BINARY_PREDICTED.map(to25);
    // Assess
    expectReference(precision(yTrue, yPred), 0.8181818181818182); // m.precision_score(y25, p25, pos_label=5)
    expectReference(recall(yTrue, yPred), 0.75); // m.recall_score(y25, p25, pos_label=5)
    expectReference(f1(yTrue, yPred), 0.7826086956521738); // m.f1_score(y25, p25, pos_label=5)
  });

  it('score 0 where precision or recall is 0/0, as scikit-learn zero_division', () => {
    // m.precision_score([0, 0, 0], [0, 0, 0]), m.recall_score(...), m.f1_score(...) -> 0.0 0.0 0.0
    expect(precision([0, 0, 0], [0, 0, 0], [0, 1])).toBe(0);
    expect(recall([0, 0, 0], [0, 0, 0], [0, 1])).toBe(0);
    expect(f1([0, 0, 0], [0, 0, 0], [0, 1])).toBe(0);
  });

  it('macro-average over classes for multi-class labels', () => {
    expectReference(accuracy(MULTI_TRUE, MULTI_PREDICTED), 0.8666666666666667); // m.accuracy_score(ym, ypm)
    // m.precision_score(ym, ypm, labels=[3, 5, 7], average='macro')
    expectReference(precision(MULTI_TRUE, MULTI_PREDICTED, MULTI_CLASSES), 0.8777777777777778);
    // m.recall_score(ym, ypm, labels=[3, 5, 7], average='macro')
    expectReference(recall(MULTI_TRUE, MULTI_PREDICTED, MULTI_CLASSES), 0.8888888888888888);
    // m.f1_score(ym, ypm, labels=[3, 5, 7], average='macro')
    expectReference(f1(MULTI_TRUE, MULTI_PREDICTED, MULTI_CLASSES), 0.8659932659932661);
  });

  it('build confusion matrices with true classes as rows', () => {
    // m.confusion_matrix(yb, pb) -> [[10, 2], [3, 9]]
    expect(confusionMatrix(BINARY_TRUE, BINARY_PREDICTED)).toEqual({
      classes: [0, 1],
      counts: [
        [10, 2],
        [3, 9],
      ],
    });
    // m.confusion_matrix(ym, ypm, labels=[3, 5, 7]) -> [[4, 0, 0], [1, 4, 1], [0, 0, 5]]
    expect(confusionMatrix(MULTI_TRUE, MULTI_PREDICTED, MULTI_CLASSES).counts).toEqual([
      [4, 0, 0],
      [1, 4, 1],
      [0, 0, 5],
    ]);
  });

  it('throw a RangeError on a single class, unordered classes or a label outside the classes', () => {
    expect(() => precision([1, 1], [1, 1])).toThrow(
      new RangeError('precision: requires at least two classes, got [1]'),
    );
    expect(() => recall([0, 1], [0, 1], [1, 0])).toThrow(
      new RangeError('recall: classes must be strictly ascending, got [1, 0]'),
    );
    expect(() => confusionMatrix([0, 2], [0, 1], [0, 1])).toThrow(
      new RangeError('confusionMatrix: yTrue[1] = 2 is not one of the classes [0,1]'),
    );
    expect(() => accuracy([0, 1], [0])).toThrow(RangeError);
  });
});

describe('rocCurve', () => {
  it('matches sklearn roc_curve with tied scores', () => {
    // [a.tolist() for a in m.roc_curve(yb, sb)]
    expect(rocCurve(BINARY_TRUE, BINARY_SCORES)).toEqual({
      fpr: [
        0.0, 0.08333333333333333, 0.08333333333333333, 0.08333333333333333, 0.08333333333333333,
        0.16666666666666666, 0.16666666666666666, 0.4166666666666667, 0.6666666666666666, 0.75,
        0.9166666666666666, 1.0,
      ],
      tpr: [
        0.0, 0.08333333333333333, 0.25, 0.3333333333333333, 0.5833333333333334, 0.6666666666666666, 0.75, 1.0,
        1.0, 1.0, 1.0, 1.0,
      ],
      thresholds: [2.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0],
    });
  });

  it('drops points collinear with their neighbours, as drop_intermediate=True', () => {
    // [a.tolist() for a in m.roc_curve([1, 1, 1, 0, 1, 0, 0, 0, 1, 0], [0.9, 0.8, 0.7, 0.6, 0.6, 0.5, 0.4, 0.3, 0.2, 0.2])]
    // (drop_intermediate=False gives 9 points, including thresholds 0.8, 0.5 and 0.4)
    expect(
      rocCurve([1, 1, 1, 0, 1, 0, 0, 0, 1, 0], [0.9, 0.8, 0.7, 0.6, 0.6, 0.5, 0.4, 0.3, 0.2, 0.2]),
    ).toEqual({
      fpr: [0.0, 0.0, 0.0, 0.2, 0.8, 1.0],
      tpr: [0.0, 0.2, 0.6, 0.8, 0.8, 1.0],
      thresholds: [1.9, 0.9, 0.7, 0.6, 0.3, 0.2],
    });
  });

  it('draws one class against the rest when given a positive label', () => {
    // [a.tolist() for a in m.roc_curve(ym == 5, pm[:, 1])]
    const curve = rocCurve(
      MULTI_TRUE,
      MULTI_PROBA.map((row) => row[1]),
      5,
    );
    expect(curve).toEqual({
      fpr: [0.0, 0.0, 0.0, 0.1111111111111111, 0.2222222222222222, 0.4444444444444444, 1.0],
      tpr: [0.0, 0.16666666666666666, 0.8333333333333334, 1.0, 1.0, 1.0, 1.0],
      thresholds: [1.8199999999999998, 0.82, 0.42, 0.4, 0.34, 0.31, 0.0],
    });
  });

  it('throws a RangeError without both classes or with more than two labels', () => {
    expect(() => rocCurve([1, 1], [0.2, 0.3])).toThrow(
      new RangeError('rocCurve: needs two classes in yTrue, got only label 1'),
    );
    expect(() => rocCurve([0, 0], [0.2, 0.3], 1)).toThrow(
      new RangeError('rocCurve: needs both positive and negative samples in yTrue, got only negatives'),
    );
    expect(() => rocCurve([0, 1, 2], [0.2, 0.3, 0.4])).toThrow(RangeError);
  });
});

describe('rocAuc', () => {
  it('matches sklearn roc_auc_score on binary scores with ties', () => {
    expectReference(rocAuc(BINARY_TRUE, BINARY_SCORES), 0.8576388888888888); // m.roc_auc_score(yb, sb)
    // m.roc_auc_score(np.where(yb == 1, 5, 2), sb)
    expectReference(
      rocAuc(
        BINARY_TRUE.map((label) => (label === 1 ? 5 : 2)),
        BINARY_SCORES,
      ),
      0.8576388888888888,
    );
  });

  it('uses the larger class column of a two-class probability matrix', () => {
    // m.roc_auc_score(yb, np.c_[1 - sb, sb][:, 1])
    const proba = BINARY_SCORES.map((score) => [1 - score, score]);
    expectReference(rocAuc(BINARY_TRUE, proba, [0, 1]), 0.8576388888888888);
  });

  it('macro-averages one-vs-rest AUCs for multi-class probabilities', () => {
    // m.roc_auc_score(ym, pm, multi_class='ovr', labels=[3, 5, 7])
    expectReference(rocAuc(MULTI_TRUE, MULTI_PROBA, MULTI_CLASSES), 0.9626711560044893);
  });

  it('equals the share of positive-negative pairs ranked right, ties counting one half', () => {
    const labelledScores = fc
      .array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 4 })), {
        minLength: 2,
        maxLength: 40,
      })
      .filter((rows) => rows.some(([label]) => label === 1) && rows.some(([label]) => label === 0));
    fc.assert(
      fc.property(labelledScores, (rows) => {
        // Prepare
        const positives = rows.filter(([label]) => label === 1).map(([, score]) => score);
        const negatives = rows.filter(([label]) => label === 0).map(([, score]) => score);
        const wins = positives
          .flatMap((p) => negatives.map((n) => (p > n ? 1 : p === n ? 0.5 : 0)))
          .reduce((sum: number, win) => sum + win, 0);
        // Act
        const auc = rocAuc(
          rows.map(([label]) => label),
          rows.map(([, score]) => score),
        );
        // Assess
        expect(auc).toBeCloseTo(wins / (positives.length * negatives.length), 12);
      }),
      { seed: 7 },
    );
  });

  it('throws a RangeError when a class has no positive or no negative sample', () => {
    expect(() => rocAuc([1, 1, 1], [0.1, 0.5, 0.9])).toThrow(
      new RangeError('rocAuc: needs two classes in yTrue, got only label 1'),
    );
    const twoOfThree = [
      [0.8, 0.1, 0.1],
      [0.1, 0.8, 0.1],
    ];
    expect(() => rocAuc([3, 5], twoOfThree, MULTI_CLASSES)).toThrow(
      new RangeError(
        'rocAuc (class 7): needs both positive and negative samples in yTrue, got only negatives',
      ),
    );
  });

  it('throws a RangeError on rows that are not probabilities or on multi-class labels with plain scores', () => {
    expect(() =>
      rocAuc(
        [0, 1],
        [
          [0.5, 0.6],
          [0.2, 0.8],
        ],
        [0, 1],
      ),
    ).toThrow(new RangeError('rocAuc: proba row 0 must sum to 1, got 1.1'));
    expect(() =>
      rocAuc(
        MULTI_TRUE,
        MULTI_PROBA.map((row) => row[0]),
      ),
    ).toThrow(
      new RangeError(
        'rocAuc: binary scores need exactly two classes in yTrue, got [3, 5, 7]; pass a probability matrix and classes for a multi-class problem',
      ),
    );
    // @ts-expect-error -- the types demand classes with a matrix; untyped callers are caught at run time
    expect(() => rocAuc(MULTI_TRUE, MULTI_PROBA)).toThrow(
      new RangeError('rocAuc: a probability matrix needs the classes of its columns'),
    );
  });
});

describe('logLoss', () => {
  it('matches sklearn log_loss, clipping certain mistakes at machine epsilon', () => {
    // m.log_loss(yb, np.c_[1 - sb, sb]) -- sample 21 is a negative scored 1.0
    const proba = BINARY_SCORES.map((score) => [1 - score, score]);
    expectReference(logLoss(BINARY_TRUE, proba, [0, 1]), 1.893876867547075);
  });

  it('matches sklearn log_loss on multi-class probabilities', () => {
    // m.log_loss(ym, pm, labels=[3, 5, 7])
    expectReference(logLoss(MULTI_TRUE, MULTI_PROBA, MULTI_CLASSES), 0.6135462385413964);
  });

  it('throws a RangeError on a single class or a wrong number of columns', () => {
    expect(() => logLoss([1, 1], [[1], [1]], [1])).toThrow(
      new RangeError('logLoss: requires at least two classes, got [1]'),
    );
    expect(() =>
      logLoss(
        [3, 5],
        [
          [0.5, 0.5],
          [0.5, 0.5],
        ],
        MULTI_CLASSES,
      ),
    ).toThrow(new RangeError('logLoss: proba row 0 must have 3 columns, got 2'));
  });
});

describe('scoreClassification', () => {
  it('scores binary probabilities, predicting the first class on a tie', () => {
    // Prepare: P = np.c_[1 - sb, sb]; yp = np.array([0, 1])[np.argmax(P, axis=1)] (score 0.5 predicts 0)
    const proba = BINARY_SCORES.map((score) => [1 - score, score]);
    // Act
    const scores = scoreClassification(BINARY_TRUE, proba, [0, 1]);
    // Assess
    expectReference(scores.accuracy, 0.75); // m.accuracy_score(yb, yp)
    expectReference(scores.precision, 0.8); // m.precision_score(yb, yp)
    expectReference(scores.recall, 0.6666666666666666); // m.recall_score(yb, yp)
    expectReference(scores.f1, 0.7272727272727272); // m.f1_score(yb, yp)
    expectReference(scores.auc!, 0.8576388888888888); // m.roc_auc_score(yb, P[:, 1])
    expectReference(scores.logloss, 1.893876867547075); // m.log_loss(yb, P)
  });

  it('scores multi-class probabilities with macro averages', () => {
    // Act
    const scores = scoreClassification(MULTI_TRUE, MULTI_PROBA, MULTI_CLASSES);
    // Assess: ypm as above, labels=[3, 5, 7]
    expectReference(scores.accuracy, 0.8666666666666667); // m.accuracy_score(ym, ypm)
    expectReference(scores.precision, 0.8777777777777778); // m.precision_score(ym, ypm, labels=..., average='macro')
    expectReference(scores.recall, 0.8888888888888888); // m.recall_score(ym, ypm, labels=..., average='macro')
    expectReference(scores.f1, 0.8659932659932661); // m.f1_score(ym, ypm, labels=..., average='macro')
    expectReference(scores.auc!, 0.9626711560044893); // m.roc_auc_score(ym, pm, multi_class='ovr', labels=...)
    expectReference(scores.logloss, 0.6135462385413964); // m.log_loss(ym, pm, labels=...)
  });

  it('leaves AUC out when a class has no holdout row, and still scores the rest', () => {
    // A small holdout of new rows can hold one class only (a scheduled retrain's run once failed on it).
    // Reference, /usr/bin/python3 (scikit-learn 1.2), `from sklearn import metrics as m`:
    // m.roc_auc_score([1, 1, 1], [0.2, 0.7, 0.9]) raises ValueError "Only one class present in y_true.
    // ROC AUC score is not defined in that case." (also with multi_class='ovr' and a class missing).
    const binary = scoreClassification(
      [1, 1, 1],
      [
        [0.8, 0.2],
        [0.3, 0.7],
        [0.1, 0.9],
      ],
      [0, 1],
    );
    expect(binary).not.toHaveProperty('auc');
    expectReference(binary.accuracy, 0.6666666666666666); // m.accuracy_score([1, 1, 1], [0, 1, 1])
    expectReference(binary.logloss, 0.6904911240102196); // m.log_loss([1, 1, 1], P, labels=[0, 1])
    const multi = scoreClassification(
      [3, 5, 5, 3],
      [
        [0.5, 0.3, 0.2],
        [0.1, 0.6, 0.3],
        [0.2, 0.5, 0.3],
        [0.6, 0.2, 0.2],
      ],
      [3, 5, 7],
    );
    expect(multi).not.toHaveProperty('auc');
  });

  it('throws a RangeError on a row count that differs from the labels', () => {
    expect(() => scoreClassification([3, 5], MULTI_PROBA, MULTI_CLASSES)).toThrow(
      new RangeError('scoreClassification: yTrue and proba must have the same length, got 2 and 15'),
    );
  });
});

describe('metric catalogue', () => {
  it('says which way each metric improves', () => {
    const lower: MetricName[] = ['mae', 'rmse', 'mape', 'smape', 'logloss'];
    const higher: MetricName[] = ['r2', 'accuracy', 'precision', 'recall', 'f1', 'auc'];
    expect(lower.map(metricDirection)).toEqual(lower.map(() => 'lower'));
    expect(higher.map(metricDirection)).toEqual(higher.map(() => 'higher'));
  });

  it('assigns regression metrics to forecasts and regressions, the others to classifiers', () => {
    expect(metricsForTask('forecast')).toEqual(['mae', 'rmse', 'mape', 'smape', 'r2']);
    expect(metricsForTask('regression')).toBe(REGRESSION_METRICS);
    expect(metricsForTask('classification')).toEqual([
      'accuracy',
      'precision',
      'recall',
      'f1',
      'auc',
      'logloss',
    ]);
    expect(metricsForTask('classification')).toBe(CLASSIFICATION_METRICS);
  });

  it('recognises metric names from untyped config', () => {
    expect(isMetricName('smape')).toBe(true);
    expect(isMetricName('mse')).toBe(false);
    expect(isMetricName('toString')).toBe(false);
  });
});
