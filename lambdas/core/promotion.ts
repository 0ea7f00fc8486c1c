/**
 * The promotion rule: should a freshly trained candidate replace the production champion? Both were
 * scored by the caller on the same holdout; this module only compares numbers and explains the outcome
 * in one sentence for the registry's audit trail.
 */

import { isMetricName, METRICS, type MetricName } from './metrics.ts';

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
   * Minimum relative improvement over the champion, in [0, 1): 0.01 asks for 1% better.
   * @default 0.01
   */
  margin?: number;
  /**
   * Absolute bars the candidate must pass whatever the champion scores.
   * @default {}
   */
  bars?: QualityBars;
  /** The candidate's scores on the holdout; must include the primary metric and every barred metric. */
  candidate: MetricScores;
  /** The production model's scores on the same holdout; absent for the first model. */
  champion?: MetricScores;
  /**
   * The candidate is a refresh: the champion's own engine, parameters and featurizer, whose served model
   * was refit on rows the champion never learned. A refresh only has to be no worse on the holdout
   * (a tie is expected: judged on rows neither learned, it may be the champion's very model).
   * @default false
   */
  refresh?: boolean;
}

/** The outcome of {@link decidePromotion}. */
export interface PromotionDecision {
  promote: boolean;
  /** One sentence with the numbers, for the registry and the run report. */
  reason: string;
  /** The candidate's value of the primary metric. */
  candidateScore: number;
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
 * 1. A candidate failing any absolute quality bar is never promoted.
 * 2. Without a champion (the first model), a candidate that passes the bars is promoted.
 * 3. A refresh (`refresh`: the champion's own configuration refit on newer rows) is promoted when it is
 *    no worse than the champion on the primary metric.
 * 4. Otherwise the candidate must beat the champion on the primary `metric` by at least `margin`,
 *    relative, and strictly: equal scores keep the champion, even with `margin` 0.
 *    - Lower-is-better metrics (MAE, RMSE, MAPE, sMAPE, log loss): candidate ≤ champion·(1 − margin).
 *      With margin 0.05, a champion RMSE of 20 is beaten by 19 or less.
 *    - Higher-is-better metrics are all bounded by 1 (R², accuracy, precision, recall, F1, AUC), so
 *      "1% better" means 1% less of the remaining error: (1 − candidate) ≤ (1 − champion)·(1 − margin).
 *      With margin 0.1, a champion AUC of 0.90 (0.10 short of perfect) is beaten by 0.91 or more, and
 *      a champion AUC of 0.99 by 0.991 or more — the closer to perfect, the smaller the step needed,
 *      unlike a plain ratio that would demand an impossible 1.089 from 0.99.
 *    A champion with a perfect score (0 error, or 1) cannot be beaten.
 *
 * @example
 * decidePromotion({ metric: 'mape', bars: { mape: { max: 10 } }, candidate: { mape: 2.41 }, champion: { mape: 3.1 } })
 * // { promote: true, candidateScore: 2.41, championScore: 3.1, improvement: 0.2226…,
 * //   reason: 'candidate MAPE 2.41% beats champion 3.10% by 22.3% (margin 1%); passes bars (MAPE ≤ 10%)' }
 * @throws {RangeError} when `margin` is not in [0, 1), `metric` or a barred metric is unknown, a bar is
 *   empty, not finite or has min > max, or a needed score is missing, not finite or out of its range
 *   (below 0 for lower-is-better metrics, above 1 for higher-is-better ones)
 */
export function decidePromotion(input: PromotionInput): PromotionDecision {
  const { metric, margin = DEFAULT_MARGIN, bars = {}, candidate, champion, refresh = false } = input;
  assertMargin(margin);
  if (!isMetricName(metric)) {
    throw new RangeError(`decidePromotion: unknown metric '${metric}'`);
  }
  const candidateScore = requireScore('candidate', candidate, metric);
  const checks = barChecks(bars, candidate);
  const comparison =
    champion &&
    compareWithChampion(metric, candidateScore, requireScore('champion', champion, metric), margin);
  const championFields = comparison && {
    championScore: comparison.championScore,
    ...(comparison.improvement === undefined ? {} : { improvement: comparison.improvement }),
  };
  const candidateText = `candidate ${formatNamedScore(metric, candidateScore)}`;

  const failures = checks.filter((check) => !check.passed);
  if (failures.length > 0) {
    const failed = failures.map((check) => `${check.text} (${formatNamedScore(check.metric, check.value)})`);
    const despite = comparison?.beats
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
  if (refresh && comparison.tiesOrBeats) {
    return {
      promote: true,
      reason: `${candidateText} ${comparison.verdict}; a refresh (the champion's parameters, refit on newer rows) is promoted when no worse; ${barsText}`,
      candidateScore,
      ...championFields,
    };
  }
  const promote = comparison.beats && comparison.meetsMargin;
  return {
    promote,
    reason: promote
      ? `${candidateText} ${comparison.verdict} (margin ${formatMargin(margin)}); ${barsText}`
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
  /** Strictly better than the champion. */
  beats: boolean;
  /** At least as good as the champion. */
  tiesOrBeats: boolean;
  /** Better by at least the margin. */
  meetsMargin: boolean;
  /** The comparison in words, to follow "candidate <METRIC> <value> ". */
  verdict: string;
}

function compareWithChampion(
  metric: MetricName,
  candidateScore: number,
  championScore: number,
  margin: number,
): Comparison {
  const { direction } = METRICS[metric];
  // Both directions reduce to an error that is 0 at perfection: the value itself for lower-is-better
  // metrics, the distance to 1 for the higher-is-better ones (all bounded by 1).
  const errorOf = (score: number) => (direction === 'lower' ? score : 1 - score);
  const candidateError = errorOf(candidateScore);
  const championError = errorOf(championScore);
  const champion = formatScore(metric, championScore);
  if (championError === 0) {
    return {
      championScore,
      beats: false,
      tiesOrBeats: candidateError === 0,
      meetsMargin: false,
      verdict:
        candidateError === 0
          ? `matches champion ${champion}, a perfect score`
          : `cannot beat champion ${champion}, a perfect score`,
    };
  }
  const improvement = (championError - candidateError) / championError;
  const beats = candidateError < championError;
  const meetsMargin = candidateError <= championError * (1 - margin);
  const relative = `${formatPercent(Math.abs(improvement))}${direction === 'higher' ? ' of the remaining error' : ''}`;
  const verdict = !beats
    ? candidateError === championError
      ? `ties champion ${champion}`
      : `is worse than champion ${champion}`
    : meetsMargin
      ? `beats champion ${champion} by ${relative}`
      : `beats champion ${champion} by only ${relative}, less than the ${formatMargin(margin)} margin`;
  return {
    championScore,
    improvement,
    beats,
    tiesOrBeats: candidateError <= championError,
    meetsMargin,
    verdict,
  };
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

function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/** A margin as people write it: 0.01 → "1%", 0.005 → "0.5%". */
function formatMargin(margin: number): string {
  return `${Number((margin * 100).toFixed(2))}%`;
}

function joinWithAnd(parts: string[]): string {
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}
