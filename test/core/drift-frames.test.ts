import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectDrift } from '../../lambdas/core/drift.ts';
import { driftFrames, inferDriftColumns } from '../../lambdas/core/drift-frames.ts';
import { parseSpec } from '../../lambdas/core/spec.ts';
import { ksTwoSample } from '../../lambdas/core/stats/ks-two-sample.ts';
import type { Table } from '../../lambdas/core/types.ts';

const months = (from: number, count: number) =>
  Array.from(
    { length: count },
    (_, i) =>
      `19${String(50 + Math.floor((from + i) / 12))}-${String(((from + i) % 12) + 1).padStart(2, '0')}`,
  );

function series(from: number, values: number[]): Table {
  return {
    rowCount: values.length,
    columns: [
      { name: 'month', kind: 'text', values: months(from, values.length) },
      { name: 'value', kind: 'numeric', values: Float64Array.from(values) },
    ],
  };
}

describe('inferDriftColumns', () => {
  it('leaves out time keys and identifiers, keeps features and repeated categories', () => {
    // Prepare
    const table: Table = {
      rowCount: 3,
      columns: [
        { name: 'month', kind: 'text', values: ['1950-01', '1950-02', '1950-03'] },
        { name: 'customer', kind: 'text', values: ['a1', 'b2', 'c3'] },
        { name: 'plan', kind: 'text', values: ['basic', 'pro', 'basic'] },
        { name: 'spend', kind: 'numeric', values: Float64Array.from([1, 2, 3]) },
      ],
    };
    // Act
    const { columns, skipped } = inferDriftColumns(table, table);
    // Assess
    expect(columns).toEqual(['plan', 'spend']);
    expect(skipped.map((entry) => entry.column)).toEqual(['month', 'customer']);
  });
});

describe('driftFrames', () => {
  it('compares a forecast drop on the transformed target, each month against the series it continues', () => {
    // Prepare: 24 months of history, then 3 new months; the seasonal log ratio looks 12 months back.
    const spec = parseSpec({
      name: 'f',
      task: 'forecast',
      target: 'value',
      time: 'month',
      lags: 2,
      holdout: 3,
      featurize: { transform: 'seasonal-log-ratio' },
    });
    const reference = series(
      0,
      Array.from({ length: 24 }, (_, i) => 100 + i),
    );
    const current = series(24, [224, 226, 228]);
    // Act
    const frames = driftFrames(spec, reference, current);
    // Assess
    const values = (table: Table) => Array.from(table.columns[0].values as Float64Array);
    expect(frames.options.columns).toEqual(['value (seasonal-log-ratio)']);
    expect(values(frames.current)).toEqual([
      Math.log(224) - Math.log(112),
      Math.log(226) - Math.log(113),
      Math.log(228) - Math.log(114),
    ]);
    expect(values(frames.reference)).toHaveLength(12);
    expect(values(frames.reference)[0]).toBe(Math.log(112) - Math.log(100));
  });

  it("judges an auto spec under the production model's transform, else the first the series allows", () => {
    // Prepare
    const spec = parseSpec({ name: 'f', task: 'forecast', target: 'value', time: 'month', lags: 2 });
    const reference = series(
      0,
      Array.from({ length: 24 }, (_, i) => 100 + i),
    );
    const current = series(24, [124, 125]);
    // Act
    const served = driftFrames(spec, reference, current, 'log-ratio-last');
    const fresh = driftFrames(spec, reference, current);
    // Assess
    expect(served.options.columns).toEqual(['value (log-ratio-last)']);
    expect(Array.from(served.current.columns[0].values as Float64Array)).toEqual([
      Math.log(124) - Math.log(123),
      Math.log(125) - Math.log(124),
    ]);
    expect(fresh.options.columns).toEqual(['value (seasonal-log-ratio)']);
  });

  it("applies the spec's drift settings for the target to the transformed target", () => {
    // Prepare
    const spec = parseSpec({
      name: 'f',
      task: 'forecast',
      target: 'value',
      time: 'month',
      lags: 2,
      drift: { columns: { value: { threshold: 0.01 } } },
    });
    const reference = series(
      0,
      Array.from({ length: 24 }, (_, i) => 100 + i),
    );
    // Act
    const frames = driftFrames(spec, reference, series(24, [124]));
    // Assess
    expect(frames.options.perColumn).toEqual({ 'value (seasonal-log-ratio)': { threshold: 0.01 } });
  });
});

describe('forecast drift on AirPassengers', () => {
  const [, ...lines] = readFileSync(new URL('../../data/air-passengers.csv', import.meta.url), 'utf8')
    .trim()
    .split('\n');
  const air = (from: number, to: number): Table => {
    const rows = lines.slice(from, to).map((line) => line.split(','));
    return {
      rowCount: rows.length,
      columns: [
        { name: 'month', kind: 'text', values: rows.map((row) => row[0]) },
        { name: 'value', kind: 'numeric', values: Float64Array.from(rows, (row) => Number(row[1])) },
      ],
    };
  };
  const spec = parseSpec(
    JSON.parse(readFileSync(new URL('../../data/specs/air-passengers.json', import.meta.url), 'utf8')),
  );
  const judge = (end: number, months: number) => {
    const frames = driftFrames(spec, air(0, end), air(end, end + months));
    return detectDrift(frames.reference, frames.current, frames.options);
  };

  it('no longer finds drift in every year from trend alone: each year against all years before it', () => {
    // Reference: KS p-values of ln y[t] − ln y[t−12] (all earlier months vs the year's 12), from
    //   python3 -c "import csv,math; from scipy.stats import ks_2samp
    //   y=[float(r['value']) for r in csv.DictReader(open('data/air-passengers.csv'))]
    //   s=lambda a,b:[math.log(y[t])-math.log(y[t-12]) for t in range(a,b)]
    //   [print(1949+i//12, ks_2samp(s(12,i),s(i,i+12),method='exact').pvalue) for i in range(60,144,12)]"
    // (SciPy 1.17.1). The raw levels of each of these years drift at p <= 1.7e-5 against the years before.
    const scipy: Record<number, number> = {
      1954: 0.000972,
      1955: 0.009319,
      1956: 0.3611,
      1957: 0.005165,
      1958: 7.654e-9,
      1959: 0.4543,
      1960: 0.1286,
    };
    for (const [year, pValue] of Object.entries(scipy)) {
      // Act
      const end = (Number(year) - 1949) * 12;
      const report = judge(end, 12);
      const raw = ksTwoSample(
        air(0, end).columns[1].values as Float64Array,
        air(end, end + 12).columns[1].values as Float64Array,
      );
      // Assess
      expect(report.columns).toHaveLength(1);
      expect(report.columns[0].pValue, year).toBeCloseTo(pValue, Math.ceil(-Math.log10(pValue)) + 2);
      expect(report.status, year).toBe(pValue < 0.05 ? 'drift' : 'no_drift');
      expect(raw.pValue, year).toBeLessThan(1.8e-5);
    }
  });

  it('judges the 1959-1960 drop on the transformed target: no drift at p = 0.058', () => {
    // Act
    const report = judge(120, 24);
    // Assess: python3 -c "…; print(ks_2samp(s(12,120), s(120,144), method='exact'))"
    //   KstestResult(statistic=0.2916666666666667, pvalue=0.058499309365206, …)
    expect(report.columns[0]).toMatchObject({
      column: 'value (seasonal-log-ratio)',
      test: 'ks',
      verdict: 'no_drift',
      referenceRows: 108,
      currentRows: 24,
    });
    expect(report.columns[0].statistic).toBeCloseTo(0.2916666666666667, 12);
    expect(report.columns[0].pValue).toBeCloseTo(0.058499309365206, 10);
  });
});
