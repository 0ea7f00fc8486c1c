import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type DatasetDrift, detectDrift, RECORDED_COLUMNS, recordedDrift } from '#core/drift.ts';
import {
  binShares,
  populationStabilityIndex,
  quantileBinEdges,
} from '#core/stats/population-stability-index.ts';
import type { Column, Table } from '#core/types.ts';
import { expectClose } from './stats/expect-close.ts';
import { integers, shuffled } from './stats/lcg.ts';

function numeric(name: string, values: readonly number[]): Column {
  return { name, kind: 'numeric', values: Float64Array.from(values) };
}

function text(name: string, values: string[]): Column {
  return { name, kind: 'text', values };
}

function table(...columns: Column[]): Table {
  return { columns, rowCount: columns[0].values.length };
}

function repeat(counts: Record<string, number>): string[] {
  return Object.entries(counts).flatMap(([label, count]) => Array<string>(count).fill(label));
}

// The CSV module is someone else's; plain split is enough for two columns without quotes.
const rows = readFileSync(new URL('../../data/air-passengers.csv', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split(','));
const months = rows.map(([month]) => month);
const passengers = rows.map(([, value]) => Number(value));

function airPassengers(from: string, to: string): Table {
  const picked = rows.filter(([month]) => month >= from && month < to);
  return table(
    text(
      'month',
      picked.map(([month]) => month),
    ),
    numeric(
      'value',
      picked.map(([, value]) => Number(value)),
    ),
  );
}

/*
 * References: /usr/bin/python3 with the lcg.ts twins (lcg, integers, shuffled) and psi_numeric from
 * population-stability-index.test.ts, on the same CSV:
 *
 * rows = [l.strip().split(',') for l in open('data/air-passengers.csv').read().strip().split('\n')[1:]]
 * months = [r[0] for r in rows]; values = [float(r[1]) for r in rows]
 * early = [v for m, v in zip(months, values) if m < '1955']; late = [v for m, v in zip(months, values) if m >= '1955']
 * s = shuffled(42, values); a, b = s[:72], s[72:]
 */
describe('detectDrift on AirPassengers', () => {
  it('reports drift between 1949–1954 and 1955–1960', () => {
    // Prepare
    const reference = airPassengers('1949', '1955');
    const current = airPassengers('1955', '1961');
    // Act
    const report = detectDrift(reference, current, { columns: ['value'] });
    // Assess
    const [value] = report.columns;
    expect(report).toMatchObject({ status: 'drift', drifted: true, share: 1, driftedColumns: ['value'] });
    expect(value).toMatchObject({
      column: 'value',
      kind: 'numeric',
      test: 'ks',
      threshold: 0.05,
      verdict: 'drift',
      severity: 'high',
      referenceRows: 72,
      currentRows: 72,
    });
    // stats.ks_2samp(early, late) => statistic=0.9166666666666666, pvalue=1.5056433423673316e-32
    expectClose(value.statistic!, 0.9166666666666666, 1e-15);
    expectClose(value.pValue!, 1.5056433423673316e-32, 1e-9);
    // psi_numeric(early, late)[3] => 7.496853955330018
    expectClose(value.psi!, 7.496853955330018, 1e-12);
    expect(value.reason).toBe('KS p=1.5e-32 < 0.05: distribution shifted (D=0.92, high)');
  });

  it('reports no drift between two halves of a seeded shuffle of the whole series', () => {
    // Prepare
    const mixed = shuffled(42, passengers);
    const reference = table(numeric('value', mixed.slice(0, 72)));
    const current = table(numeric('value', mixed.slice(72)));
    // Act
    const report = detectDrift(reference, current);
    // Assess
    const [value] = report.columns;
    expect(report).toMatchObject({ status: 'no_drift', drifted: false, share: 0, driftedColumns: [] });
    expect(value).toMatchObject({ test: 'ks', verdict: 'no_drift', drifted: false, severity: 'low' });
    // stats.ks_2samp(a, b) => statistic=0.09722222222222222, pvalue=0.888835081546934
    expectClose(value.statistic!, 0.09722222222222222, 1e-15);
    expectClose(value.pValue!, 0.888835081546934, 1e-9);
    expect(value.reason).toBe('KS p=0.89 >= 0.05: no significant shift (D=0.097, low)');
  });

  it('reports insufficient data for 5 rows against 5 rows', () => {
    // Act
    const report = detectDrift(airPassengers('1949-01', '1949-06'), airPassengers('1960-01', '1960-06'), {
      columns: ['value'],
    });
    // Assess
    expect(report).toMatchObject({
      status: 'insufficient_data',
      drifted: false,
      share: 0,
      driftedColumns: [],
    });
    expect(report.columns[0]).toMatchObject({
      verdict: 'insufficient_data',
      drifted: false,
      statistic: null,
      pValue: null,
      psi: null,
      distribution: null,
      referenceRows: 5,
      currentRows: 5,
    });
    expect(report.summary).toMatch(/^Insufficient data/);
  });

  it('names at most 10 drifted columns in its summary and keeps at most 100 in a run record, drifted first', () => {
    // Prepare: 2,000 columns with long names; the first 1,500 shift by 40 (drift), the rest do not
    const name = (i: number) => `column_${i}_${'x'.repeat(60)}`;
    const base = Array.from({ length: 50 }, (_, i) => i);
    const columns = (shift: number) =>
      Array.from({ length: 2000 }, (_, i) =>
        numeric(
          name(i),
          base.map((v) => v + (i < 1500 ? shift : 0)),
        ),
      );
    // Act
    const report = detectDrift(table(...columns(0)), table(...columns(40)));
    const recorded = recordedDrift(report);
    // Assess
    expect(report.driftedColumns).toHaveLength(1500);
    expect(report.summary).toBe(
      `Dataset drift: 1500 of 2000 columns drifted (75% >= 50%): ${Array.from({ length: 10 }, (_, i) => name(i)).join(', ')} and 1490 more.`,
    );
    expect(recorded.columns).toHaveLength(RECORDED_COLUMNS);
    expect(recorded.columns.every((column) => column.drifted)).toBe(true);
    expect(recorded.driftedColumns).toEqual(report.driftedColumns.slice(0, RECORDED_COLUMNS));
    expect(recorded.omittedColumns).toBe(1900);
    expect(JSON.stringify({ summary: report.summary, ...recorded }).length).toBeLessThan(100 * 1024);
  });

  it('records every column of a narrow report, the drifted ones first', () => {
    const report = detectDrift(airPassengers('1949', '1955'), airPassengers('1955', '1961'));
    expect(recordedDrift(report, 1)).toMatchObject({ driftedColumns: ['month'], omittedColumns: 1 });
    expect(recordedDrift(report).omittedColumns).toBe(0);
  });

  it('compares every shared column by default: month values never repeat, so month drifts as a category', () => {
    // Act
    const report = detectDrift(airPassengers('1949', '1955'), airPassengers('1955', '1961'));
    // Assess: all 72 current months are new categories; chi-square is infinite
    const month = report.columns.find((column) => column.column === 'month')!;
    expect(report.columns.map((column) => column.column)).toEqual(['month', 'value']);
    expect(month).toMatchObject({
      kind: 'categorical',
      test: 'chisquare',
      statistic: null,
      pValue: 0,
      drifted: true,
    });
    expect(month.reason).toMatch(/categories unseen in the reference appeared/);
    expect(report.summary).toBe('Dataset drift: 2 of 2 columns drifted (100% >= 50%): month, value.');
  });

  it('gives a JSON-serializable report that survives a round trip unchanged', () => {
    // Prepare
    const report = detectDrift(airPassengers('1949', '1955'), airPassengers('1955', '1961'));
    // Act
    const roundTrip = JSON.parse(JSON.stringify(report)) as DatasetDrift;
    // Assess
    expect(roundTrip).toEqual(report);
    const value = report.columns[1];
    expect(Array.isArray(value.distribution!.reference)).toBe(true);
    expect(value.distribution!.edges.every(Number.isFinite)).toBe(true);
    expect(value.distribution!.edges[0]).toBe(104); // the smallest value of either sample (1949-11)
    expect(value.distribution!.reference.reduce((sum, share) => sum + share, 0)).toBeCloseTo(1, 12);
  });
});

describe('detectDrift with per-column overrides', () => {
  it('uses the normed Wasserstein distance when asked', () => {
    // Act
    const report = detectDrift(airPassengers('1949', '1955'), airPassengers('1955', '1961'), {
      columns: ['value'],
      perColumn: { value: { test: 'wasserstein' } },
    });
    // Assess
    const [value] = report.columns;
    expect(value).toMatchObject({ test: 'wasserstein', pValue: null, threshold: 0.1, verdict: 'drift' });
    // stats.wasserstein_distance(early, late) / max(np.std(early), 0.001) => 4.111974890864215
    expectClose(value.statistic!, 4.111974890864215, 1e-12);
    expect(value.reason).toBe('normed Wasserstein 4.1 >= 0.1: distribution shifted (KS D=0.92, high)');
  });

  it('uses PSI with the threshold given for the column', () => {
    // Prepare: psi_numeric(a, b)[3] => 0.27322943430956903 (PSI is noisy on 72 values)
    const mixed = shuffled(42, passengers);
    const reference = table(numeric('value', mixed.slice(0, 72)));
    const current = table(numeric('value', mixed.slice(72)));
    // Act
    const strict = detectDrift(reference, current, { perColumn: { value: { test: 'psi' } } });
    const lenient = detectDrift(reference, current, {
      perColumn: { value: { test: 'psi', threshold: 0.3 } },
    });
    // Assess
    expectClose(strict.columns[0].statistic!, 0.27322943430956903, 1e-12);
    expect(strict.columns[0]).toMatchObject({ test: 'psi', threshold: 0.2, drifted: true });
    expect(lenient.columns[0]).toMatchObject({
      test: 'psi',
      threshold: 0.3,
      drifted: false,
      verdict: 'no_drift',
    });
  });

  it('rejects a numeric test on a text column and a threshold outside the test range', () => {
    const plans = table(text('plan', repeat({ a: 10, b: 10 })));
    expect(() => detectDrift(plans, plans, { perColumn: { plan: { test: 'ks' } } })).toThrow(
      /needs numeric values/,
    );
    const values = table(numeric('value', passengers));
    expect(() => detectDrift(values, values, { perColumn: { value: { test: 'ks', threshold: 2 } } })).toThrow(
      /perColumn.value.threshold/,
    );
  });
});

/*
 * Evidently's chi-square, in /usr/bin/python3:
 *
 * def evidently_chi(ref, cur):
 *     keys = sorted(set(ref) | set(cur)); k = len(cur) / len(ref)
 *     return stats.chisquare([cur.count(x) for x in keys], [ref.count(x) * k for x in keys])
 * ref = ['basic'] * 50 + ['pro'] * 30 + ['team'] * 20
 */
describe('detectDrift on categorical columns', () => {
  const reference = table(text('plan', repeat({ basic: 50, pro: 30, team: 20 })));

  it('reports no drift when the current shares match the reference', () => {
    // Act: evidently_chi(ref, ['basic'] * 26 + ['pro'] * 14 + ['team'] * 10) => 0.10666666666666666, p=0.9480639384933955
    const report = detectDrift(reference, table(text('plan', repeat({ basic: 26, pro: 14, team: 10 }))));
    // Assess
    const [plan] = report.columns;
    expect(plan).toMatchObject({
      kind: 'categorical',
      test: 'chisquare',
      verdict: 'no_drift',
      severity: 'low',
    });
    expectClose(plan.statistic!, 0.10666666666666666, 1e-14);
    expectClose(plan.pValue!, 0.9480639384933955, 1e-10);
    expect(plan.distribution).toEqual({
      edges: [],
      categories: ['basic', 'pro', 'team'],
      reference: [0.5, 0.3, 0.2],
      current: [0.52, 0.28, 0.2],
    });
  });

  it('reports drift and a high severity when the shares move', () => {
    // Act: evidently_chi(ref, ['basic'] * 10 + ['pro'] * 15 + ['team'] * 25) => 31.5, p=1.4449802461092456e-07
    const report = detectDrift(
      reference,
      table(text('plan', repeat({ basic: 10, pro: 15, team: 25, '': 4 }))),
    );
    // Assess: the 4 missing values are dropped; TVD = ½(0.3 + 0 + 0.3) = 0.3
    const [plan] = report.columns;
    expect(plan).toMatchObject({ verdict: 'drift', severity: 'high', currentRows: 50 });
    expectClose(plan.statistic!, 31.5, 1e-14);
    expectClose(plan.pValue!, 1.4449802461092456e-7, 1e-10);
    expect(plan.reason).toBe('chi-square p=1.4e-7 < 0.05: category frequencies changed (TVD=0.3, high)');
  });

  it('uses Jensen–Shannon above 1000 reference rows', () => {
    // Prepare
    const big = table(text('plan', repeat({ basic: 600, pro: 300, team: 300 })));
    const drop = table(text('plan', repeat({ basic: 300, pro: 300, team: 300, enterprise: 100 })));
    // Act
    const [plan] = detectDrift(big, drop).columns;
    // Assess: distance.jensenshannon([600, 0, 300, 300], [300, 100, 300, 300]) => 0.22263603512142915
    expect(plan).toMatchObject({ test: 'jensenshannon', pValue: null, threshold: 0.1, drifted: true });
    expectClose(plan.statistic!, 0.22263603512142915, 1e-14);
  });

  it('treats a numeric column with at most 5 distinct values as categorical', () => {
    // Act: evidently_chi(integers(50, 200, 3), integers(51, 150, 3)) => 5.485558027437894, p=0.06439115411822938
    const report = detectDrift(
      table(numeric('rooms', integers(50, 200, 3))),
      table(numeric('rooms', integers(51, 150, 3))),
    );
    // Assess
    const [rooms] = report.columns;
    expect(rooms).toMatchObject({ kind: 'categorical', test: 'chisquare', drifted: false });
    expect(rooms.distribution!.categories).toEqual(['0', '1', '2']);
    expectClose(rooms.pValue!, 0.06439115411822938, 1e-10);
  });
});

describe('detectDrift on a dataset', () => {
  it('drifts when the share of drifted columns reaches the threshold, counting only columns with enough data', () => {
    // Prepare: value drifts, plan does not, sparse has too few values
    const early = airPassengers('1949', '1955');
    const late = airPassengers('1955', '1961');
    const sparse = (values: number[]) =>
      numeric('sparse', [...values, ...Array(72 - values.length).fill(Number.NaN)]);
    const reference = table(early.columns[1], text('plan', repeat({ a: 36, b: 36 })), sparse([1, 2, 3]));
    const current = table(late.columns[1], text('plan', repeat({ a: 35, b: 37 })), sparse([1, 2, 3]));
    // Act
    const atHalf = detectDrift(reference, current);
    const aboveHalf = detectDrift(reference, current, { share: 0.6 });
    // Assess
    expect(atHalf).toMatchObject({ status: 'drift', share: 0.5, threshold: 0.5, driftedColumns: ['value'] });
    expect(atHalf.columns.map((column) => column.verdict)).toEqual([
      'drift',
      'no_drift',
      'insufficient_data',
    ]);
    expect(atHalf.summary).toBe(
      'Dataset drift: 1 of 2 columns drifted (50% >= 50%): value. 1 column skipped for too little data.',
    );
    expect(aboveHalf).toMatchObject({ status: 'no_drift', drifted: false, share: 0.5, threshold: 0.6 });
  });

  it('rejects invalid options and columns that are not in both tables', () => {
    const values = table(numeric('value', passengers));
    expect(() => detectDrift(values, values, { alpha: 0 })).toThrow(/alpha/);
    expect(() => detectDrift(values, values, { share: 1.5 })).toThrow(/share/);
    expect(() => detectDrift(values, values, { minRows: 0.5 })).toThrow(/minRows/);
    expect(() => detectDrift(values, values, { columns: ['price'] })).toThrow(/"price"/);
    expect(() => detectDrift(values, table(text('value', months)))).toThrow(
      /numeric in the reference but text/,
    );
    expect(() => detectDrift(values, table(numeric('other', passengers)))).toThrow(/share no column/);
  });
});

describe('PSI only where the sample supports it', () => {
  /*
   * Two samples of 25 from one normal distribution, drawn and rounded by
   *   python3 -c "import numpy as np; g=np.random.default_rng(651); print(list(np.round(g.normal(0,1,25),2)), list(np.round(g.normal(0,1,25),2)))"
   * scipy.stats.ks_2samp(a, b, method='exact').pvalue => 0.995531553175167; PSI over 10 reference quantile
   * bins (np.quantile, right-closed, empty shares 0.0001) => 2.885637965878128: "significant" noise.
   */
  const a = [
    1.49, 1.05, 1.51, -0.22, -1.37, 0.09, 0.14, 0.29, 0.66, 1.09, -0.37, -0.91, -0.17, -2.15, 0.03, 1.07,
    0.69, 1.13, -0.55, 1.37, 0.95, 0.41, -0.47, -2.01, -0.5,
  ];
  const b = [
    -0.51, -1.05, 1.09, -0.26, 0.78, 0.29, -0.21, 1.17, 2.8, -0.72, 2.08, 0.45, 0.76, -1.23, -0.77, -0.08,
    1.86, 1.09, 0.38, -0.9, -2.08, -0.7, 0.5, 0.73, -0.2,
  ];

  it('does not report PSI for 25 values per sample, and says why', () => {
    // Act
    const report = detectDrift(table(numeric('x', a)), table(numeric('x', b)));
    const sorted = Float64Array.from(a).sort();
    const edges = quantileBinEdges(sorted);
    const noise = populationStabilityIndex(binShares(sorted, edges), binShares(b, edges));
    // Assess
    expectClose(noise, 2.885637965878128, 1e-9);
    expect(report.columns[0]).toMatchObject({ test: 'ks', verdict: 'no_drift', psi: null });
    expectClose(report.columns[0].pValue!, 0.995531553175167, 1e-9);
    expect(report.columns[0].psiNote).toBe(
      "not reported: its sparsest bin expects 2 values (25 × 8%), below 5 (Cochran's rule for chi-square-type statistics)",
    );
  });

  it('keeps a PSI test on too small a sample out of the dataset verdict', () => {
    // Act
    const report = detectDrift(table(numeric('x', a)), table(numeric('x', b)), {
      perColumn: { x: { test: 'psi' } },
    });
    // Assess
    expect(report.status).toBe('insufficient_data');
    expect(report.columns[0]).toMatchObject({
      test: 'psi',
      verdict: 'insufficient_data',
      drifted: false,
      psi: null,
    });
    expect(report.columns[0].reason).toContain('PSI not reported');
  });

  it('reports PSI once every bin expects 5 values in each sample', () => {
    // Prepare: 50 distinct values, 5 per reference decile; the current sample holds them in another order
    const values = Array.from({ length: 50 }, (_, i) => i);
    // Act
    const report = detectDrift(table(numeric('x', values)), table(numeric('x', [...values].reverse())));
    // Assess
    expect(report.columns[0].psi).toBe(0);
    expect(report.columns[0].psiNote).toBeUndefined();
  });
});
