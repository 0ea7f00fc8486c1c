import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lambdas/core/random.ts';
import {
  MAX_CURVE_POINTS,
  MAX_PLOTTED_ROWS,
  regressionChart,
  rocChart,
} from '../../../lambdas/core/report/holdout.ts';

/** A regression holdout of `rows` rows: predictions near the actual values. */
function regressionHoldout(rows: number) {
  const random = seededRandom(7);
  const actual = Array.from({ length: rows }, () => random() * 100);
  return { version: 3, actual, predicted: actual.map((y) => y + random() - 0.5), classes: [] };
}

/** Plotted points: circles with a tooltip (the legend's marker has none). */
const circles = (svg: string) => (svg.match(/<circle [^>]*><title>/g) ?? []).length;

describe('regressionChart', () => {
  it('draws every row of a small holdout and says nothing about sampling', () => {
    // Act
    const page = regressionChart(regressionHoldout(500), 'y', 'rmse', 1).value;
    // Assess
    expect(circles(page)).toBe(500);
    expect(page).not.toContain('holdout-sampled');
  });

  it('draws a bounded, fixed sample of a 250,000-row holdout and says so on the page', () => {
    // Prepare
    const holdout = regressionHoldout(250_000);
    // Act
    const page = regressionChart(holdout, 'y', 'rmse', 1).value;
    // Assess
    expect(circles(page)).toBeLessThanOrEqual(MAX_PLOTTED_ROWS);
    expect(circles(page)).toBeGreaterThan(MAX_PLOTTED_ROWS * 0.9);
    expect(page.length).toBeLessThan(1_000_000);
    expect(page).toMatch(
      /<p class="meta" id="holdout-sampled">The chart draws \d+ of the 250000 holdout rows \(one row in \d+, the same rows every time\)/,
    );
    expect(regressionChart(holdout, 'y', 'rmse', 1).value).toBe(page);
  });
});

describe('rocChart', () => {
  it('draws a curve of a quarter-million distinct scores through a bounded number of points', () => {
    // Prepare: every row its own score.
    const rows = 250_000;
    const random = seededRandom(11);
    // Overlapping scores, so the classes interleave and the curve turns at almost every row.
    const actual = Array.from({ length: rows }, (_, i) => i % 2);
    const predicted = actual.flatMap((label) => {
      const p = 0.1 * label + 0.45 * random() + 0.2;
      return [1 - p, p];
    });
    // Act
    const page = rocChart({ version: 2, actual, predicted, classes: [0, 1] }, 'label').value;
    // Assess
    // The longest path is the curve (the others are the guide and the axes).
    const paths = [...page.matchAll(/<path d="(M[^"]*)"/g)].map((match) => match[1]);
    const points = Math.max(...paths.map((d) => (d.match(/[ML]/g) ?? []).length));
    expect(points).toBeGreaterThan(MAX_CURVE_POINTS * 0.9);
    expect(points).toBeLessThanOrEqual(MAX_CURVE_POINTS);
    expect(page.length).toBeLessThan(500_000);
    expect(page).toContain(`Curves are drawn through at most ${MAX_CURVE_POINTS} of their points`);
  });
});
