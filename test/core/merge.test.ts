import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsv, toCsv, toTable } from '#core/csv.ts';
import {
  keepHistory,
  MergeError,
  mergeForecast,
  mergeHistory,
  mergeInOrder,
  mergeTabular,
  monthsLeftMissing,
  sha256,
} from '#core/merge.ts';
import { monthLabel, parseSpec } from '#core/spec.ts';
import type { Column, Table } from '#core/types.ts';

const numeric = (name: string, values: number[]): Column => ({
  name,
  kind: 'numeric',
  values: new Float64Array(values),
});
const text = (name: string, values: string[]): Column => ({ name, kind: 'text', values });
const table = (...columns: Column[]): Table => ({ columns, rowCount: columns[0].values.length });
const series = (months: string[], values: number[]) => table(text('month', months), numeric('value', values));

const valuesOf = (merged: Table, name: string): (number | string)[] =>
  Array.from<number | string>(merged.columns.find((column) => column.name === name)?.values ?? []);

function mergeErrorOf(merge: () => unknown): MergeError {
  try {
    merge();
  } catch (error) {
    if (error instanceof MergeError) return error;
    throw error;
  }
  throw new Error('expected a MergeError');
}

describe('sha256', () => {
  it('hashes bytes and text as hex', () => {
    // FIPS 180-2 test vector; /usr/bin/python3 -c "import hashlib; print(hashlib.sha256(b'abc').hexdigest())"
    const expected = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(sha256('abc')).toBe(expected);
    expect(sha256(new TextEncoder().encode('abc'))).toBe(expected);
  });
});

describe('mergeForecast', () => {
  it('takes the union of months, lets the drop win on overlap and sorts by month', () => {
    // Prepare
    const baseline = series(['2020-01', '2020-02', '2020-03'], [10, 20, 30]);
    const drop = series(['2020-04', '2020-03'], [40, 33]);
    // Act
    const { table: merged, lineage } = mergeForecast(baseline, drop, 'month', {
      baselineName: 'v1',
      dropName: 'v2',
    });
    // Assess
    expect(valuesOf(merged, 'month')).toEqual(['2020-01', '2020-02', '2020-03', '2020-04']);
    expect(valuesOf(merged, 'value')).toEqual([10, 20, 33, 40]);
    expect(lineage).toEqual({
      inputs: [
        { name: 'v1', rows: 3 },
        { name: 'v2', rows: 2 },
      ],
      rowsOut: 4,
      overlapping: 1,
      duplicatesRemoved: 0,
      gaps: [],
    });
  });

  it('reports the months missing between the first and the last, across a year end', () => {
    // Prepare
    const baseline = series(['2020-10', '2020-11'], [1, 2]);
    const drop = series(['2021-02'], [5]);
    // Act
    const { lineage } = mergeForecast(baseline, drop, 'month');
    // Assess
    expect(lineage.gaps).toEqual(['2020-12', '2021-01']);
    expect(lineage.inputs.map((input) => input.name)).toEqual(['baseline', 'drop']);
  });

  it('rebuilds air-passengers.csv from two overlapping halves', async () => {
    // Prepare: baseline 1949-01..1958-12, drop 1958-07..1960-12 (6 months overlap)
    const lines = readFileSync(new URL('../../data/air-passengers.csv', import.meta.url), 'utf8')
      .trimEnd()
      .split('\n');
    const read = async (body: string[]) => toTable(await parseCsv(`${[lines[0], ...body].join('\n')}\n`));
    const baseline = await read(lines.slice(1, 121));
    const drop = await read(lines.slice(115));
    // Act
    const forward = mergeForecast(baseline, drop, 'month');
    const reversed = mergeForecast(drop, baseline, 'month');
    // Assess: sha256sum data/air-passengers.csv → 52c60033…; the overlap holds equal values, so the
    // order of the inputs does not change the result.
    expect(forward.lineage).toMatchObject({ rowsOut: 144, overlapping: 6, gaps: [] });
    expect(sha256(toCsv(forward.table))).toBe(
      '52c60033a5b25b8b80c87af5da0b544e11e1207182cbb4387f6f1cc95e33ba0b',
    );
    expect(reversed.table).toEqual(forward.table);
  });

  it('throws a MergeError for a missing time column, a duplicate month or a label that is not YYYY-MM', () => {
    // Prepare
    const baseline = series(['2020-01'], [1]);
    // Act
    const noTime = mergeErrorOf(() => mergeForecast(baseline, series(['2020-02'], [2]), 'date'));
    const duplicate = mergeErrorOf(() =>
      mergeForecast(baseline, series(['2020-02', '2020-02'], [2, 3]), 'month'),
    );
    const badLabel = mergeErrorOf(() => mergeForecast(baseline, series(['Feb 2020'], [2]), 'month'));
    // Assess
    expect(noTime.message).toBe('the baseline has no time column "date"');
    expect(duplicate.message).toContain('the drop has month 2020-02 twice');
    expect(badLabel.message).toContain('holds "Feb 2020", not a YYYY-MM month');
    expect(badLabel.name).toBe('MergeError');
  });
});

describe('mergeTabular', () => {
  it('appends the drop and removes exact duplicates, missing equal to missing', () => {
    // Prepare
    const baseline = table(numeric('x', [1, 2, Number.NaN]), text('color', ['red', 'blue', '']));
    const drop = table(numeric('x', [2, Number.NaN, 4, 4]), text('color', ['blue', '', 'red', 'red']));
    // Act
    const { table: merged, lineage } = mergeTabular(baseline, drop);
    // Assess
    expect(valuesOf(merged, 'x')).toEqual([1, 2, Number.NaN, 4]);
    expect(valuesOf(merged, 'color')).toEqual(['red', 'blue', '', 'red']);
    expect(lineage).toMatchObject({ rowsOut: 4, duplicatesRemoved: 3, overlapping: 0, gaps: [] });
  });

  it('removes the same rows as comparing every value of every pair of rows (seeded property)', () => {
    // Few distinct values, so most drops repeat rows; NaN, 0 and −0 included.
    const cell = fc.constantFrom(0, -0, 1, 2.5, Number.NaN);
    const rows = fc.array(fc.tuple(cell, fc.constantFrom('a', 'b', '')), { maxLength: 30 });
    fc.assert(
      fc.property(rows, rows, (left, right) => {
        const toTableOf = (data: [number, string][]) =>
          table(
            numeric(
              'x',
              data.map(([x]) => x),
            ),
            text(
              'c',
              data.map(([, c]) => c),
            ),
          );
        // Each distinct row once, at the place of its last copy.
        const expected: [number, string][] = [];
        for (const row of [...left, ...right].reverse()) {
          const same = (other: [number, string]) =>
            (other[0] === row[0] || (Number.isNaN(other[0]) && Number.isNaN(row[0]))) && other[1] === row[1];
          if (!expected.some(same)) expected.unshift(row);
        }
        const { table: merged, lineage } = mergeTabular(toTableOf(left), toTableOf(right));
        expect(merged).toEqual(toTableOf(expected));
        expect(lineage.duplicatesRemoved).toBe(left.length + right.length - expected.length);
      }),
      { seed: 14, numRuns: 300 },
    );
  });

  it("moves a row sent again to its latest place, so the newest rows are the newest drops'", () => {
    // Prepare
    const baseline = table(numeric('x', [1, 2, 3]));
    const drop = table(numeric('x', [1, 4]));
    // Act
    const { table: merged, lineage } = mergeTabular(baseline, drop);
    // Assess
    expect(valuesOf(merged, 'x')).toEqual([2, 3, 1, 4]);
    expect(lineage).toMatchObject({ rowsOut: 4, duplicatesRemoved: 1 });
  });

  it('keeps rows that differ in a single column', () => {
    // Prepare
    const baseline = table(numeric('x', [1]), text('color', ['red']));
    const drop = table(numeric('x', [1]), text('color', ['blue']));
    // Act
    const { lineage } = mergeTabular(baseline, drop);
    // Assess
    expect(lineage).toMatchObject({ rowsOut: 2, duplicatesRemoved: 0 });
  });

  it("accepts the drop's columns in another order and writes the baseline's order", () => {
    // Prepare
    const baseline = table(numeric('x', [1]), numeric('y', [2]));
    const drop = table(numeric('y', [20]), numeric('x', [10]));
    // Act
    const { table: merged } = mergeTabular(baseline, drop);
    // Assess
    expect(merged.columns.map((column) => column.name)).toEqual(['x', 'y']);
    expect(valuesOf(merged, 'x')).toEqual([1, 10]);
    expect(valuesOf(merged, 'y')).toEqual([2, 20]);
  });

  it('throws a MergeError naming the columns when the column sets differ', () => {
    // Prepare
    const baseline = table(numeric('x', [1]), numeric('y', [2]));
    const drop = table(numeric('x', [1]), numeric('z', [2]));
    // Act
    const error = mergeErrorOf(() => mergeTabular(baseline, drop));
    // Assess
    expect(error.message).toBe(
      'cannot merge tables with different columns: the drop lacks y; the drop adds z',
    );
  });

  it('throws a MergeError when a column is numeric on one side and text on the other', () => {
    // Prepare
    const baseline = table(numeric('x', [1]));
    const drop = table(text('x', ['one']));
    // Act
    const error = mergeErrorOf(() => mergeTabular(baseline, drop));
    // Assess
    expect(error.message).toBe('cannot merge column "x": it is numeric in the baseline but text in the drop');
  });
});

describe('mergeInOrder', () => {
  /** The left fold mergeInOrder must agree with. */
  function sequential(tables: Table[], merge: (a: Table, b: Table) => ReturnType<typeof mergeTabular>) {
    let merged = tables[0];
    const lineage = [];
    for (const next of tables.slice(1)) {
      const result = merge(merged, next);
      merged = result.table;
      lineage.push(result.lineage);
    }
    return { merged, lineage };
  }

  it('gives the tabular result of merging one table after another, duplicate counts included', () => {
    // Prepare: 9 tables with rows repeated across them (value i % 7), so duplicates are removed
    const tables = Array.from({ length: 9 }, (_, t) =>
      table(
        numeric(
          'x',
          Array.from({ length: 3 }, (_, r) => (t * 3 + r) % 7),
        ),
        text('y', ['a', 'b', 'c']),
      ),
    );
    // Act
    const ordered = mergeInOrder(
      tables.map((t, i) => ({ name: `t${i}`, table: t })),
      mergeTabular,
    );
    const expected = sequential(tables, mergeTabular);
    // Assess
    expect(ordered.table).toEqual(expected.merged);
    const removed = (lineage: { duplicatesRemoved: number }[]) =>
      lineage.reduce((sum, entry) => sum + entry.duplicatesRemoved, 0);
    expect(removed(ordered.lineage)).toBe(removed(expected.lineage));
    expect(ordered.lineage).toHaveLength(8);
  });

  it('gives the forecast result, later months winning, overlaps and the gaps of the whole series included', () => {
    // Prepare: overlapping months across five drops, and 2020-09 missing everywhere
    const months = ['2020-01', '2020-02', '2020-03', '2020-04', '2020-05', '2020-06', '2020-07', '2020-08'];
    const tables = [
      series(months.slice(0, 4), [1, 2, 3, 4]),
      series(months.slice(2, 5), [30, 40, 50]),
      series(months.slice(4, 7), [500, 600, 700]),
      series([...months.slice(6, 8), '2020-10'], [7000, 8000, 10000]),
      series(months.slice(3, 4), [44]),
    ];
    const forecast = (a: Table, b: Table) => mergeForecast(a, b, 'month');
    // Act
    const ordered = mergeInOrder(
      tables.map((t, i) => ({ name: `t${i}`, table: t })),
      (a, b, options) => mergeForecast(a, b, 'month', options),
    );
    const expected = sequential(tables, forecast);
    // Assess
    expect(ordered.table).toEqual(expected.merged);
    expect(valuesOf(ordered.table, 'value')).toEqual([1, 2, 30, 44, 500, 600, 7000, 8000, 10000]);
    const overlaps = (lineage: { overlapping: number }[]) =>
      lineage.reduce((sum, entry) => sum + entry.overlapping, 0);
    expect(overlaps(ordered.lineage)).toBe(overlaps(expected.lineage));
    expect(ordered.lineage.at(-1)?.gaps).toEqual(['2020-09']);
  });

  it('names merged inputs by their first and last, so names stay short however many tables', () => {
    // Prepare
    const tables = Array.from({ length: 1000 }, (_, i) => ({
      name: `incoming/m/drop-${i}.csv`,
      table: table(numeric('x', [i])),
    }));
    // Act
    const { lineage } = mergeInOrder(tables, mergeTabular);
    // Assess
    expect(lineage.at(-1)?.inputs.map((input) => input.name)).toEqual([
      'incoming/m/drop-0.csv … incoming/m/drop-511.csv',
      'incoming/m/drop-512.csv … incoming/m/drop-999.csv',
    ]);
  });
});

/** `count` consecutive months from `start` (a month index), as a forecast table with value = index. */
function monthsFrom(start: number, count: number, skip: number[] = []): Table {
  const months = Array.from({ length: count }, (_, i) => start + i).filter((m) => !skip.includes(m));
  return series(months.map(monthLabel), months);
}

describe('monthsLeftMissing', () => {
  it('names only the months a drop adds to what is missing, across held-back drops and any window', () => {
    // Prepare: data for 2000-2004 (2002-03 missing), a held-back 2006 waiting for 2005
    const data = monthsFrom(2000 * 12, 60, [2002 * 12 + 2]);
    const held = monthsFrom(2006 * 12, 12);
    const left = (drop: Table, before = [data]) => monthsLeftMissing('month', before, drop);
    // Act, Assess: adjoining, overlapping, filling and following a held-back drop leave nothing missing
    expect(left(monthsFrom(2005 * 12, 12))).toEqual([]);
    expect(left(monthsFrom(2004 * 12 + 6, 12))).toEqual([]);
    expect(left(monthsFrom(2005 * 12, 12), [data, held])).toEqual([]);
    expect(left(monthsFrom(2007 * 12, 12), [data, held])).toEqual([]);
    expect(left(series(['2002-03'], [0]))).toEqual([]);
    // a year ahead, or a century ahead (beyond the default 1200-month window), leaves the months between
    expect(left(monthsFrom(2006 * 12, 12))).toEqual(
      Array.from({ length: 12 }, (_, i) => monthLabel(2005 * 12 + i)),
    );
    expect(left(monthsFrom(2105 * 12, 12))).toHaveLength(100 * 12);
    expect(left(monthsFrom(1998 * 12, 12))).toEqual(
      Array.from({ length: 12 }, (_, i) => monthLabel(1999 * 12 + i)),
    );
  });
});

describe('keepHistory', () => {
  const regression = (rows?: number) =>
    parseSpec({ name: 'm', task: 'regression', target: 'y', ...(rows ? { history: { rows } } : {}) });

  it("keeps a tabular table's last rows, numeric columns as views of the same memory", () => {
    // Prepare
    const merged = table(
      numeric(
        'y',
        Array.from({ length: 500 }, (_, i) => i),
      ),
      text(
        'c',
        Array.from({ length: 500 }, (_, i) => `r${i}`),
      ),
    );
    // Act
    const kept = keepHistory(regression(300), merged);
    // Assess
    expect(kept.window).toEqual({ rows: 300 });
    expect(kept.outOfWindow).toBe(200);
    expect(kept.table.rowCount).toBe(300);
    expect(valuesOf(kept.table, 'y')[0]).toBe(200);
    expect(valuesOf(kept.table, 'c').at(-1)).toBe('r499');
    expect((kept.table.columns[0].values as Float64Array).buffer).toBe(
      (merged.columns[0].values as Float64Array).buffer,
    );
  });

  it('returns a table within its window as it is, with the default window', () => {
    // Prepare
    const merged = table(numeric('y', [1, 2, 3]));
    // Act
    const kept = keepHistory(regression(), merged);
    // Assess
    expect(kept).toEqual({ table: merged, window: { rows: 1_000_000 }, outOfWindow: 0 });
    expect(kept.table).toBe(merged);
  });

  it("keeps a forecast's newest months, counted back from its last month", () => {
    // Prepare: 2000-01 … 2009-12
    const spec = parseSpec({
      name: 'f',
      task: 'forecast',
      target: 'value',
      time: 'month',
      history: { months: 60 },
    });
    const merged = monthsFrom(2000 * 12, 120);
    // Act
    const kept = keepHistory(spec, merged);
    // Assess
    expect(kept.window).toEqual({ months: 60 });
    expect(kept.outOfWindow).toBe(60);
    expect(valuesOf(kept.table, 'month')[0]).toBe('2005-01');
    expect(valuesOf(kept.table, 'month').at(-1)).toBe('2009-12');
  });

  it('throws a MergeError for a forecast dataset not sorted by month', () => {
    // Prepare
    const spec = parseSpec({
      name: 'f',
      task: 'forecast',
      target: 'value',
      time: 'month',
      lags: 1,
      holdout: 1,
      history: { months: 3 },
    });
    const unsorted = series(['2020-05', '2020-01', '2020-02', '2020-03', '2020-04'], [5, 1, 2, 3, 4]);
    // Act
    const error = mergeErrorOf(() => keepHistory(spec, unsorted));
    // Assess
    expect(error.message).toBe('the dataset\'s time column "month" is not sorted by month');
  });
});

/** A monthly forecast spec whose history window keeps 48 months. */
const fourYearWindowSpec = () =>
  parseSpec({
    name: 'f',
    task: 'forecast',
    target: 'value',
    time: 'month',
    history: { months: 48 },
    validation: { minRows: 24 },
    holdout: 6,
  });

describe('mergeHistory', () => {
  it('keeps the newest rows of baseline and drops, a repeated old row kept with the newest drop', () => {
    // Prepare: a window of 4 rows; the newest drop repeats the baseline's oldest row (x = 0)
    const spec = parseSpec({
      name: 'm',
      task: 'regression',
      target: 'x',
      validation: { minRows: 2 },
      history: { rows: 4 },
    });
    const inputs = [
      { name: 'baseline', table: table(numeric('x', [0, 1, 2])) },
      { name: 'a', table: table(numeric('x', [3, 4])) },
      { name: 'b', table: table(numeric('x', [5, 0])) },
    ];
    // Act
    const merged = mergeHistory(spec, inputs);
    const again = mergeHistory(spec, inputs);
    // Assess: 6 distinct rows merged, the 2 oldest left out; the same result every time
    expect(valuesOf(merged.table, 'x')).toEqual([3, 4, 5, 0]);
    expect(merged).toMatchObject({ rowsMerged: 6, outOfWindow: 2, duplicatesRemoved: 1, gaps: [] });
    expect(again.table).toEqual(merged.table);
  });

  it('merges on the columns a spec listing its features uses: an ignored column of the baseline is left out', () => {
    // Prepare: a baseline stored with a column the spec ignores, and a drop without it
    const spec = parseSpec({
      name: 'm',
      task: 'regression',
      target: 'y',
      features: ['x'],
      validation: { minRows: 2 },
    });
    const baseline = table(numeric('x', [1, 2]), text('notes', ['a', 'b']), numeric('y', [10, 20]));
    const drop = table(numeric('y', [30]), numeric('x', [3]));
    // Act
    const merged = mergeHistory(spec, [
      { name: 'baseline', table: baseline },
      { name: 'drop', table: drop },
    ]);
    // Assess
    expect(merged.table.columns.map((column) => column.name)).toEqual(['x', 'y']);
    expect(valuesOf(merged.table, 'x')).toEqual([1, 2, 3]);
    expect(valuesOf(merged.table, 'y')).toEqual([10, 20, 30]);
  });

  it('still refuses a drop whose columns differ when the spec lists no features (every column is one)', () => {
    // Prepare
    const spec = parseSpec({ name: 'm', task: 'regression', target: 'y', validation: { minRows: 2 } });
    const baseline = table(numeric('x', [1, 2]), text('notes', ['a', 'b']), numeric('y', [10, 20]));
    const drop = table(numeric('x', [3]), numeric('y', [30]));
    // Act
    const error = mergeErrorOf(() =>
      mergeHistory(spec, [
        { name: 'baseline', table: baseline },
        { name: 'drop', table: drop },
      ]),
    );
    // Assess
    expect(error.message).toBe('cannot merge tables with different columns: the drop lacks notes');
  });

  it('reports only the gaps inside the window: a missing month that left the window no longer fails', () => {
    // Prepare: 2000-01 … 2004-12 without 2000-06, then a drop of 2005; a 48-month window
    const spec = fourYearWindowSpec();
    const baseline = monthsFrom(2000 * 12, 60, [2000 * 12 + 5]);
    const drop = monthsFrom(2005 * 12, 12);
    const withRecentGap = monthsFrom(2000 * 12, 60, [2003 * 12 + 1]);
    // Act
    const merged = mergeHistory(spec, [
      { name: 'baseline', table: baseline },
      { name: 'drop', table: drop },
    ]);
    const gapped = mergeHistory(spec, [
      { name: 'baseline', table: withRecentGap },
      { name: 'drop', table: drop },
    ]);
    // Assess
    expect(merged).toMatchObject({ rowsMerged: 71, outOfWindow: 23, gaps: [] });
    expect(valuesOf(merged.table, 'month')[0]).toBe('2002-01');
    expect(merged.table.rowCount).toBe(48);
    expect(gapped.gaps).toEqual(['2003-02']);
  });

  it('reports the months between the window start and a drop years after the data, which alone is kept', () => {
    // Prepare: 2000-2004, then a drop of 2010 (a typo for 2005); a 48-month window starts at 2007-01
    const spec = fourYearWindowSpec();
    // Act
    const merged = mergeHistory(spec, [
      { name: 'baseline', table: monthsFrom(2000 * 12, 60) },
      { name: 'drop', table: monthsFrom(2010 * 12, 12) },
    ]);
    // Assess: 2007-01 … 2009-12 are missing inside the window (before, none was reported)
    expect(merged.table.rowCount).toBe(12);
    expect(merged.gaps).toEqual(Array.from({ length: 36 }, (_, i) => monthLabel(2007 * 12 + i)));
  });
});
