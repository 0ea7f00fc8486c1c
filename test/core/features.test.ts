import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildMatrix,
  FeaturizeError,
  featurizerConfiguration,
  fitForecastFeaturizer,
  fitTabularFeaturizer,
  forecastFeatures,
  invertForecast,
  tabularFeatures,
} from '#core/features.ts';
import type { Table } from '#core/types.ts';

const repo = new URL('../../', import.meta.url).pathname;
const lines = readFileSync(`${repo}data/air-passengers.csv`, 'utf8').trim().split('\n').slice(1);
const values = Float64Array.from(lines, (line) => Number(line.split(',')[1]));
const air: Table = {
  rowCount: lines.length,
  columns: [
    { name: 'month', kind: 'text', values: lines.map((line) => line.split(',')[0]) },
    {
      name: 'value',
      kind: 'numeric',
      values: Float64Array.from(lines, (line) => Number(line.split(',')[1])),
    },
  ],
};
const options = { target: 'value', time: 'month', lags: 12, season: 12, monthOfYear: false };

describe('forecast featurizer', () => {
  it('builds the seasonal log ratios of AirPassengers as NumPy does', () => {
    // /usr/bin/python3 -c "import numpy as np; y=np.loadtxt('data/air-passengers.csv',delimiter=',',skiprows=1,usecols=1);
    //   t=12; b=np.log(y[t-12]); print(list(np.round(np.log(y[t-12:t])-b,12)), np.log(y[t])-b)"
    const expected = [
      0.0, 0.052185753171, 0.164303051291, 0.141313533067, 0.077291674302, 0.186775907143, 0.278713402469,
      0.278713402469, 0.194156014441, 0.060624621816, -0.074107972154, 0.052185753171,
    ];
    const featurizer = fitForecastFeaturizer(air, { ...options, transform: 'seasonal-log-ratio' });
    const matrix = buildMatrix(featurizer, air);
    // Assess: one row per month with 12 months before it, each built from the actual history
    expect(matrix.rowCount).toBe(132);
    expect(featurizer.featureNames.slice(0, 2)).toEqual(['lag_12', 'lag_11']);
    for (const [k, value] of Array.from(matrix.x.subarray(0, 12)).entries())
      expect(value).toBeCloseTo(expected[k], 11);
    expect(matrix.y[0]).toBeCloseTo(0.026433257068156024, 14);
    // 1960-12: ln(432) − ln(405) → 0.06453852113757197, and its last lag ln(390) − ln(405)
    expect(matrix.y[131]).toBeCloseTo(0.06453852113757197, 14);
    expect(matrix.x[131 * 12 + 11]).toBeCloseTo(-0.037740327982846544, 14);
    expect(invertForecast(featurizer, matrix.y[131], matrix.base[131])).toBeCloseTo(432, 9);
  });

  it('adds the month of the predicted step, and needs it at serving time', () => {
    const featurizer = fitForecastFeaturizer(air, { ...options, transform: 'log', monthOfYear: true });
    const matrix = buildMatrix(featurizer, air);
    const row = new Float64Array(13);
    // The first row predicts 1950-01
    expect(matrix.x[12]).toBe(1);
    expect(matrix.x[13 + 12]).toBe(2);
    expect(() => forecastFeatures(featurizer, values.subarray(0, 12), row)).toThrow(FeaturizeError);
  });

  it('refuses a log transform of a series with a zero', () => {
    const withZero = Float64Array.from(values, (value, i) => (i === 5 ? 0 : value));
    const zero: Table = {
      ...air,
      columns: [air.columns[0], { name: 'value', kind: 'numeric', values: withZero }],
    };
    expect(() => fitForecastFeaturizer(zero, { ...options, transform: 'log' })).toThrow(
      /needs every "value" value to be positive/,
    );
  });
});

describe('tabular featurizer', () => {
  const table: Table = {
    rowCount: 5,
    columns: [
      { name: 'x', kind: 'numeric', values: Float64Array.from([1, Number.NaN, 7, 3, 10]) },
      { name: 'plan', kind: 'text', values: ['b', 'a', 'c', 'a', 'd'] },
      { name: 'y', kind: 'numeric', values: Float64Array.from([0, 1, 0, 1, 1]) },
    ],
  };

  it('fits 200,000 rows, its range found without spreading the column into a call', () => {
    // Math.min(...values) threw "Maximum call stack size exceeded" here on a 540k × 20 drop (and throws from ~130k).
    const rowCount = 200_000;
    const x = Float64Array.from({ length: rowCount }, (_, i) => (i * 7919) % rowCount);
    const big: Table = {
      rowCount,
      columns: [
        { name: 'x', kind: 'numeric', values: x },
        { name: 'y', kind: 'numeric', values: x },
      ],
    };
    const featurizer = fitTabularFeaturizer(big, { task: 'regression', target: 'y', features: ['x'] });
    expect(featurizer.numeric[0]).toMatchObject({ min: 0, max: rowCount - 1 });
  });

  it('fills a missing number with the training median and one-hot encodes the categories seen, as scikit-learn', () => {
    // /usr/bin/python3 -c "from sklearn.impute import SimpleImputer; import numpy as np;
    //   print(SimpleImputer(strategy='median').fit([[1.0],[np.nan],[7.0],[3.0]]).statistics_)"  → [3.]
    //   (all five rows, with 10.0: → [5.])
    // OneHotEncoder().fit([['b'],['a'],['c'],['a']]).categories_ → ['a', 'b', 'c'];  transform([['c']]) → [0, 0, 1]
    const featurizer = fitTabularFeaturizer(table, {
      task: 'classification',
      target: 'y',
      features: ['x', 'plan'],
      rows: [0, 1, 2, 3],
    });
    expect(featurizer.featureNames).toEqual(['x', 'plan=a', 'plan=b', 'plan=c']);
    expect(featurizer.numeric[0]).toMatchObject({ fill: 3, min: 1, max: 7 });
    const all = fitTabularFeaturizer(table, { task: 'classification', target: 'y', features: ['x'] });
    expect(all.numeric[0].fill).toBe(5);
    expect(all.classes).toEqual([0, 1]);
    const out = new Float64Array(4);
    tabularFeatures(featurizer, { x: null, plan: 'c' }, out);
    expect(Array.from(out)).toEqual([3, 0, 0, 1]);
    // A category never seen in training encodes as all zeros
    tabularFeatures(featurizer, { x: 2, plan: 'd' }, out);
    expect(Array.from(out)).toEqual([2, 0, 0, 0]);
  });

  it('describes its configuration without what it learned from rows', () => {
    const a = fitTabularFeaturizer(table, {
      task: 'classification',
      target: 'y',
      features: ['x'],
      rows: [0, 2],
    });
    const b = fitTabularFeaturizer(table, { task: 'classification', target: 'y', features: ['x'] });
    expect(a.numeric[0].fill).not.toBe(b.numeric[0].fill);
    expect(featurizerConfiguration(a)).toBe(featurizerConfiguration(b));
  });
});
