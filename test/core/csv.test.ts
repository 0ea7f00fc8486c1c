import { createReadStream, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CsvError,
  type CsvInput,
  type CsvLimits,
  columnKinds,
  isMissingCell,
  parseCsv,
  parseNumber,
  toCsv,
  toTable,
} from '#core/csv.ts';
import type { Column, Table } from '#core/types.ts';

const dataPath = (name: string) => new URL(`../../data/${name}`, import.meta.url);

async function csvErrorOf(input: CsvInput, limits?: CsvLimits): Promise<CsvError> {
  try {
    await parseCsv(input, limits);
  } catch (error) {
    if (error instanceof CsvError) return error;
    throw error;
  }
  throw new Error('expected parseCsv to throw a CsvError');
}

async function* inChunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

describe('parseCsv', () => {
  it('reads the header and rows and knows the line of each row', async () => {
    // Act
    const parsed = await parseCsv('month,value\n1949-01,112\n1949-02,118\n');
    // Assess
    expect(parsed.header).toEqual(['month', 'value']);
    expect(parsed.rows).toEqual([
      ['1949-01', '112'],
      ['1949-02', '118'],
    ]);
    expect([parsed.lineOf(0), parsed.lineOf(1)]).toEqual([2, 3]);
    expect(() => parsed.lineOf(2)).toThrow(RangeError);
  });

  it('handles a byte-order mark, CRLF line ends and a missing final newline', async () => {
    // Act
    const parsed = await parseCsv('\uFEFFmonth,value\r\n1949-01,112\r\n1949-02,118');
    // Assess
    expect(parsed.header).toEqual(['month', 'value']);
    expect(parsed.rows).toEqual([
      ['1949-01', '112'],
      ['1949-02', '118'],
    ]);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks, counting lines from where a row starts', async () => {
    // Act
    const parsed = await parseCsv('id,note\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,x\n');
    // Assess
    expect(parsed.rows.map((row) => row[1])).toEqual(['a, b', 'say "hi"', 'two\nlines', 'x']);
    expect(parsed.rows.map((_, index) => parsed.lineOf(index))).toEqual([2, 3, 4, 6]);
  });

  it('skips blank lines but keeps counting them, and trims header names', async () => {
    // Act
    const parsed = await parseCsv(' a , b\n\n1,2\n\n\n3,4\n');
    // Assess
    expect(parsed.header).toEqual(['a', 'b']);
    expect(parsed.rows.map((_, index) => parsed.lineOf(index))).toEqual([3, 6]);
  });

  it('reads bytes and a stream split inside a multi-byte character the same as a string', async () => {
    // Prepare
    const text = 'city,temp\nZürich,12.5\nMálaga,€\n';
    const bytes = new TextEncoder().encode(text);
    // Act
    const [fromString, fromBytes, fromStream] = await Promise.all([
      parseCsv(text),
      parseCsv(bytes),
      parseCsv(inChunks(bytes, 1)),
    ]);
    // Assess
    expect(fromBytes.rows).toEqual(fromString.rows);
    expect(fromStream.rows).toEqual(fromString.rows);
    expect(fromStream.rows[1]).toEqual(['Málaga', '€']);
  });

  it('reads an empty one-column cell only when quoted, since blank lines are skipped', async () => {
    // Act
    const parsed = await parseCsv('a\n""\n1\n');
    // Assess
    expect(parsed.rows).toEqual([[''], ['1']]);
  });

  it('returns no rows for a file with only a header', async () => {
    // Act
    const parsed = await parseCsv('month,value\n');
    // Assess
    expect(parsed).toMatchObject({ header: ['month', 'value'], rows: [] });
  });

  it.each([
    ['an empty file', '', 'empty_file', 1, 'the file is empty'],
    ['only blank lines', '\n\n', 'empty_file', 1, 'the file is empty'],
    [
      'a row with a field too many',
      'a,b\n1,2\n1,2\n3,4,5\n',
      'wrong_field_count',
      4,
      'line 4 has 3 fields, the header has 2',
    ],
    [
      'a row with a field too few',
      'a,b\n1,2\n\n3\n',
      'wrong_field_count',
      4,
      'line 4 has 1 field, the header has 2',
    ],
    [
      'an unclosed quote',
      'a,b\n1,2\n"3,4\n5,6\n',
      'unclosed_quote',
      3,
      'line 3 opens a quoted field that is never closed',
    ],
    ['a quote inside a field', 'a,b\n1,2\n3"x",4\n', 'bad_quote', 3, 'line 3 has a misplaced quote'],
    ['text after a closing quote', 'a,b\n"1"x,2\n', 'bad_quote', 2, 'line 2 has a misplaced quote'],
    [
      'a duplicate header name',
      'a,b,a\n1,2,3\n',
      'duplicate_column',
      1,
      'column "a" appears twice (columns 1 and 3)',
    ],
    ['a blank header name', 'a,,c\n1,2,3\n', 'blank_column_name', 1, 'column 2 has no name'],
    ['no header', '112,118\n132,129\n', 'no_header', 1, 'line 1 looks like data, not a header'],
  ])('turns %s into a CsvError', async (_case, input, code, line, message) => {
    // Act
    const error = await csvErrorOf(input);
    // Assess
    expect(error).toMatchObject({ name: 'CsvError', code, line });
    expect(error.message).toContain(message);
  });

  it('stops at maxRows and maxBytes with a CsvError', async () => {
    // Act
    const tooManyRows = await csvErrorOf('a\n1\n2\n3\n', { maxRows: 2 });
    const tooLarge = await csvErrorOf(inChunks(new TextEncoder().encode('a\n1\n2\n3\n'), 2), { maxBytes: 5 });
    // Assess
    expect(tooManyRows).toMatchObject({ code: 'too_many_rows', line: 4 });
    expect(tooManyRows.message).toContain('more than 2 data rows');
    expect(tooLarge).toMatchObject({ code: 'file_too_large' });
    expect(tooLarge.message).toContain('larger than 5 bytes');
  });

  it('passes a failure of the source stream through unchanged', async () => {
    // Prepare
    const broken = new Error('socket hang up');
    async function* failing(): AsyncGenerator<string> {
      yield 'a,b\n1,2\n';
      throw broken;
    }
    // Act / Assess
    await expect(parseCsv(failing())).rejects.toBe(broken);
  });
});

describe('cells', () => {
  it('reads blanks and NA-like tokens as missing', () => {
    expect(['', '  ', 'NA', 'N/A', 'NaN', 'null', 'None', '#N/A'].every(isMissingCell)).toBe(true);
    expect(['0', 'na?', 'none of them'].some(isMissingCell)).toBe(false);
  });

  it('parses plain decimals and infinities, nothing else', () => {
    expect(['12', ' -3.5 ', '+.5', '1e-3', '2.', 'Infinity', '-inf'].map(parseNumber)).toEqual([
      12,
      -3.5,
      0.5,
      0.001,
      2,
      Infinity,
      -Infinity,
    ]);
    expect(['0x10', '1,000', 'abc', '1e', '--1'].map(parseNumber)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('toTable', () => {
  it('infers numeric and text columns, with NaN and empty strings for missing cells', async () => {
    // Prepare
    const parsed = await parseCsv('x,y,label\n1,NA,a\n2.5, 3 ,\n,1e3,c\n');
    // Act
    const table = toTable(parsed);
    // Assess
    expect(table.rowCount).toBe(3);
    expect(table.columns.map((column) => [column.name, column.kind])).toEqual([
      ['x', 'numeric'],
      ['y', 'numeric'],
      ['label', 'text'],
    ]);
    expect(Array.from(table.columns[0].values as Float64Array)).toEqual([1, 2.5, Number.NaN]);
    expect(Array.from(table.columns[1].values as Float64Array)).toEqual([Number.NaN, 3, 1000]);
    expect(table.columns[2].values).toEqual(['a', '', 'c']);
  });

  it('reads a column with an infinity or no numbers at all as text unless told otherwise', async () => {
    // Prepare
    const parsed = await parseCsv('x,y,z\nInfinity,,01\n1,,02\n');
    // Act
    const inferred = toTable(parsed);
    const told = toTable(parsed, { numeric: ['y'], text: ['z'] });
    // Assess
    expect(inferred.columns.map((column) => column.kind)).toEqual(['text', 'text', 'numeric']);
    expect(told.columns.map((column) => column.kind)).toEqual(['text', 'numeric', 'text']);
    expect(told.columns[2].values).toEqual(['01', '02']);
  });

  it('throws a CsvError naming the line when a column told numeric holds text', async () => {
    // Prepare
    const parsed = await parseCsv('month,value\n1949-01,112\n1949-02,abc\n');
    // Act / Assess
    expect(() => toTable(parsed, { numeric: ['value'] })).toThrow(
      expect.objectContaining({ name: 'CsvError', code: 'not_numeric', line: 3 }),
    );
  });

  it('throws a RangeError for kinds naming unknown columns or one column twice', async () => {
    // Prepare
    const parsed = await parseCsv('a,b\n1,2\n');
    // Act / Assess
    expect(() => toTable(parsed, { numeric: ['c'] })).toThrow(/no column "c"/);
    expect(() => toTable(parsed, { numeric: ['a'], text: ['a'] })).toThrow(/both numeric and text/);
  });

  it('reads breast-cancer.csv as pandas does: 569 rows, 31 numeric columns', async () => {
    // /usr/bin/python3 -c "import pandas as pd; d=pd.read_csv('data/breast-cancer.csv');
    //   print(d.shape, repr(d.mean_radius.sum()), repr(d.worst_area.max()), d.benign.sum())"
    // → (569, 31) 8038.429 4254.0 357
    // Act
    const table = toTable(await parseCsv(createReadStream(dataPath('breast-cancer.csv'))));
    // Assess
    const column = (name: string) =>
      table.columns.find((candidate) => candidate.name === name)?.values as Float64Array;
    expect(table.rowCount).toBe(569);
    expect(table.columns).toHaveLength(31);
    expect(table.columns.every((candidate) => candidate.kind === 'numeric')).toBe(true);
    expect(column('mean_radius').reduce((sum, value) => sum + value, 0)).toBeCloseTo(8038.429, 9);
    expect(Math.max(...column('worst_area'))).toBe(4254);
    expect(column('benign').reduce((sum, value) => sum + value, 0)).toBe(357);
  });
});

describe('toCsv', () => {
  it('quotes only the fields that need it and writes missing values as empty fields', () => {
    // Prepare
    const table: Table = {
      rowCount: 3,
      columns: [
        { name: 'x', kind: 'numeric', values: new Float64Array([1, Number.NaN, 0.1 + 0.2]) },
        { name: 'note, free text', kind: 'text', values: ['plain', 'a "quote"', ' padded'] },
      ],
    };
    // Act
    const csv = toCsv(table);
    // Assess
    expect(csv).toBe('x,"note, free text"\n1,plain\n,"a ""quote"""\n0.30000000000000004," padded"\n');
  });

  it('writes a lone empty field as "" so it is not read back as a blank line', async () => {
    // Prepare
    const table: Table = { rowCount: 2, columns: [{ name: 'a', kind: 'text', values: ['', 'x'] }] };
    // Act
    const back = toTable(await parseCsv(toCsv(table)), columnKinds(table));
    // Assess
    expect(back).toEqual(table);
  });

  it('throws a RangeError for an infinite number', () => {
    // Prepare
    const table: Table = {
      rowCount: 1,
      columns: [{ name: 'a', kind: 'numeric', values: new Float64Array([Infinity]) }],
    };
    // Act / Assess
    expect(() => toCsv(table)).toThrow(/column "a" row 0 holds Infinity/);
  });

  it('writes air-passengers.csv back byte for byte', async () => {
    // Prepare
    const bytes = readFileSync(dataPath('air-passengers.csv'), 'utf8');
    // Act
    const written = toCsv(toTable(await parseCsv(bytes)));
    // Assess
    expect(written).toBe(bytes);
  });

  it('round-trips any table through parseCsv and toTable', async () => {
    // Prepare
    const name = fc.string({ minLength: 1, maxLength: 8 }).filter((text) => text.trim() !== '');
    const numericColumn = (rows: number) =>
      fc
        .array(fc.oneof(fc.double({ noDefaultInfinity: true }), fc.constant(Number.NaN)), {
          minLength: rows,
          maxLength: rows,
        })
        .map((values): Omit<Column, 'name'> => ({ kind: 'numeric', values: new Float64Array(values) }));
    const textColumn = (rows: number) =>
      fc.array(fc.string({ unit: 'binary', maxLength: 6 }), { minLength: rows, maxLength: rows }).map(
        (values): Omit<Column, 'name'> => ({
          kind: 'text',
          // Missing-value tokens are stored as '' on the way in, so that is what a table can hold.
          values: values.map((value) => (isMissingCell(value) ? '' : value)),
        }),
      );
    const tables = fc.integer({ min: 0, max: 6 }).chain((rows) =>
      fc
        .uniqueArray(fc.tuple(name, fc.oneof(numericColumn(rows), textColumn(rows))), {
          minLength: 1,
          maxLength: 4,
          selector: ([columnName]) => columnName.trim(),
        })
        // Header names are trimmed and must not all look like numbers (that reads as a missing header).
        .filter((columns) => columns.some(([columnName]) => parseNumber(columnName) === undefined))
        .map(
          (columns): Table => ({
            rowCount: rows,
            columns: columns.map(
              ([columnName, column]) => ({ ...column, name: columnName.trim() }) as Column,
            ),
          }),
        ),
    );
    // Act / Assess
    await fc.assert(
      fc.asyncProperty(tables, async (table) => {
        const back = toTable(await parseCsv(toCsv(table)), columnKinds(table));
        expect(back).toEqual(table);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});
