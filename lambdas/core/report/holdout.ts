/**
 * Charts of a version's holdout predictions: actuals against forecasts over the holdout months, predicted
 * against actual for a regression, and for a classifier its ROC curve(s) with AUC and its confusion matrix.
 */
import { confusionMatrix, rocAuc, rocCurve } from '../metrics.ts';
import { formatMetric, formatNumber, metricLabel } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { type ChartSeries, COLORS, xyChart } from './svg.ts';
import type { ReportHoldout } from './types.ts';

/** At most this many one-vs-rest curves on a multi-class ROC chart; more would be unreadable. */
const MAX_ROC_CURVES = 6;
/**
 * At most this many holdout rows on the predicted-against-actual chart: a million-row dataset holds out
 * 250,000, an SVG of tens of megabytes that no browser draws usefully. Every k-th row is drawn, so the
 * same holdout always gives the same chart.
 */
export const MAX_PLOTTED_ROWS = 2_000;
/** At most this many points per ROC curve (which has one per distinct score, up to one per row). */
export const MAX_CURVE_POINTS = 1_000;
const CURVE_COLORS = [COLORS.blue, COLORS.orange, COLORS.green, COLORS.purple, COLORS.red, COLORS.grey];

function requireRegressionShape(holdout: ReportHoldout): void {
  if (holdout.actual.length === 0) throw new RangeError('holdout has no rows');
  if (holdout.predicted.length !== holdout.actual.length) {
    throw new RangeError(
      `holdout has ${holdout.actual.length} actual values but ${holdout.predicted.length} predictions`,
    );
  }
  if (holdout.labels && holdout.labels.length !== holdout.actual.length) {
    throw new RangeError(`holdout has ${holdout.actual.length} rows but ${holdout.labels.length} labels`);
  }
}

/** Around `count` evenly spread indices of `length` items, always the first and the last. */
function spreadIndices(length: number, count: number): number[] {
  if (length <= count) return Array.from({ length }, (_, i) => i);
  const step = Math.ceil((length - 1) / (count - 1));
  const indices = Array.from({ length: Math.floor((length - 1) / step) + 1 }, (_, i) => i * step);
  if (indices.at(-1) !== length - 1) indices.push(length - 1);
  return indices;
}

/**
 * Actual values and predictions over the holdout steps (x = the month when `labels` name them).
 * @throws {RangeError} when the arrays are empty or differ in length.
 */
export function forecastChart(
  holdout: ReportHoldout,
  target: string,
  metric: string,
  score: number | undefined,
): SafeHtml {
  requireRegressionShape(holdout);
  const name = (i: number) => holdout.labels?.[i] ?? `step ${i + 1}`;
  const point = (values: number[], what: string) =>
    values.map((y, x) => ({ x, y, title: `${name(x)}: ${what} ${formatNumber(y)}` }));
  const n = holdout.actual.length;
  const span = holdout.labels ? `${holdout.labels[0]} to ${holdout.labels[n - 1]}` : `${n} steps`;
  const scoreText = score === undefined ? '' : `; ${metricLabel(metric)} ${formatMetric(metric, score)}`;
  return xyChart({
    id: 'holdout-chart',
    summary: `Holdout of ${n} steps (${span}): actual values against version ${holdout.version}'s one-step forecasts${scoreText}.`,
    series: [
      { name: 'actual', color: COLORS.blue, points: point(holdout.actual, 'actual'), markers: n <= 60 },
      {
        name: `forecast (v${holdout.version})`,
        color: COLORS.orange,
        points: point(holdout.predicted, 'forecast'),
        markers: n <= 60,
        dashed: true,
      },
    ],
    x: {
      label: holdout.labels ? 'month' : 'holdout step',
      domain: [0, Math.max(1, n - 1)],
      ticks: spreadIndices(n, 8).map((i) => ({ value: i, label: name(i) })),
    },
    y: { label: target },
    height: 320,
  });
}

/**
 * Predicted against actual values of a regression's holdout, with the line of perfect predictions.
 * @throws {RangeError} when the arrays are empty or differ in length.
 */
export function regressionChart(
  holdout: ReportHoldout,
  target: string,
  metric: string,
  score: number | undefined,
): SafeHtml {
  requireRegressionShape(holdout);
  // A loop, not Math.min(...values): a large holdout would overflow the call stack.
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const values of [holdout.actual, holdout.predicted]) {
    for (const value of values) {
      if (value < low) low = value;
      if (value > high) high = value;
    }
  }
  const scoreText = score === undefined ? '' : `; ${metricLabel(metric)} ${formatMetric(metric, score)}`;
  const rows = holdout.actual.length;
  const plotted =
    rows <= MAX_PLOTTED_ROWS ? spreadIndices(rows, rows) : spreadIndices(rows, MAX_PLOTTED_ROWS - 1);
  const sampled = plotted.length < rows;
  const drawn = sampled ? ` (${plotted.length} of them drawn, one row in ${plotted[1]})` : '';
  const chart = xyChart({
    id: 'holdout-chart',
    summary: `Predicted against actual values of version ${holdout.version} on ${rows} holdout rows${drawn}${scoreText}.`,
    series: [
      {
        name: `holdout rows (v${holdout.version})`,
        color: COLORS.blue,
        kind: 'points',
        points: plotted.map((i) => ({
          x: holdout.actual[i],
          y: holdout.predicted[i],
          title: `actual ${formatNumber(holdout.actual[i])}, predicted ${formatNumber(holdout.predicted[i])}`,
        })),
      },
    ],
    guides: [{ from: [low, low], to: [high, high], label: 'perfect' }],
    x: { label: `actual ${target}` },
    y: { label: `predicted ${target}` },
    height: 340,
  });
  if (!sampled) return chart;
  return html`${chart}<p class="meta" id="holdout-sampled">The chart draws ${plotted.length} of the ${rows} holdout rows (one row in ${plotted[1]}, the same rows every time); the metrics are computed on all of them.</p>`;
}

/** The holdout's class probabilities as rows. @throws {RangeError} when the shapes disagree. */
function probabilityRows(holdout: ReportHoldout): number[][] {
  const k = holdout.classes.length;
  if (k < 2) throw new RangeError(`a classifier's holdout needs at least two classes, got ${k}`);
  if (holdout.actual.length === 0) throw new RangeError('holdout has no rows');
  if (holdout.predicted.length !== holdout.actual.length * k) {
    throw new RangeError(
      `holdout has ${holdout.actual.length} rows and ${k} classes, so ${holdout.actual.length * k} probabilities, but ${holdout.predicted.length} predictions`,
    );
  }
  return holdout.actual.map((_, row) => holdout.predicted.slice(row * k, (row + 1) * k));
}

/**
 * The ROC curve of a binary classifier (the larger class positive), or one-vs-rest curves of the first
 * classes of a multi-class one, each with its AUC; the chance diagonal as a guide.
 * @throws {RangeError} when the probabilities do not match rows × classes, or a class has no positive
 *   or no negative holdout row (its curve is undefined).
 */
export function rocChart(holdout: ReportHoldout, target: string): SafeHtml {
  const rows = probabilityRows(holdout);
  const { classes, actual } = holdout;
  const plotted = classes.length === 2 ? [1] : classes.slice(0, MAX_ROC_CURVES).map((_, c) => c);
  let thinned = false;
  const series: ChartSeries[] = plotted.map((c, i) => {
    const scores = rows.map((row) => row[c]);
    const curve = rocCurve(actual, scores, classes[c]);
    if (curve.fpr.length > MAX_CURVE_POINTS) thinned = true;
    const auc = rocAuc(
      actual.map((label) => (label === classes[c] ? 1 : 0)),
      scores,
    );
    return {
      name: `${target} = ${classes[c]} (AUC ${formatNumber(auc, 3)})`,
      color: CURVE_COLORS[i],
      // Straight segments between the curve's points, as scikit-learn's RocCurveDisplay draws them: tied
      // scores move both rates at once, which a step would misdraw. A long curve is drawn through every
      // k-th point (its ends kept): both rates only grow along it, so the line stays within a step.
      points: spreadIndices(curve.fpr.length, Math.min(curve.fpr.length, MAX_CURVE_POINTS - 1)).map((p) => ({
        x: curve.fpr[p],
        y: curve.tpr[p],
      })),
    };
  });
  const overall = rocAuc(actual, rows, classes);
  const which = classes.length === 2 ? `positive class ${target} = ${classes[1]}` : 'one-vs-rest per class';
  const shown =
    classes.length > MAX_ROC_CURVES ? ` (first ${MAX_ROC_CURVES} of ${classes.length} classes)` : '';
  const chart = xyChart({
    id: 'roc',
    summary: `ROC curve of version ${holdout.version} on ${actual.length} holdout rows, ${which}${shown}: AUC ${formatNumber(overall, 4)}.`,
    series,
    guides: [{ from: [0, 0], to: [1, 1], label: 'chance' }],
    x: { label: 'false positive rate', domain: [0, 1] },
    y: { label: 'true positive rate', domain: [0, 1] },
    width: 560,
    height: 440,
  });
  if (!thinned) return chart;
  return html`${chart}<p class="meta" id="roc-sampled">Curves are drawn through at most ${MAX_CURVE_POINTS} of their points (evenly spaced, ends kept); the AUC is computed on all of them.</p>`;
}

/**
 * The confusion matrix (rows: actual class, columns: predicted class = the most probable) as a table,
 * each cell shaded by its share of the actual class: green on the diagonal, red off it.
 * @throws {RangeError} when the probabilities do not match rows × classes.
 */
export function confusionTable(holdout: ReportHoldout, target: string): SafeHtml {
  const rows = probabilityRows(holdout);
  const { classes } = holdout;
  const predicted = rows.map((row) => classes[row.indexOf(Math.max(...row))]);
  const matrix = confusionMatrix(holdout.actual, predicted, classes);
  const correct = matrix.counts.reduce((sum, row, i) => sum + row[i], 0);
  const accuracy = correct / holdout.actual.length;
  const body = matrix.counts.map((row, i) => {
    const total = row.reduce((sum, count) => sum + count, 0);
    const cells = row.map((count, j) => {
      const share = total === 0 ? 0 : count / total;
      const tint = i === j ? '26, 127, 55' : '207, 34, 46';
      const alpha = count === 0 ? 0.04 : 0.1 + 0.4 * share;
      return html`<td style="background: rgba(${tint}, ${alpha.toFixed(2)})" title="actual ${classes[i]}, predicted ${classes[j]}: ${count} of ${total}">${count}<div class="share">${total === 0 ? '—' : `${formatNumber(share * 100, 3)}%`}</div></td>`;
    });
    return html`<tr><th scope="row">actual ${classes[i]}</th>${cells}</tr>`;
  });
  return html`<table id="confusion" class="confusion"><caption>Confusion matrix of version ${holdout.version}: ${correct} of ${holdout.actual.length} holdout rows right (accuracy ${formatNumber(accuracy, 3)}). Rows: actual ${target}; columns: predicted.</caption>
<thead><tr><td></td>${classes.map((label) => html`<th scope="col">predicted ${label}</th>`)}</tr></thead>
<tbody>${body}</tbody></table>`;
}
