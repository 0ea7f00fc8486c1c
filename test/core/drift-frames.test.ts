import { describe, expect, it } from 'vitest';
import { driftFrames, inferDriftColumns } from '../../lambdas/core/drift-frames.ts';
import { parseSpec } from '../../lambdas/core/spec.ts';
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
  it('gives a forecast drop the lags of the series it continues', () => {
    // Prepare: 24 months of history, then 3 new months
    const spec = parseSpec({
      name: 'f',
      task: 'forecast',
      target: 'value',
      time: 'month',
      lags: 2,
      holdout: 3,
    });
    const reference = series(
      0,
      Array.from({ length: 24 }, (_, i) => 100 + i),
    );
    const current = series(24, [200, 201, 202]);
    // Act
    const frames = driftFrames(spec, reference, current);
    // Assess
    const column = (table: Table, name: string) =>
      Array.from(table.columns.find((c) => c.name === name)!.values as Float64Array);
    expect(frames.options.columns).toEqual(['value', 'lag_1', 'lag_2']);
    expect(column(frames.current, 'value')).toEqual([200, 201, 202]);
    expect(column(frames.current, 'lag_1')).toEqual([123, 200, 201]);
    expect(column(frames.current, 'lag_2')).toEqual([122, 123, 200]);
    expect(column(frames.reference, 'lag_1').slice(0, 2)).toEqual([Number.NaN, 100]);
  });
});
