import { describe, expect, it } from 'vitest';
import { scoreRegression } from '#core/metrics.ts';
import { decidePromotion, type PromotionInput } from '#core/promotion.ts';

describe('decidePromotion without a champion', () => {
  it('promotes a first model that passes the bars', () => {
    // Act
    const decision = decidePromotion({
      metric: 'mape',
      bars: { mape: { max: 10 } },
      candidate: { mape: 2.41 },
    });
    // Assess
    expect(decision).toEqual({
      promote: true,
      reason: 'first model: candidate MAPE 2.41% is promoted; passes bars (MAPE ≤ 10%)',
      candidateScore: 2.41,
    });
  });

  it('promotes a first model when no bars are set', () => {
    const decision = decidePromotion({ metric: 'rmse', candidate: { rmse: 16.56 } });
    expect(decision.promote).toBe(true);
    expect(decision.reason).toBe('first model: candidate RMSE 16.56 is promoted; no quality bars set');
  });

  it('rejects a first model that fails a bar, naming the bar and the value', () => {
    const decision = decidePromotion({
      metric: 'mape',
      bars: { mape: { max: 10 } },
      candidate: { mape: 12.5 },
    });
    expect(decision).toEqual({
      promote: false,
      reason: 'candidate fails bar MAPE ≤ 10% (MAPE 12.50%); not promoted',
      candidateScore: 12.5,
    });
  });
});

describe('decidePromotion against a champion, lower-is-better metric', () => {
  it('promotes a candidate that beats the champion by more than the margin', () => {
    // Act
    const decision = decidePromotion({
      metric: 'mape',
      bars: { mape: { max: 10 } },
      candidate: { mape: 2.41 },
      champion: { mape: 3.1 },
    });
    // Assess: (3.10 − 2.41) / 3.10 = 0.2226
    expect(decision).toMatchObject({
      promote: true,
      reason: 'candidate MAPE 2.41% beats champion 3.10% by 22.3% (margin 1%); passes bars (MAPE ≤ 10%)',
      candidateScore: 2.41,
      championScore: 3.1,
    });
    expect(decision.improvement).toBeCloseTo(0.69 / 3.1, 12);
  });

  it('keeps the champion when the candidate is better by less than the margin', () => {
    // 3.08 is 0.65% below 3.10, short of the default 1%
    const decision = decidePromotion({ metric: 'mape', candidate: { mape: 3.08 }, champion: { mape: 3.1 } });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toBe(
      'candidate MAPE 3.08% beats champion 3.10% by only 0.6%, less than the 1% margin; champion kept',
    );
    expect(decision.improvement).toBeCloseTo(0.02 / 3.1, 12);
  });

  it('promotes a candidate exactly at the margin', () => {
    // 3 = 4 · (1 − 0.25), exactly representable
    const decision = decidePromotion({
      metric: 'rmse',
      margin: 0.25,
      candidate: { rmse: 3 },
      champion: { rmse: 4 },
    });
    expect(decision.promote).toBe(true);
    expect(decision.improvement).toBe(0.25);
  });

  it('keeps the champion when the candidate is worse', () => {
    const decision = decidePromotion({ metric: 'rmse', candidate: { rmse: 21.5 }, champion: { rmse: 20 } });
    expect(decision).toEqual({
      promote: false,
      reason: 'candidate RMSE 21.50 is worse than champion 20.00; champion kept',
      candidateScore: 21.5,
      championScore: 20,
      improvement: -0.075,
    });
  });

  it('keeps the champion on equal scores, even with margin 0', () => {
    const decision = decidePromotion({
      metric: 'mae',
      margin: 0,
      candidate: { mae: 14.9 },
      champion: { mae: 14.9 },
    });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toBe('candidate MAE 14.90 ties champion 14.90; champion kept');
    expect(decision.improvement).toBe(0);
  });

  it('promotes any strict improvement with margin 0', () => {
    const decision = decidePromotion({
      metric: 'mae',
      margin: 0,
      candidate: { mae: 14.89 },
      champion: { mae: 14.9 },
    });
    expect(decision.promote).toBe(true);
    expect(decision.reason).toBe(
      'candidate MAE 14.89 beats champion 14.90 by 0.1% (margin 0%); no quality bars set',
    );
  });

  it('keeps a champion with zero error that the candidate only matches', () => {
    const decision = decidePromotion({
      metric: 'mae',
      margin: 0,
      candidate: { mae: 0 },
      champion: { mae: 0 },
    });
    expect(decision).toEqual({
      promote: false,
      reason: 'candidate MAE 0.0000 matches champion 0.0000, a perfect score; champion kept',
      candidateScore: 0,
      championScore: 0,
    });
  });

  it('uses the default 1% margin when margin is undefined', () => {
    const decision = decidePromotion({
      metric: 'rmse',
      margin: undefined,
      candidate: { rmse: 19.9 },
      champion: { rmse: 20 },
    });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toContain('less than the 1% margin');
  });

  it('accepts the scores of scoreRegression as they are', () => {
    // Prepare: AirPassengers 1960 against seasonal-naive forecasts with 10% growth (candidate) and none (champion)
    const actual = [417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432];
    const lastYear = [360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405];
    const candidate = scoreRegression(
      actual,
      lastYear.map((value) => value * 1.1),
    );
    const champion = scoreRegression(actual, lastYear);
    // Act
    const decision = decidePromotion({ metric: 'rmse', bars: { mape: { max: 10 } }, candidate, champion });
    // Assess
    expect(decision.promote).toBe(true);
    expect(decision.candidateScore).toBe(candidate.rmse);
    expect(decision.championScore).toBe(champion.rmse);
  });
});

describe('decidePromotion with failing bars', () => {
  it('rejects a candidate that beats the champion but fails a bar', () => {
    // Act
    const decision = decidePromotion({
      metric: 'mape',
      bars: { mape: { max: 10 }, r2: { min: 0.95 } },
      candidate: { mape: 2.41, r2: 0.93 },
      champion: { mape: 3.1, r2: 0.9 },
    });
    // Assess
    expect(decision.promote).toBe(false);
    expect(decision.reason).toBe(
      'candidate fails bar R² ≥ 0.95 (R² 0.9300); not promoted although its MAPE 2.41% beats champion 3.10% by 22.3%',
    );
    expect(decision.championScore).toBe(3.1);
  });

  it('names every failed bar', () => {
    const decision = decidePromotion({
      metric: 'auc',
      bars: { auc: { min: 0.9 }, f1: { min: 0.8 }, logloss: { max: 0.5 } },
      candidate: { auc: 0.85, f1: 0.7, logloss: 0.4 },
    });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toBe(
      'candidate fails bars AUC ≥ 0.9 (AUC 0.8500) and F1 ≥ 0.8 (F1 0.7000); not promoted',
    );
  });

  it('checks both ends of a bar, inclusively', () => {
    const bars = { r2: { min: 0.5, max: 0.99 } };
    expect(decidePromotion({ metric: 'r2', bars, candidate: { r2: 0.5 } }).promote).toBe(true);
    expect(decidePromotion({ metric: 'r2', bars, candidate: { r2: 0.99 } }).promote).toBe(true);
    expect(decidePromotion({ metric: 'r2', bars, candidate: { r2: 0.995 } }).reason).toBe(
      'candidate fails bar R² ≥ 0.5, R² ≤ 0.99 (R² 0.9950); not promoted',
    );
  });
});

describe('decidePromotion against a champion, higher-is-better metric', () => {
  it('measures the improvement on the remaining error', () => {
    // Act: 1 − 0.95 = 0.05 of error left against 0.10, half of it removed
    const decision = decidePromotion({
      metric: 'auc',
      margin: 0.1,
      candidate: { auc: 0.95 },
      champion: { auc: 0.9 },
    });
    // Assess
    expect(decision.promote).toBe(true);
    expect(decision.improvement).toBeCloseTo(0.5, 12);
    expect(decision.reason).toBe(
      'candidate AUC 0.9500 beats champion 0.9000 by 50.0% of the remaining error (margin 10%); no quality bars set',
    );
  });

  it('lets a near-perfect champion be beaten, which a plain 10% ratio could not', () => {
    // 0.985 · 1.1 > 1, yet 1 − 0.985 = 0.015 ≤ (1 − 0.98) · 0.9 = 0.018
    const decision = decidePromotion({
      metric: 'accuracy',
      margin: 0.1,
      candidate: { accuracy: 0.985 },
      champion: { accuracy: 0.98 },
    });
    expect(decision.promote).toBe(true);
  });

  it('keeps the champion when too little of the remaining error is removed', () => {
    // needs 1 − candidate ≤ (1 − 0.99) · 0.9 = 0.009, i.e. at least 0.991
    const decision = decidePromotion({
      metric: 'f1',
      margin: 0.1,
      candidate: { f1: 0.9905 },
      champion: { f1: 0.99 },
    });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toBe(
      'candidate F1 0.9905 beats champion 0.9900 by only 5.0% of the remaining error, less than the 10% margin; champion kept',
    );
  });

  it('promotes a candidate exactly at the margin', () => {
    // 1 − 0.75 = 0.25 = (1 − 0.5) · (1 − 0.5), exactly representable
    const decision = decidePromotion({
      metric: 'recall',
      margin: 0.5,
      candidate: { recall: 0.75 },
      champion: { recall: 0.5 },
    });
    expect(decision.promote).toBe(true);
  });

  it('keeps the champion when the candidate is worse', () => {
    const decision = decidePromotion({ metric: 'r2', candidate: { r2: -0.2 }, champion: { r2: 0.6 } });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toBe('candidate R² -0.2000 is worse than champion 0.6000; champion kept');
    // 1 − (−0.2) = 1.2 of error left against 0.4: three times as much, an improvement of −200%
    expect(decision.improvement).toBeCloseTo(-2, 12);
  });

  it('keeps a champion with a perfect score that the candidate only matches', () => {
    const decision = decidePromotion({
      metric: 'auc',
      margin: 0,
      candidate: { auc: 1 },
      champion: { auc: 1 },
    });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toBe(
      'candidate AUC 1.0000 matches champion 1.0000, a perfect score; champion kept',
    );
    expect(decision.improvement).toBeUndefined();
  });
});

describe('decidePromotion for a refresh (the champion refit on newer rows)', () => {
  it('promotes a refresh that ties the champion, and keeps the champion when it is worse', () => {
    const tie = decidePromotion({
      metric: 'mape',
      candidate: { mape: 2.48 },
      champion: { mape: 2.48 },
      refresh: true,
    });
    const worse = decidePromotion({
      metric: 'mape',
      candidate: { mape: 2.6 },
      champion: { mape: 2.48 },
      refresh: true,
    });
    const perfect = decidePromotion({
      metric: 'auc',
      candidate: { auc: 1 },
      champion: { auc: 1 },
      refresh: true,
    });
    expect(tie).toMatchObject({ promote: true });
    expect(tie.reason).toBe(
      "candidate MAPE 2.48% ties champion 2.48%; a refresh (the champion's parameters, refit on newer rows) is promoted when no worse; no quality bars set",
    );
    expect(worse).toMatchObject({ promote: false });
    expect(perfect).toMatchObject({ promote: true });
  });
});

describe('decidePromotion on invalid input', () => {
  it.each([-0.1, 1, 1.5, Number.NaN])('throws a RangeError naming the margin %s', (margin) => {
    expect(() => decidePromotion({ metric: 'rmse', margin, candidate: { rmse: 1 } })).toThrow(
      new RangeError(`decidePromotion: margin must be a fraction in [0, 1) such as 0.01, got ${margin}`),
    );
  });

  it('throws a RangeError when a needed score is missing or out of range', () => {
    expect(() => decidePromotion({ metric: 'rmse', candidate: { mae: 1 } })).toThrow(
      new RangeError('decidePromotion: the candidate has no rmse score'),
    );
    expect(() => decidePromotion({ metric: 'rmse', candidate: { rmse: 1 }, champion: { mae: 1 } })).toThrow(
      new RangeError('decidePromotion: the champion has no rmse score'),
    );
    expect(() =>
      decidePromotion({ metric: 'mae', bars: { mape: { max: 10 } }, candidate: { mae: 1 } }),
    ).toThrow(new RangeError('decidePromotion: the candidate has no mape score'));
    expect(() => decidePromotion({ metric: 'auc', candidate: { auc: 1.2 } })).toThrow(
      new RangeError("decidePromotion: the candidate's auc must be a finite number ≤ 1, got 1.2"),
    );
    expect(() => decidePromotion({ metric: 'rmse', candidate: { rmse: -1 } })).toThrow(RangeError);
  });

  it('throws a RangeError on a malformed bar or an unknown metric', () => {
    expect(() =>
      decidePromotion({ metric: 'r2', bars: { r2: { min: 0.9, max: 0.5 } }, candidate: { r2: 0.7 } }),
    ).toThrow(new RangeError('decidePromotion: the bar on r2 has min 0.9 above max 0.5'));
    expect(() => decidePromotion({ metric: 'r2', bars: { r2: {} }, candidate: { r2: 0.7 } })).toThrow(
      new RangeError('decidePromotion: the bar on r2 needs a min or a max'),
    );
    const untypedConfig: PromotionInput = JSON.parse('{"metric": "mse", "candidate": {"mse": 1}}');
    expect(() => decidePromotion(untypedConfig)).toThrow(
      new RangeError("decidePromotion: unknown metric 'mse'"),
    );
  });
});
