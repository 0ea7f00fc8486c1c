import { describe, expect, it } from 'vitest';
import { type MetricName, scoreRegression } from '#core/metrics.ts';
import { type PairedComparison, pairedBootstrap } from '#core/paired-bootstrap.ts';
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

/** A paired comparison with the given difference and 95% interval, as `pairedBootstrap` returns it. */
function paired(
  metric: MetricName,
  difference: number,
  interval: [number, number],
  rows = 24,
): PairedComparison {
  return { metric, difference, interval, confidence: 0.95, resamples: 2000, seed: 42, rows };
}

describe('decidePromotion against a champion, lower-is-better metric', () => {
  it('promotes a candidate whose whole interval is better than the champion beyond the margin', () => {
    // Act
    const decision = decidePromotion({
      metric: 'mape',
      bars: { mape: { max: 10 } },
      candidate: { mape: 2.41 },
      champion: { mape: 3.1 },
      paired: paired('mape', -0.69, [-1.02, -0.31]),
    });
    // Assess: the 1% margin of 3.10 is 0.031 points, and −0.31 is below −0.031
    expect(decision).toMatchObject({ promote: true, candidateScore: 2.41, championScore: 3.1 });
    expect(decision.reason).toBe(
      'candidate MAPE 2.41% beats champion 3.10%: difference −0.69 points (95% interval −1.02 points to −0.31 points, paired bootstrap of 24 holdout rows, 2000 resamples, seed 42), better beyond the 1% margin (0.03 points); passes bars (MAPE ≤ 10%)',
    );
    expect(decision.improvement).toBeCloseTo(0.69 / 3.1, 12);
  });

  it('keeps the champion when the point estimate is better but the interval reaches zero', () => {
    const decision = decidePromotion({
      metric: 'rmse',
      candidate: { rmse: 19.5 },
      champion: { rmse: 20 },
      paired: paired('rmse', -0.5, [-1.4, 0.3]),
    });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toBe(
      'candidate RMSE 19.50 does not beat champion 20.00 beyond noise: difference −0.5 (95% interval −1.4 to +0.3, paired bootstrap of 24 holdout rows, 2000 resamples, seed 42) does not clear the 1% margin (0.2); champion kept',
    );
  });

  it('asks the interval, not the point estimate, to clear the margin; exactly at the margin promotes', () => {
    // The 25% margin of RMSE 4 is 1.
    const input = { metric: 'rmse', margin: 0.25, candidate: { rmse: 2.8 }, champion: { rmse: 4 } } as const;
    const short = decidePromotion({ ...input, paired: paired('rmse', -1.2, [-1.6, -0.8]) });
    const atMargin = decidePromotion({ ...input, paired: paired('rmse', -1.2, [-1.6, -1]) });
    expect(short.promote).toBe(false);
    expect(atMargin.promote).toBe(true);
  });

  it('keeps the champion on a tie (the interval is [0, 0]), even with margin 0', () => {
    const decision = decidePromotion({
      metric: 'mae',
      margin: 0,
      candidate: { mae: 14.9 },
      champion: { mae: 14.9 },
      paired: paired('mae', 0, [0, 0]),
    });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toBe(
      'candidate MAE 14.90 ties champion 14.90: difference 0 (95% interval 0 to 0, paired bootstrap of 24 holdout rows, 2000 resamples, seed 42); a tie keeps the champion; champion kept',
    );
    expect(decision.improvement).toBe(0);
  });

  it('says a candidate is worse when the whole interval is on the worse side', () => {
    const decision = decidePromotion({
      metric: 'rmse',
      candidate: { rmse: 21.5 },
      champion: { rmse: 20 },
      paired: paired('rmse', 1.5, [0.5, 2.5]),
    });
    expect(decision).toMatchObject({ promote: false, championScore: 20, improvement: -0.075 });
    expect(decision.reason).toMatch(/^candidate RMSE 21.50 is worse than champion 20.00: difference \+1.5 /);
  });

  it('keeps a champion with zero error: nothing can beat it', () => {
    const decision = decidePromotion({
      metric: 'mae',
      margin: 0,
      candidate: { mae: 0 },
      champion: { mae: 0 },
      paired: paired('mae', 0, [0, 0]),
    });
    expect(decision).toMatchObject({ promote: false, candidateScore: 0, championScore: 0 });
    expect(decision.improvement).toBeUndefined();
    expect(decision.reason).toMatch(/^candidate MAE 0.0000 cannot beat champion 0.0000, a perfect score: /);
  });

  it('decides from a real paired bootstrap of scoreRegression inputs', () => {
    // Prepare: AirPassengers 1960 against seasonal-naive forecasts with 10% growth (candidate) and none
    // (champion): the growth is real, every month but one is closer.
    const actual = [417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432];
    const lastYear = [360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405];
    const grown = lastYear.map((value) => value * 1.1);
    const candidate = scoreRegression(actual, grown);
    const champion = scoreRegression(actual, lastYear);
    const comparison = pairedBootstrap(
      { actual, predicted: grown },
      { actual, predicted: lastYear },
      { metric: 'rmse', seed: 42 },
    );
    // Act
    const decision = decidePromotion({
      metric: 'rmse',
      bars: { mape: { max: 10 } },
      candidate,
      champion,
      paired: comparison,
    });
    // Assess
    expect(comparison.interval[1]).toBeLessThan(-0.01 * champion.rmse);
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
      paired: paired('mape', -0.69, [-1.02, -0.31]),
    });
    // Assess
    expect(decision.promote).toBe(false);
    expect(decision.reason).toBe(
      'candidate fails bar R² ≥ 0.95 (R² 0.9300); not promoted although its MAPE 2.41% beats champion 3.10%: difference −0.69 points (95% interval −1.02 points to −0.31 points, paired bootstrap of 24 holdout rows, 2000 resamples, seed 42), better beyond the 1% margin (0.03 points)',
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
  it('measures the margin on the remaining error: the interval must clear margin·(1 − champion)', () => {
    // The 10% margin of AUC 0.90 is 0.01 of AUC.
    const input = { metric: 'auc', margin: 0.1, candidate: { auc: 0.95 }, champion: { auc: 0.9 } } as const;
    const clear = decidePromotion({ ...input, paired: paired('auc', 0.05, [0.02, 0.08]) });
    const short = decidePromotion({ ...input, paired: paired('auc', 0.05, [0.005, 0.08]) });
    expect(clear.promote).toBe(true);
    expect(clear.improvement).toBeCloseTo(0.5, 12);
    expect(clear.reason).toBe(
      'candidate AUC 0.9500 beats champion 0.9000: difference +0.0500 (95% interval +0.0200 to +0.0800, paired bootstrap of 24 holdout rows, 2000 resamples, seed 42), better beyond the 10% margin (0.0100); no quality bars set',
    );
    expect(short.promote).toBe(false);
  });

  it('keeps the champion when the interval straddles zero', () => {
    const decision = decidePromotion({
      metric: 'f1',
      candidate: { f1: 0.93 },
      champion: { f1: 0.91 },
      paired: paired('f1', 0.02, [-0.03, 0.07]),
    });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toMatch(/^candidate F1 0.9300 does not beat champion 0.9100 beyond noise: /);
  });

  it('keeps a champion with a perfect score that the candidate only matches', () => {
    const decision = decidePromotion({
      metric: 'auc',
      margin: 0,
      candidate: { auc: 1 },
      champion: { auc: 1 },
      paired: paired('auc', 0, [0, 0]),
    });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toMatch(/^candidate AUC 1.0000 cannot beat champion 1.0000, a perfect score: /);
    expect(decision.improvement).toBeUndefined();
  });
});

describe('decidePromotion for a refresh (the champion refit on newer rows)', () => {
  it('promotes a refresh unless the whole interval is on the worse side', () => {
    const input = {
      metric: 'mape',
      candidate: { mape: 2.6 },
      champion: { mape: 2.48 },
      refresh: true,
    } as const;
    const tie = decidePromotion({ ...input, candidate: { mape: 2.48 }, paired: paired('mape', 0, [0, 0]) });
    const noisy = decidePromotion({ ...input, paired: paired('mape', 0.12, [-0.1, 0.3]) });
    const worse = decidePromotion({ ...input, paired: paired('mape', 0.12, [0.05, 0.3]) });
    const perfect = decidePromotion({
      metric: 'auc',
      candidate: { auc: 1 },
      champion: { auc: 1 },
      paired: paired('auc', 0, [0, 0]),
      refresh: true,
    });
    expect(tie.promote).toBe(true);
    expect(tie.reason).toBe(
      "candidate MAPE 2.48% vs champion 2.48%: difference 0.00 points (95% interval 0.00 points to 0.00 points, paired bootstrap of 24 holdout rows, 2000 resamples, seed 42), not worse beyond noise; a refresh (the champion's parameters, refit on newer rows) is promoted unless the interval shows it worse; no quality bars set",
    );
    expect(noisy.promote).toBe(true);
    expect(worse.promote).toBe(false);
    expect(worse.reason).toMatch(/^candidate MAPE 2.60% is worse than champion 2.48%: .*; champion kept$/);
    expect(perfect.promote).toBe(true);
  });
});

describe('decidePromotion when the holdout leaves a metric undefined', () => {
  // A scheduled retrain's holdout of 6 new breast-cancer rows held one class only: its AUC is undefined
  // (scikit-learn's roc_auc_score raises), and the run failed on it instead of keeping the champion.
  const why =
    'AUC is undefined on this holdout (it needs holdout rows of every class and the holdout has rows of only some)';

  it('does not promote a first model it cannot judge, and says why', () => {
    const decision = decidePromotion({ metric: 'auc', candidate: { accuracy: 1, logloss: 0.1 } });
    expect(decision).toEqual({
      promote: false,
      reason: `candidate cannot be judged: its ${why}; not promoted; the next run judges again on these rows and the ones it adds`,
    });
  });

  it('keeps the champion, with no paired comparison to read', () => {
    const decision = decidePromotion({
      metric: 'auc',
      candidate: { logloss: 0.1 },
      champion: { logloss: 0.2 },
    });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toBe(
      `candidate cannot be judged: its ${why}; not promoted, champion kept; the next run judges again on these rows and the ones it adds`,
    );
  });

  it('does not promote on a barred metric the holdout leaves undefined', () => {
    const decision = decidePromotion({
      metric: 'logloss',
      bars: { auc: { min: 0.9 } },
      candidate: { logloss: 0.1 },
    });
    expect(decision.promote).toBe(false);
    expect(decision.reason).toContain(why);
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
    expect(() => decidePromotion({ metric: 'rmse', candidate: { rmse: 1 }, champion: { rmse: 2 } })).toThrow(
      new RangeError(
        'decidePromotion: a champion needs the paired comparison of rmse on the same holdout rows',
      ),
    );
    expect(() =>
      decidePromotion({
        metric: 'rmse',
        candidate: { rmse: 1 },
        champion: { rmse: 2 },
        paired: paired('mae', -1, [-2, -0.5]),
      }),
    ).toThrow(RangeError);
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
