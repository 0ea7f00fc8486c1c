import { describe, expect, it } from 'vitest';
import {
  formatDataset,
  formatDuration,
  formatElapsed,
  formatMetric,
  formatNumber,
  formatParams,
  formatPValue,
  formatStepTimes,
  formatTime,
  higherIsBetter,
  metricLabel,
} from '../../../lambdas/core/report/format.ts';

describe('formatNumber', () => {
  it.each([
    [0.912345, '0.9123'],
    [2.5, '2.5'],
    [123456.7, '123,457'],
    [0, '0'],
    [0.0000123, '1.2e-5'],
    [-1.23456, '-1.235'],
  ])('shows %d as %s', (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });

  it('shows a missing or non-finite value as an em dash', () => {
    expect(
      [null, undefined, Number.NaN, Number.POSITIVE_INFINITY].map((value) => formatNumber(value)),
    ).toEqual(['—', '—', '—', '—']);
  });
});

describe('formatPValue', () => {
  it('shows two significant digits, scientific below 0.001', () => {
    expect([0.04321, 0.5, 1.2e-9, 0, null].map((value) => formatPValue(value))).toEqual([
      '0.043',
      '0.5',
      '1.2e-9',
      '0',
      '—',
    ]);
  });
});

describe('metrics', () => {
  it('labels metrics from the catalogue and knows their direction', () => {
    expect([metricLabel('mape'), metricLabel('r2'), metricLabel('custom')]).toEqual(['MAPE', 'R²', 'custom']);
    expect([higherIsBetter('auc'), higherIsBetter('rmse'), higherIsBetter('custom')]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('adds the percent sign to percent metrics only', () => {
    expect(formatMetric('mape', 4.2531)).toBe('4.253%');
    expect(formatMetric('auc', 0.99123)).toBe('0.9912');
    expect(formatMetric('mape', undefined)).toBe('—');
  });
});

describe('times', () => {
  it('shows ISO times in UTC to the minute, and unparsable ones as they are', () => {
    expect(formatTime('2026-01-01T08:05:09.000Z')).toBe('2026-01-01 08:05 UTC');
    expect(formatTime('not a time')).toBe('not a time');
    expect(formatTime(undefined)).toBe('—');
  });

  it.each([
    [950, '950 ms'],
    [2500, '2.5 s'],
    [75_000, '1 min 15 s'],
    [3_780_000, '1 h 3 min'],
    [-1, '—'],
  ])('shows %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('lists the steps of a run with their durations in the order they started, one under way as …', () => {
    expect(formatStepTimes({ validate: { seconds: 0.4 }, merge: { seconds: 1.25 }, search: {} })).toBe(
      'validate 400 ms · merge 1.25 s · search …',
    );
    expect(formatStepTimes({})).toBe('—');
    expect(formatStepTimes(undefined)).toBe('—');
  });

  it('measures a run from its start to its end, if it ended', () => {
    expect(formatElapsed('2026-01-01T10:00:00Z', '2026-01-01T10:01:15Z')).toBe('1 min 15 s');
    expect(formatElapsed('2026-01-01T10:00:00Z', undefined)).toBe('—');
  });
});

describe('formatDataset', () => {
  it('says what the history window left out and how many drops the lineage holds', () => {
    const history = { window: { rows: 1_000_000 }, outOfWindow: 250_000, totalDrops: 37 };
    expect(formatDataset({ rows: 1_000_000, drops: { count: 5 }, history })).toBe(
      '1,000,000 rows, 250,000 older left out by the 1,000,000-row window · 5 drops merged, 37 in all',
    );
    expect(
      formatDataset({
        rows: 144,
        drops: { count: 1 },
        history: { window: { months: 1200 }, outOfWindow: 0, totalDrops: 2 },
      }),
    ).toBe('144 months · 1 drop merged, 2 in all');
    expect(formatDataset(undefined)).toBe('—');
  });
});

describe('formatParams', () => {
  it('lists parameters sorted by name, skipping unset ones', () => {
    expect(formatParams({ nTrees: 300, maxFeatures: 'sqrt', maxDepth: 0, seed: undefined })).toBe(
      'maxDepth 0 · maxFeatures sqrt · nTrees 300',
    );
    expect(formatParams({})).toBe('defaults');
  });
});
