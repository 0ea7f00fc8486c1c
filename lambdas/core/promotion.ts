/**
 * The promotion rule: should a freshly trained candidate replace the production champion? Both were
 * scored by the caller on the same holdout rows, and their difference bootstrapped over those rows
 * (`paired-bootstrap.ts`); this module decides from the interval and explains the outcome in one
 * sentence for the registry's audit trail.
 */

import { isMetricName, METRICS, type MetricName } from './metrics.ts';
import type { PairedComparison } from './paired-bootstrap.ts';

/** Metric values of one model, e.g. the output of `scoreRegression` or `scoreClassification`. */
export type MetricScores = Partial<Record<MetricName, number>>;

/** An absolute quality bar on one metric: the value must lie within [min, max] (both inclusive). */
export interface QualityBar {
  min?: number;
  max?: number;
}

/** Quality bars by metric, e.g. `{ mape: { max: 10 }, auc: { min: 0.9 } }` (MAPE in percent). */
export type QualityBars = Partial<Record<MetricName, QualityBar>>;

/** What {@link decidePromotion} needs to know. */
export interface PromotionInput {
  /** The primary metric the candidate must improve. */
  metric: MetricName;
  /**
   * Minimum relative improvement over the champion, in [0, 1): 0.01 asks for 1% better (see
   * {@link decidePromotion} for what "better" means per metric). The interval must clear it.
   * @default 0.01
   */
  margin?: number;
  /**
   * Absolute bars the candidate must pass whatever the champion scores.
   * @default {}
   */
  bars?: QualityBars;
  /**
   * The candidate's scores on the holdout; must include the primary metric and every barred metric,
   * unless the metric is one a holdout can leave undefined (`METRICS[m].undefinedWhen`: AUC on a holdout
   * without some class), which means the candidate cannot be judged and is not promoted.
   */
  candidate: MetricScores;
  /** The production model's scores on the same holdout; absent for the first model. */
  champion?: MetricScores;
  /**
   * The paired bootstrap of candidate − champion on the primary metric over the same holdout rows
   * ({@link pairedBootstrap}); required with a champion.
   */
  paired?: PairedComparison;
  /**
   * The candidate is a refresh: the champion's own engine, parameters and featurizer, whose served model
   * was refit on rows the champion never learned. A refresh is promoted unless the interval shows it
   * worse (judged on rows neither learned, it may be the champion's very model: a tie is expected).
   * @default false
   */
  refresh?: boolean;
}

/** The outcome of {@link decidePromotion}. */
export interface PromotionDecision {
  promote: boolean;
  /** One sentence with the numbers, for the registry and the run report. */
  reason: string;
  /** The candidate's value of the primary metric; absent when the holdout leaves it undefined. */
  candidateScore?: number;
  /** The champion's value of the primary metric, when there is a champion. */
  championScore?: number;
  /**
   * Relative improvement of the candidate over the champion as a fraction (0.223 = 22.3% better,
   * negative when worse), in the sense explained at {@link decidePromotion}. Absent without a champion,
   * and when the champion's score is perfect (nothing is left to improve).
   */
  improvement?: number;
}

const DEFAULT_MARGIN = 0.01;

/**
 * Decides whether a candidate model replaces the champion.
 *
 * 0. A candidate whose primary or barred metric is undefined on this holdout (AUC where the holdout has
 *    rows of one class only: a small drop's new rows can) cannot be judged and is not promoted; the
 *    rows stay out of the champion's training, so the next run judges on them and the rows it adds.
 * 1. A candidate failing any absolute quality bar is never promoted.
 * 2. Without a champion (the first model), a candidate that passes the bars is promoted.
 * 3. Against a champion, the decision reads the paired bootstrap interval of the difference
 *    candidate − champion on the same holdout rows (`paired`), never the point estimates alone:
 *    - A new configuration is promoted only when the whole interval lies on the better side, beyond the
 *      margin: the candidate is better than the champion by at least `margin` of the champion's error
 *      with the interval's confidence. An interval that reaches zero — ties included — keeps the champion.
 *    - A refresh (`refresh`: the champion's own configuration, refit on newer rows) is promoted unless
 *      the whole interval lies on the worse side of zero. Its gain, having learned the newest rows, is
 *      invisible on a holdout those rows form, so the burden of proof is reversed: a tie promotes it.
 *
 * "Better by `margin`" is relative to the champion's error, 0 at perfection:
 * - Lower-is-better metrics (MAE, RMSE, MAPE, sMAPE, log loss): by margin·champion, so with margin 0.05
 *   a champion RMSE of 20 needs an interval wholly below −1.
 * - Higher-is-better metrics are all bounded by 1 (R², accuracy, precision, recall, F1, AUC): by
 *   margin·(1 − champion), so with margin 0.1 a champion AUC of 0.90 needs an interval wholly above
 *   0.01. A champion with a perfect score (0 error, or 1) cannot be beaten.
 *
 * @example
 * decidePromotion({ metric: 'mape', candidate: { mape: 2.41 }, champion: { mape: 3.1 },
 *   paired: { metric: 'mape', difference: -0.69, interval: [-1.02, -0.31], confidence: 0.95,
 *             resamples: 2000, seed: 42, rows: 24 } })
 * // { promote: true, reason: 'candidate MAPE 2.41% beats champion 3.10%: difference −0.69 points
 * //   (95% interval −1.02 to −0.31, paired bootstrap of 24 holdout rows, 2000 resamples, seed 42),
 * //   better beyond the 1% margin (0.03 points); no quality bars set', … }
 * @throws {RangeError} when `margin` is not in [0, 1), `metric` or a barred metric is unknown, a bar is
 *   empty, not finite or has min > max, a needed score is missing, not finite or out of its range
 *   (below 0 for lower-is-better metrics, above 1 for higher-is-better ones), or a champion comes
 *   without a paired comparison of the primary metric
 */
export function decidePromotion(input: PromotionInput): PromotionDecision {
  const { metric, margin = DEFAULT_MARGIN, bars = {}, candidate, champion, paired, refresh = false } = input;
  assertMargin(margin);
  if (!isMetricName(metric)) {
    throw new RangeError(`decidePromotion: unknown metric '${metric}'`);
  }
  const undefinedOnHoldout = [metric, ...Object.keys(bars)].filter(
    (name, i, names): name is MetricName =>
      names.indexOf(name) === i &&
      isMetricName(name) &&
      candidate[name] === undefined &&
      METRICS[name].undefinedWhen !== undefined,
  );
  if (undefinedOnHoldout.length > 0) {
    const undefinedText = undefinedOnHoldout
      .map((name) => `${METRICS[name].label} is undefined on this holdout (${METRICS[name].undefinedWhen})`)
      .join(', and its ');
    return {
      promote: false,
      reason: `candidate cannot be judged: its ${undefinedText}; not promoted${champion ? ', champion kept' : ''}; the next run judges again on these rows and the ones it adds`,
    };
  }
  const candidateScore = requireScore('candidate', candidate, metric);
  const checks = barChecks(bars, candidate);
  const comparison =
    champion &&
    compareWithChampion(
      metric,
      candidateScore,
      requireScore('champion', champion, metric),
      margin,
      requirePaired(metric, paired),
      refresh,
    );
  const championFields = comparison && {
    championScore: comparison.championScore,
    ...(comparison.improvement === undefined ? {} : { improvement: comparison.improvement }),
  };
  const candidateText = `candidate ${formatNamedScore(metric, candidateScore)}`;

  const failures = checks.filter((check) => !check.passed);
  if (failures.length > 0) {
    const failed = failures.map((check) => `${check.text} (${formatNamedScore(check.metric, check.value)})`);
    const despite = comparison?.promote
      ? ` although its ${formatNamedScore(metric, candidateScore)} ${comparison.verdict}`
      : '';
    return {
      promote: false,
      reason: `candidate fails ${failed.length === 1 ? 'bar' : 'bars'} ${joinWithAnd(failed)}; not promoted${despite}`,
      candidateScore,
      ...championFields,
    };
  }
  const barsText =
    checks.length === 0
      ? 'no quality bars set'
      : `passes bars (${checks.map((check) => check.text).join(', ')})`;
  if (comparison === undefined) {
    return {
      promote: true,
      reason: `first model: ${candidateText} is promoted; ${barsText}`,
      candidateScore,
    };
  }
  return {
    promote: comparison.promote,
    reason: comparison.promote
      ? `${candidateText} ${comparison.verdict}; ${barsText}`
      : `${candidateText} ${comparison.verdict}; champion kept`,
    candidateScore,
    ...championFields,
  };
}

function assertMargin(margin: number): void {
  if (!(Number.isFinite(margin) && margin >= 0 && margin < 1)) {
    throw new RangeError(`decidePromotion: margin must be a fraction in [0, 1) such as 0.01, got ${margin}`);
  }
}

/** A model's value of a metric, checked to be present, finite and within the metric's range. */
function requireScore(model: 'candidate' | 'champion', scores: MetricScores, metric: MetricName): number {
  const value = scores[metric];
  if (value === undefined) {
    throw new RangeError(`decidePromotion: the ${model} has no ${metric} score`);
  }
  const inRange = METRICS[metric].direction === 'lower' ? value >= 0 : value <= 1;
  if (!(Number.isFinite(value) && inRange)) {
    const range = METRICS[metric].direction === 'lower' ? '≥ 0' : '≤ 1';
    throw new RangeError(
      `decidePromotion: the ${model}'s ${metric} must be a finite number ${range}, got ${value}`,
    );
  }
  return value;
}

interface BarCheck {
  metric: MetricName;
  value: number;
  passed: boolean;
  /** The bar as people write it, e.g. "MAPE ≤ 10%". */
  text: string;
}

function barChecks(bars: QualityBars, candidate: MetricScores): BarCheck[] {
  return Object.entries(bars).map(([name, bar]) => {
    if (!isMetricName(name)) {
      throw new RangeError(`decidePromotion: bar on unknown metric '${name}'`);
    }
    assertBar(name, bar);
    const value = requireScore('candidate', candidate, name);
    const passed = (bar.min === undefined || value >= bar.min) && (bar.max === undefined || value <= bar.max);
    return { metric: name, value, passed, text: barText(name, bar) };
  });
}

function assertBar(metric: MetricName, bar: QualityBar | undefined): asserts bar is QualityBar {
  const bounds = [bar?.min, bar?.max].filter((bound) => bound !== undefined);
  if (bounds.length === 0) {
    throw new RangeError(`decidePromotion: the bar on ${metric} needs a min or a max`);
  }
  if (!bounds.every(Number.isFinite)) {
    throw new RangeError(
      `decidePromotion: the bar on ${metric} must have finite bounds, got ${JSON.stringify(bar)}`,
    );
  }
  if (bounds.length === 2 && bounds[0] > bounds[1]) {
    throw new RangeError(`decidePromotion: the bar on ${metric} has min ${bar?.min} above max ${bar?.max}`);
  }
}

interface Comparison {
  championScore: number;
  improvement?: number;
  promote: boolean;
  /** The comparison in words, to follow "candidate <METRIC> <value> ". */
  verdict: string;
}

function requirePaired(metric: MetricName, paired: PairedComparison | undefined): PairedComparison {
  if (paired?.metric !== metric) {
    throw new RangeError(
      `decidePromotion: a champion needs the paired comparison of ${metric} on the same holdout rows`,
    );
  }
  const [low, high] = paired.interval;
  if (!(Number.isFinite(low) && Number.isFinite(high) && low <= high && Number.isFinite(paired.difference))) {
    throw new RangeError(
      `decidePromotion: the paired interval must be finite with low ≤ high, got [${low}, ${high}]`,
    );
  }
  return paired;
}

function compareWithChampion(
  metric: MetricName,
  candidateScore: number,
  championScore: number,
  margin: number,
  paired: PairedComparison,
  refresh: boolean,
): Comparison {
  const { direction } = METRICS[metric];
  // Both directions reduce to an error that is 0 at perfection: the value itself for lower-is-better
  // metrics, the distance to 1 for the higher-is-better ones (all bounded by 1).
  const errorOf = (score: number) => (direction === 'lower' ? score : 1 - score);
  const championError = errorOf(championScore);
  // The interval as gains (positive = the candidate is better), whatever the metric's direction.
  const [low, high] = paired.interval;
  const [worstGain, bestGain] = direction === 'lower' ? [-high, -low] : [low, high];
  const required = margin * championError;
  const champion = formatScore(metric, championScore);
  const evidence = `difference ${formatDifference(metric, paired.difference)} (${intervalText(metric, paired)})`;
  const improvement =
    championError === 0 ? undefined : (championError - errorOf(candidateScore)) / championError;
  const fields = { championScore, ...(improvement === undefined ? {} : { improvement }) };
  if (refresh) {
    const promote = bestGain >= 0;
    return {
      ...fields,
      promote,
      verdict: promote
        ? `vs champion ${champion}: ${evidence}, not worse beyond noise; a refresh (the champion's parameters, refit on newer rows) is promoted unless the interval shows it worse`
        : `is worse than champion ${champion}: ${evidence}, wholly on the worse side; a refresh is not promoted when the interval shows it worse`,
    };
  }
  if (championError === 0) {
    return {
      ...fields,
      promote: false,
      verdict: `cannot beat champion ${champion}, a perfect score: ${evidence}`,
    };
  }
  const promote = worstGain > 0 && worstGain >= required;
  const marginText = `the ${formatMargin(margin)} margin (${formatDifference(metric, required, false)})`;
  const verdict = promote
    ? `beats champion ${champion}: ${evidence}, better beyond ${marginText}`
    : low === 0 && high === 0
      ? `ties champion ${champion}: ${evidence}; a tie keeps the champion`
      : bestGain < 0
        ? `is worse than champion ${champion}: ${evidence}`
        : `does not beat champion ${champion} beyond noise: ${evidence} does not clear ${marginText}`;
  return { ...fields, promote, verdict };
}

function intervalText(metric: MetricName, paired: PairedComparison): string {
  const [low, high] = paired.interval;
  return `${formatMargin(paired.confidence)} interval ${formatDifference(metric, low)} to ${formatDifference(metric, high)}, paired bootstrap of ${paired.rows} holdout rows, ${paired.resamples} resamples, seed ${paired.seed}`;
}

/**
 * A difference of metric values, signed: percent metrics in points with two decimals, scores bounded by
 * 1 with four decimals, errors in the target's units with three significant digits.
 */
function formatDifference(metric: MetricName, value: number, signed = true): string {
  const { unit, direction } = METRICS[metric];
  const magnitude = Math.abs(value);
  const digits =
    unit === 'percent'
      ? `${magnitude.toFixed(2)} points`
      : direction === 'higher'
        ? magnitude.toFixed(4)
        : String(Number(magnitude.toPrecision(3)));
  const sign = !signed || value === 0 ? '' : value < 0 ? '−' : '+';
  return `${sign}${digits}`;
}

function barText(metric: MetricName, bar: QualityBar): string {
  const { label, unit } = METRICS[metric];
  const suffix = unit === 'percent' ? '%' : '';
  const bounds = [
    ...(bar.min === undefined ? [] : [`${label} ≥ ${bar.min}${suffix}`]),
    ...(bar.max === undefined ? [] : [`${label} ≤ ${bar.max}${suffix}`]),
  ];
  return bounds.join(', ');
}

/**
 * A metric value for a sentence: percent metrics with two decimals and "%", scores bounded by 1 with
 * four decimals (0.9500), errors in the target's units with two decimals, or four below 1.
 */
function formatScore(metric: MetricName, value: number): string {
  const { unit, direction } = METRICS[metric];
  if (unit === 'percent') return `${value.toFixed(2)}%`;
  if (direction === 'higher' || Math.abs(value) < 1) return value.toFixed(4);
  return value.toFixed(2);
}

function formatNamedScore(metric: MetricName, value: number): string {
  return `${METRICS[metric].label} ${formatScore(metric, value)}`;
}

/** A margin as people write it: 0.01 → "1%", 0.005 → "0.5%". */
function formatMargin(margin: number): string {
  return `${Number((margin * 100).toFixed(2))}%`;
}

function joinWithAnd(parts: string[]): string {
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}
