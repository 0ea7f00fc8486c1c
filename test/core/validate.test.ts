import { createReadStream, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ModelSpec, parseSpec } from '#core/spec.ts';
import {
  capProblems,
  dropSizeProblem,
  formatBytes,
  MAX_PROBLEMS_PER_CODE,
  type Problem,
  validateDrop,
} from '#core/validate.ts';

const repoFile = (path: string) => new URL(`../../${path}`, import.meta.url);
const shippedSpec = (name: string) =>
  parseSpec(JSON.parse(readFileSync(repoFile(`data/specs/${name}.json`), 'utf8')));
const airSpec = shippedSpec('air-passengers');
const cancerSpec = shippedSpec('breast-cancer');

/** air-passengers.csv as lines; index 0 is the header (file line 1), index i is file line i + 1. */
const airLines = readFileSync(repoFile('data/air-passengers.csv'), 'utf8').trimEnd().split('\n');
/** The first 40 rows of breast-cancer.csv, both classes included, as lines. */
const cancerLines = readFileSync(repoFile('data/breast-cancer.csv'), 'utf8')
  .trimEnd()
  .split('\n')
  .slice(0, 41);

/** Replaces file line `line` (1-based) of a copy of `lines`. */
function withLine(lines: string[], line: number, text: string): string[] {
  return lines.map((original, index) => (index === line - 1 ? text : original));
}

const csv = (lines: string[]) => `${lines.join('\n')}\n`;

function only(problems: Problem[], code: string): Problem {
  const matching = problems.filter((problem) => problem.problem === code);
  expect(matching, `problems: ${JSON.stringify(problems)}`).toHaveLength(1);
  return matching[0];
}

/** A small regression spec over columns x (numeric), color (categorical) and y (target). */
const tabularSpec = (extra: object = {}): ModelSpec =>
  parseSpec({ name: 'toy', task: 'regression', target: 'y', validation: { minRows: 3 }, ...extra });
const toyLines = ['x,color,y', '1,red,10', '2,blue,20', '3,red,30', '4,blue,40'];

describe('validateDrop on the reference data', () => {
  it('passes air-passengers.csv with its shipped spec and returns the table', async () => {
    // Act
    const report = await validateDrop(createReadStream(repoFile('data/air-passengers.csv')), airSpec);
    // Assess
    expect(report).toMatchObject({ ok: true, rowCount: 144, columns: ['month', 'value'], problems: [] });
    expect(report.table?.columns.map((column) => column.kind)).toEqual(['text', 'numeric']);
  });

  it('passes breast-cancer.csv with its shipped spec, every column numeric', async () => {
    // Act
    const report = await validateDrop(readFileSync(repoFile('data/breast-cancer.csv')), cancerSpec);
    // Assess
    expect(report).toMatchObject({ ok: true, rowCount: 569, problems: [] });
    expect(report.columns).toHaveLength(31);
    expect(report.table?.columns.every((column) => column.kind === 'numeric')).toBe(true);
  });
});

describe('validateDrop on malformed files', () => {
  it.each([
    ['an empty file', '', 'empty_file', 1],
    ['a wrong field count', csv(withLine(airLines, 14, '1950-01,115,3')), 'wrong_field_count', 14],
    ['an unclosed quote', csv(withLine(airLines, 20, '1950-07,"170')), 'unclosed_quote', 20],
  ])('reports %s as one problem with its line, without a table', async (_case, input, code, line) => {
    // Act
    const report = await validateDrop(input, airSpec);
    // Assess
    expect(report).toMatchObject({
      ok: false,
      rowCount: 0,
      problems: [{ severity: 'error', problem: code, row: line }],
    });
    expect(report.problems).toHaveLength(1);
    expect(report.table).toBeUndefined();
  });

  it('reports a file with only a header as too few rows', async () => {
    // Act
    const report = await validateDrop('month,value\n', airSpec);
    // Assess
    expect(report).toMatchObject({ ok: false, rowCount: 0 });
    expect(only(report.problems, 'too_few_rows')).toMatchObject({ count: 0 });
    expect(only(report.problems, 'too_few_rows').message).toContain('needs at least 60 (validation.minRows)');
  });

  it('reports a missing target column and suggests the near miss', async () => {
    // Act
    const report = await validateDrop(csv(withLine(airLines, 1, 'month,Value')), airSpec);
    // Assess
    const problem = only(report.problems, 'missing_column');
    expect(problem).toMatchObject({ severity: 'error', column: 'value', row: 1 });
    expect(problem.message).toContain(
      'column "value" (the target) is not in the header (month, Value); did you mean "Value"?',
    );
  });

  it('reports a missing time column and missing listed features', async () => {
    // Act
    const noTime = await validateDrop(csv(airLines.map((line) => line.split(',')[1])), airSpec);
    const noFeature = await validateDrop(csv(toyLines), tabularSpec({ features: ['x', 'size'] }));
    // Assess
    expect(only(noTime.problems, 'missing_column')).toMatchObject({ column: 'month' });
    expect(only(noFeature.problems, 'missing_column')).toMatchObject({ column: 'size' });
    expect(only(noFeature.problems, 'missing_column').message).toContain('a listed feature');
  });

  it('warns about columns the spec does not use when it lists its features, passes and leaves them out of the table', async () => {
    // Act
    const report = await validateDrop(csv(toyLines), tabularSpec({ features: ['x'] }));
    const unlisted = await validateDrop(csv(toyLines), tabularSpec());
    // Assess: "it will be ignored" holds; without features every column is a feature and is kept
    expect(report.ok).toBe(true);
    expect(only(report.problems, 'unexpected_column')).toMatchObject({
      severity: 'warning',
      column: 'color',
      row: 1,
    });
    expect(report.columns).toEqual(['x', 'color', 'y']);
    expect(report.table?.columns.map((column) => column.name)).toEqual(['x', 'y']);
    expect(unlisted.table?.columns.map((column) => column.name)).toEqual(['x', 'color', 'y']);
  });

  it('reports text in the target with the first line and the count of bad values', async () => {
    // Prepare
    const lines = withLine(withLine(airLines, 14, '1950-01,abc'), 30, '1951-05,1 234');
    // Act
    const report = await validateDrop(csv(lines), airSpec);
    // Assess
    const problem = only(report.problems, 'not_numeric');
    expect(problem).toMatchObject({ severity: 'error', column: 'value', row: 14, count: 2 });
    expect(problem.message).toBe(
      'column "value" line 14: "abc" is not a number (2 values in this column are not numbers); fix or remove the rows',
    );
  });

  it('reports text in a numeric feature, suggesting spec.categorical', async () => {
    // Act
    const report = await validateDrop(csv(withLine(toyLines, 3, 'two,blue,20')), tabularSpec());
    // Assess
    const problem = only(report.problems, 'not_numeric');
    expect(problem).toMatchObject({ column: 'x', row: 3, count: 1 });
    expect(problem.message).toContain('or list the column in spec.categorical');
  });

  it('takes a mostly-text feature as categorical instead of reporting it', async () => {
    // Act
    const report = await validateDrop(csv(toyLines), tabularSpec());
    // Assess
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(report.table?.columns.map((column) => column.kind)).toEqual(['numeric', 'text', 'numeric']);
  });

  it('keeps a numeric-looking column listed as categorical as text', async () => {
    // Act
    const report = await validateDrop(csv(toyLines), tabularSpec({ categorical: ['x', 'color'] }));
    // Assess
    expect(report.ok).toBe(true);
    expect(report.table?.columns[0]).toMatchObject({ name: 'x', kind: 'text', values: ['1', '2', '3', '4'] });
  });

  it('expects numbers in every feature spec.categorical does not list', async () => {
    // Act
    const report = await validateDrop(csv(toyLines), tabularSpec({ categorical: ['x'] }));
    // Assess
    expect(only(report.problems, 'not_numeric')).toMatchObject({ column: 'color', row: 2, count: 4 });
  });

  it('reports blank target cells whatever maxMissing allows', async () => {
    // Prepare
    const lines = withLine(withLine(airLines, 8, '1949-07,'), 9, '1949-08,NA');
    // Act
    const report = await validateDrop(csv(lines), parseSpec({ ...airSpec, validation: { maxMissing: 0.5 } }));
    // Assess
    const problem = only(report.problems, 'missing_values');
    expect(problem).toMatchObject({ column: 'value', row: 8, count: 2 });
    expect(problem.message).toContain('(the target) is empty on line 8 (2 rows without a target)');
  });

  it('reports missing feature values over maxMissing and accepts them within it', async () => {
    // Prepare
    const lines = withLine(toyLines, 4, ',red,30');
    // Act
    const strict = await validateDrop(csv(lines), tabularSpec());
    const lenient = await validateDrop(
      csv(lines),
      tabularSpec({ validation: { minRows: 3, maxMissing: 0.25 }, serving: { missing: 'impute' } }),
    );
    // Assess
    expect(only(strict.problems, 'missing_values')).toMatchObject({ column: 'x', row: 4, count: 1 });
    expect(only(strict.problems, 'missing_values').message).toContain(
      '1 missing value (25% of 4 rows, first on line 4)',
    );
    expect(lenient).toMatchObject({ ok: true, problems: [] });
    expect(Array.from<number | string>(lenient.table?.columns[0].values ?? [])).toEqual([
      1,
      2,
      Number.NaN,
      4,
    ]);
  });

  it('reports Infinity as not finite', async () => {
    // Act
    const report = await validateDrop(csv(withLine(airLines, 10, '1949-09,Infinity')), airSpec);
    // Assess
    expect(only(report.problems, 'not_finite')).toMatchObject({ column: 'value', row: 10, count: 1 });
    expect(report.problems.some((problem) => problem.problem === 'not_numeric')).toBe(false);
  });

  it('reports values outside validation.ranges', async () => {
    // Prepare
    const spec = parseSpec({ ...airSpec, validation: { ranges: { value: { min: 100, max: 600 } } } });
    // Act
    const report = await validateDrop(readFileSync(repoFile('data/air-passengers.csv')), spec);
    // Assess
    // /usr/bin/python3 -c "import pandas as pd; a=pd.read_csv('data/air-passengers.csv');
    //   print(((a.value<100)|(a.value>600)).sum(), a.index[a.value>600][0] + 2, a.value.max())" → 2 140 622
    // (index + 2: the header is line 1); line 140 holds the maximum, 622.
    const problem = only(report.problems, 'out_of_range');
    expect(problem).toMatchObject({ column: 'value', row: 140, count: 2 });
    expect(problem.message).toContain('622 is outside the allowed range [100, 600]');
  });

  it('reports too few rows against the default forecast minimum of lags + 2 × holdout', async () => {
    // Act
    const report = await validateDrop(csv(airLines.slice(0, 51)), airSpec);
    // Assess
    expect(only(report.problems, 'too_few_rows')).toMatchObject({ count: 50 });
  });

  it('reports a month that is not YYYY-MM', async () => {
    // Act
    const report = await validateDrop(csv(withLine(airLines, 5, '1949/04,129')), airSpec);
    // Assess
    const problem = only(report.problems, 'bad_time_format');
    expect(problem).toMatchObject({ column: 'month', row: 5, count: 1 });
    expect(problem.message).toContain('"1949/04" is not a YYYY-MM month');
  });

  it('reports a duplicate month with both lines', async () => {
    // Prepare: line 21 repeats line 20's month, and so 1950-08 goes missing
    const lines = withLine(airLines, 21, `${airLines[19].split(',')[0]},999`);
    // Act
    const report = await validateDrop(csv(lines), airSpec);
    // Assess
    const problem = only(report.problems, 'duplicate_time');
    expect(problem).toMatchObject({ column: 'month', row: 21, count: 1 });
    expect(problem.message).toContain('1950-07 already appears on line 20');
    expect(only(report.problems, 'missing_time').message).toContain('1950-08 is missing');
  });

  it('reports a gap naming the first missing month and the count', async () => {
    // Prepare: drop lines 15-17, months 1950-02 .. 1950-04
    const lines = airLines.filter((_, index) => index < 14 || index > 16);
    // Act
    const report = await validateDrop(csv(lines), airSpec);
    // Assess
    const problem = only(report.problems, 'missing_time');
    expect(problem).toMatchObject({ column: 'month', count: 3 });
    expect(problem.message).toBe(
      'column "month": 1950-02 is missing (3 months missing between 1949-01 and 1960-12: 1950-02, 1950-03, 1950-04); add the missing months',
    );
  });

  it('reports months out of order at the first row that goes back in time', async () => {
    // Prepare: swap lines 30 and 31
    const lines = withLine(withLine(airLines, 30, airLines[30]), 31, airLines[29]);
    // Act
    const report = await validateDrop(csv(lines), airSpec);
    // Assess
    const problem = only(report.problems, 'time_not_sorted');
    expect(problem).toMatchObject({ column: 'month', row: 31, count: 1 });
    expect(problem.message).toContain('1951-05 comes after 1951-06 on line 30; sort the rows by month');
    expect(report.problems.map((found) => found.problem)).toEqual(['time_not_sorted']);
  });

  it('reports non-positive values only when a log transform is forced', async () => {
    // Prepare
    const lines = withLine(airLines, 12, '1949-11,0');
    // Act
    const forced = await validateDrop(csv(lines), parseSpec({ ...airSpec, featurize: { transform: 'log' } }));
    const automatic = await validateDrop(
      csv(lines),
      parseSpec({ ...airSpec, featurize: { transform: 'auto' } }),
    );
    // Assess
    expect(only(forced.problems, 'not_positive')).toMatchObject({ column: 'value', row: 12, count: 1 });
    expect(automatic.ok).toBe(true);
  });

  it('reports a label outside validation.classes', async () => {
    // Prepare
    const lines = withLine(cancerLines, 7, cancerLines[6].replace(/,\d$/, ',2'));
    // Act
    const report = await validateDrop(
      csv(lines),
      parseSpec({ ...cancerSpec, validation: { classes: [0, 1] } }),
    );
    // Assess
    const problem = only(report.problems, 'unknown_class');
    expect(problem).toMatchObject({ column: 'benign', row: 7, count: 1 });
    expect(problem.message).toContain('2 is not one of the classes 0, 1');
  });

  it('reports a single class', async () => {
    // Prepare: keep only the malignant (0) rows
    const lines = [cancerLines[0], ...cancerLines.slice(1).filter((line) => line.endsWith(',0'))];
    // Act
    const report = await validateDrop(csv(lines), cancerSpec);
    // Assess
    const problem = only(report.problems, 'single_class');
    expect(problem).toMatchObject({ column: 'benign', count: 1 });
    expect(problem.message).toContain(`holds only class 0 (${lines.length - 1} rows)`);
  });

  it('accepts a later drop of one class and of fewer rows than validation.minRows', async () => {
    // Prepare: three malignant (0) rows; the model's merged data, not each later drop, must hold two
    // classes and minRows (a day without a positive is data, and its run must not fail on it)
    const lines = [
      cancerLines[0],
      ...cancerLines
        .slice(1)
        .filter((line) => line.endsWith(',0'))
        .slice(0, 3),
    ];
    // Act
    const later = await validateDrop(csv(lines), cancerSpec, { laterDrop: true });
    const first = await validateDrop(csv(lines), cancerSpec);
    // Assess
    expect(later).toMatchObject({ ok: true, rowCount: 3, problems: [] });
    expect(first.problems.map((problem) => problem.problem).sort()).toEqual(['single_class', 'too_few_rows']);
  });

  it('lists at most 10 problems of a code and folds the rest into a counted summary', async () => {
    // Prepare: text in the first 13 of the 30 features on line 2
    const fields = cancerLines[1].split(',');
    const lines = withLine(
      cancerLines,
      2,
      fields.map((field, index) => (index < 13 ? 'n/k' : field)).join(','),
    );
    // Act
    const report = await validateDrop(csv(lines), cancerSpec);
    // Assess
    const notNumeric = report.problems.filter((problem) => problem.problem === 'not_numeric');
    expect(notNumeric).toHaveLength(MAX_PROBLEMS_PER_CODE + 1);
    expect(notNumeric[MAX_PROBLEMS_PER_CODE]).toMatchObject({ severity: 'error', count: 3 });
    expect(notNumeric[MAX_PROBLEMS_PER_CODE].message).toBe(
      '3 more "not_numeric" problems in columns radius_error, texture_error, perimeter_error',
    );
  });

  it('passes a failure of the input stream through instead of reporting it', async () => {
    // Prepare
    const broken = new Error('connection reset');
    async function* failing(): AsyncGenerator<string> {
      yield 'month,value\n';
      throw broken;
    }
    // Act / Assess
    await expect(validateDrop(failing(), airSpec)).rejects.toBe(broken);
  });
});

describe('drop limits', () => {
  it('judges a drop over validation.maxBytes from its size alone, naming the field to raise', () => {
    // Prepare
    const spec = tabularSpec({ validation: { minRows: 3, maxBytes: 1000 } });
    // Act
    const over = dropSizeProblem(1001, spec);
    const at = dropSizeProblem(1000, spec);
    // Assess
    expect(at).toBeUndefined();
    expect(over).toMatchObject({ severity: 'error', problem: 'file_too_large', count: 1001 });
    expect(over?.message).toContain('over the 1000 bytes validation.maxBytes allows');
    expect(over?.message).toContain('raise validation.maxBytes');
  });

  it('has defaults that take a 1M-row drop of 20 columns (about 190 MB)', () => {
    // Act
    const { maxBytes, maxRows } = tabularSpec().validation;
    // Assess
    expect(maxBytes).toBeGreaterThanOrEqual(200 * 2 ** 20);
    expect(maxRows).toBeGreaterThanOrEqual(1_000_000);
  });

  it('stops reading at the first row over validation.maxRows and names the field', async () => {
    // Prepare
    const spec = tabularSpec({ validation: { minRows: 1, maxRows: 3 } });
    // Act
    const report = await validateDrop(csv(toyLines), spec);
    // Assess
    expect(report.ok).toBe(false);
    const problem = only(report.problems, 'too_many_rows');
    expect(problem.row).toBe(5);
    expect(problem.message).toContain('more than 3 data rows');
    expect(problem.message).toContain('raise validation.maxRows');
  });

  it('stops reading past validation.maxBytes when the size was not known up front', async () => {
    // Prepare
    const spec = tabularSpec({ validation: { minRows: 1, maxBytes: 20 } });
    // Act
    const report = await validateDrop(csv(toyLines), spec);
    // Assess
    expect(only(report.problems, 'file_too_large').message).toContain('raise validation.maxBytes');
  });

  it('words sizes for people', () => {
    expect([formatBytes(512), formatBytes(1536), formatBytes(256 * 2 ** 20)]).toEqual([
      '512 bytes',
      '1.5 KB',
      '256 MB',
    ]);
  });
});

describe('capProblems', () => {
  it('keeps warnings as warnings in the summary', () => {
    // Prepare
    const warnings: Problem[] = Array.from({ length: 4 }, (_, index) => ({
      severity: 'warning',
      problem: 'unexpected_column',
      column: `c${index}`,
      message: 'unused',
    }));
    // Act
    const capped = capProblems(warnings, 2);
    // Assess
    expect(capped).toHaveLength(3);
    expect(capped[2]).toMatchObject({
      severity: 'warning',
      count: 2,
      message: '2 more "unexpected_column" problems in columns c2, c3',
    });
  });
});
