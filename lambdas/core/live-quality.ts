/**
 * Live quality from delayed labels: how wrong one served prediction turned out, and how that compares with
 * the version's holdout score. The quality alarm averages the ratio over a window and rolls the version
 * back when it is worse than the spec's `monitoring.qualityMultiple` (e.g. live error twice the holdout's).
 *
 * Regression and forecasts measure the absolute percentage error against the holdout MAPE; classifiers
 * measure being wrong (0 or 1) against the holdout error rate (1 − accuracy). Both are defined for a single
 * labelled prediction, so they can be averaged over any window of feedback.
 */

/** The smallest holdout error a ratio divides by: a perfect holdout would make any live error infinite. */
export const HOLDOUT_ERROR_FLOOR = { percent: 0.1, rate: 0.01 } as const;

/**
 * The largest live error or ratio (2^53 − 1): past it a number says no more than that the prediction was
 * astronomically wrong. A forecast near the largest double, or a label of 0, makes errors that overflow
 * to Infinity, which JSON answers as null and the metrics leave out; capped, the alarm, the answer and the
 * live sums (stored capped the same) all count it.
 */
export const LIVE_ERROR_CAP = Number.MAX_SAFE_INTEGER;

const capped = (value: number) => Math.min(value, LIVE_ERROR_CAP);

export interface LiveQuality {
  /** Absolute percentage error (regression) or 1 for a wrong class, 0 for a right one. */
  error: number;
  /** `error` over the version's holdout error of the same kind. */
  ratio: number;
  measure: 'ape' | 'misclassified';
}

/**
 * @param prediction - what the version answered: `value` (regression) or `label` (classification)
 * @param actual - the label that arrived later
 * @param holdout - the version's holdout metrics (`mape` for regression, `accuracy` for classification)
 * @throws RangeError when the prediction has neither a value nor a label, or the actual is not finite
 * @example liveQuality({ value: 110 }, 100, { mape: 5 }) // { error: 10, ratio: 2, measure: 'ape' }
 */
export function liveQuality(
  prediction: { value?: number; label?: number },
  actual: number,
  holdout: Record<string, number>,
): LiveQuality {
  if (!Number.isFinite(actual)) throw new RangeError(`actual must be a finite number, got ${actual}`);
  if (prediction.label !== undefined) {
    const error = prediction.label === actual ? 0 : 1;
    const holdoutError = Math.max(1 - (holdout.accuracy ?? 0), HOLDOUT_ERROR_FLOOR.rate);
    return { error, ratio: error / holdoutError, measure: 'misclassified' };
  }
  if (prediction.value === undefined) throw new RangeError('the prediction has neither a value nor a label');
  // As scikit-learn's MAPE: a zero actual is divided by machine epsilon rather than by zero.
  const error = capped(
    (100 * Math.abs(actual - prediction.value)) / Math.max(Math.abs(actual), Number.EPSILON),
  );
  const holdoutError = Math.max(holdout.mape ?? 0, HOLDOUT_ERROR_FLOOR.percent);
  return { error, ratio: capped(error / holdoutError), measure: 'ape' };
}

/**
 * The classes a label of a classifier's prediction must be one of (the labels its probabilities are
 * given for), or undefined for a regression or forecast, whose label may be any finite number. Any other
 * label would count as a misclassification against the quality alarm, though it names no class at all.
 * @example labelClasses({ label: 1, probabilities: { '0': 0.2, '1': 0.8 } }) // [0, 1]
 */
export function labelClasses(prediction: { probabilities?: Record<string, number> }): number[] | undefined {
  return prediction.probabilities === undefined
    ? undefined
    : Object.keys(prediction.probabilities).map(Number);
}

/** What serves a model now: its production version and a baking candidate (canary or shadow). */
export interface ServingPointers {
  production?: { version: number };
  canary?: { version: number; mode?: 'canary' | 'shadow' };
}

/**
 * Whether a label of a prediction that `version` made in `role` counts against that role's alarm: only
 * while the version still holds the role. Labels of a version that no longer serves (rolled back, or
 * production before a promotion) would otherwise count against the version serving now.
 * @example holdsRole({ production: { version: 12 } }, 'production', 1) // false
 */
export function holdsRole(
  pointers: ServingPointers,
  role: 'production' | 'canary' | 'shadow',
  version: number,
): boolean {
  if (role === 'production') return pointers.production?.version === version;
  return pointers.canary?.version === version && (pointers.canary.mode ?? 'canary') === role;
}
