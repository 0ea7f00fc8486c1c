import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { histogramPair, linearScale, niceTicks, xyChart } from '../../../lambdas/core/report/svg.ts';

describe('linearScale', () => {
  it('maps the domain onto the range, inverted ranges included', () => {
    const y = linearScale([0, 10], [300, 100]);
    expect([y(0), y(5), y(10)]).toEqual([300, 200, 100]);
  });

  it('throws a RangeError for an empty domain', () => {
    expect(() => linearScale([3, 3], [0, 1])).toThrow(RangeError);
  });
});

describe('niceTicks', () => {
  it('picks round steps of 1, 2 or 5 times a power of ten that cover the range', () => {
    expect(niceTicks(0.13, 0.91, 4)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(312, 622, 5)).toEqual([300, 350, 400, 450, 500, 550, 600, 650]);
    expect(niceTicks(2.6, 5.4, 5)).toEqual([2.5, 3, 3.5, 4, 4.5, 5, 5.5]);
  });

  it('widens a constant or vanishing range around its value', () => {
    expect(niceTicks(5, 5, 4)).toEqual([4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6]);
    expect(niceTicks(0, 5e-324, 4)).toEqual([-1, -0.5, 0, 0.5, 1]);
  });

  it('always covers [min, max] with ascending ticks', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (low, width) => {
          const ticks = niceTicks(low, low + width);
          // Ticks are rounded to 12 significant digits, so they may miss the data by that much.
          const slack = 1e-11 * Math.max(Math.abs(low), Math.abs(low + width));
          expect(ticks[0]).toBeLessThanOrEqual(low + slack);
          expect(ticks.at(-1)).toBeGreaterThanOrEqual(low + width - slack);
          expect(ticks.every((tick, i) => i === 0 || tick > ticks[i - 1])).toBe(true);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });

  it('throws a RangeError for reversed or non-finite bounds', () => {
    expect(() => niceTicks(2, 1)).toThrow(RangeError);
    expect(() => niceTicks(0, Number.NaN)).toThrow(RangeError);
  });
});

describe('xyChart', () => {
  const chart = () =>
    xyChart({
      id: 'test-chart',
      summary: 'A <summary> & more',
      series: [
        {
          name: 'actual',
          color: '#000',
          points: [
            { x: 0, y: 1 },
            { x: 1, y: 3 },
          ],
        },
        { name: 'dots', color: '#f00', kind: 'points', points: [{ x: 0.5, y: 2, title: '<b>2</b>' }] },
      ],
      x: { label: 'step' },
      y: { label: 'value' },
    }).value;

  it('is an accessible image: role, escaped aria-label and title', () => {
    const svg = chart();
    expect(svg).toMatch(/^<svg id="test-chart" class="chart" viewBox="0 0 1100 300" role="img"/);
    expect(svg).toContain('aria-label="A &lt;summary&gt; &amp; more"');
    expect(svg).toContain('<title>A &lt;summary&gt; &amp; more</title>');
  });

  it('draws one path per line series and one dot per point of a points series', () => {
    const svg = chart();
    expect(svg.match(/<path d="M[^"]*L[^"]*"/g)).toHaveLength(1);
    expect(svg.match(/<g class="series">/g)).toHaveLength(2);
    expect(svg.match(/<circle cx="[\d.]+" cy="[\d.]+" r="4"/g)).toHaveLength(1);
    expect(svg).toContain('<title>&lt;b&gt;2&lt;/b&gt;</title>');
  });

  it('throws a RangeError when there is nothing to draw', () => {
    expect(() =>
      xyChart({ id: 'x', summary: 's', series: [], x: { label: 'x' }, y: { label: 'y' } }),
    ).toThrow(RangeError);
  });
});

describe('histogramPair', () => {
  it('draws a reference and a current bar per bin, scaled to the tallest share', () => {
    // Act
    const svg = histogramPair({
      bins: ['a', 'b'],
      reference: [0.5, 0.5],
      current: [0.25, 0.75],
      summary: 'shares',
    }).value;
    // Assess: the tallest bar (0.75) spans the full 40 px between the 3 px margins.
    expect(svg.match(/<rect /g)).toHaveLength(4);
    expect(svg).toContain('height="40"');
    expect(svg).toContain('<title>b: reference 50%, current 75%</title>');
  });

  it('throws a RangeError when the shares do not match the bins', () => {
    expect(() => histogramPair({ bins: ['a'], reference: [1], current: [0.5, 0.5], summary: 's' })).toThrow(
      RangeError,
    );
  });
});
