import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUTO_PROBE_ROWS, readColumns } from '#core/column-reader.ts';
import { CsvError, type CsvInput, parseCsv } from '#core/csv.ts';

async function* inChunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

/** Every cell as text (missing as ''), or the CsvError's code and line. */
async function cellsOf(input: CsvInput) {
  try {
    const read = await readColumns(input, { modeOf: () => 'text' });
    const columns = read.header.map((_, column) => read.texts(column));
    const rows = Array.from({ length: read.rowCount }, (_, row) => columns.map((cells) => cells[row]));
    return { header: read.header, rows, lines: rows.map((_, row) => read.lineOf(row)) };
  } catch (error) {
    if (error instanceof CsvError) return { error: error.code, line: error.line };
    throw error;
  }
}

/** What parseCsv gives, with missing cells as '' (as the reader's text columns hold them). */
async function referenceCellsOf(text: string) {
  const missing = new Set(['', 'NA', 'N/A', 'n/a', 'NaN', 'nan', 'null', 'NULL', 'None', '#N/A']);
  try {
    const parsed = await parseCsv(text);
    const rows = parsed.rows.map((row) => row.map((cell) => (missing.has(cell.trim()) ? '' : cell)));
    return { header: parsed.header, rows, lines: rows.map((_, row) => parsed.lineOf(row)) };
  } catch (error) {
    if (error instanceof CsvError) return { error: error.code, line: error.line };
    throw error;
  }
}

describe('readColumns', () => {
  it('reads numbers from the bytes exactly as Number() reads their text', async () => {
    // Prepare: plain decimals, exponents, long mantissas (the slow path), signs and spaces
    const cells = [
      '112',
      '-3.5',
      '+.5',
      '2.',
      '1e-3',
      '6.02214076e23',
      '0.1',
      '123456789012345678',
      ' 7 ',
      '-0',
    ];
    // Act
    const read = await readColumns(`x\n${cells.join('\n')}\n`);
    // Assess
    expect(Array.from(read.numbers(0)!.subarray(0, read.rowCount))).toEqual(
      cells.map((cell) => Number(cell)),
    );
    expect(Object.is(read.numbers(0)![9], -0)).toBe(true);
    expect(read.scans[0]).toMatchObject({ numbers: 10, text: 0, missing: 0 });
  });

  it('counts missing, text and infinite cells with the first row and text of each', async () => {
    // Act
    const read = await readColumns('x\n1\nNA\nabc\ninf\n\n5\n""\n', { modeOf: () => 'numeric' });
    // Assess
    expect(read.rowCount).toBe(6);
    expect(read.scans[0]).toMatchObject({
      missing: 2,
      firstMissingRow: 1,
      numbers: 3,
      infinite: 1,
      firstInfiniteRow: 3,
      firstInfiniteCell: 'inf',
      text: 1,
      firstTextRow: 2,
      firstTextCell: 'abc',
    });
    expect(read.lineOf(4)).toBe(7);
  });

  it('keeps a text column exactly as written, numbers included', async () => {
    // Act
    const read = await readColumns('code,y\n01,1\n"A, b",2\n1.50,3\n', {
      modeOf: (name) => (name === 'code' ? 'text' : 'numeric'),
    });
    // Assess
    expect(read.texts(0)).toEqual(['01', 'A, b', '1.50']);
    expect(read.numbers(0)).toBeUndefined();
  });

  it('stops keeping the text of an auto column whose first rows are all numbers', async () => {
    // Prepare
    const rows = Array.from({ length: AUTO_PROBE_ROWS + 10 }, (_, i) => `${i}.50`);
    // Act
    const read = await readColumns(`x\n${rows.join('\n')}\n`, { expectedBytes: 20_000 });
    // Assess
    expect(read.rowCount).toBe(AUTO_PROBE_ROWS + 10);
    expect(read.numbers(0)![AUTO_PROBE_ROWS + 9]).toBe(AUTO_PROBE_ROWS + 9.5);
    expect(read.texts(0)[0]).toBe('0.5');
  });

  it('sizes its columns from the input size for the rows the file holds, not one row per byte', async () => {
    // Prepare: rows of one width, in one chunk, so every row is read before any input is counted as consumed
    const rows = Array.from({ length: 5000 }, (_, i) => `${1000 + i}.25,${1000 + i}`);
    const text = `x,y\n${rows.join('\n')}\n`;
    // Act
    const read = await readColumns(text, { expectedBytes: text.length });
    // Assess: room for the 5000 rows and a little more, where one row per byte would be 10 times as many
    expect(read.rowCount).toBe(5000);
    expect(read.numbers(0)!.length).toBeGreaterThanOrEqual(5000);
    expect(read.numbers(0)!.length).toBeLessThan(5000 * 1.1);
  });

  it('reads any chunking of a file the same, and the same cells and lines as parseCsv', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('a', 'b', ',', '"', '\n', '1', 'NA', ' ', '.', '-', 'é', '\r\n'), {
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 7 }),
        async (parts, chunk) => {
          const text = `h1,h2\n${parts.join('')}`;
          const whole = await cellsOf(text);
          expect(await cellsOf(inChunks(text, chunk))).toEqual(whole);
          // Quote errors in files mixing line ends are reported one line apart; csv-parse counts CR and LF.
          if (!text.includes('\r')) expect(whole).toEqual(await referenceCellsOf(text));
        },
      ),
      { numRuns: 200, seed: 14 },
    );
  });

  it('reads a file of many scans the same in chunks that split its records anywhere', async () => {
    // Prepare: ~300 KB, so records are cut in several 64 KB scans and an incomplete one is carried over
    // into the next chunk, from wherever the last scan stopped (quoted fields with line ends included).
    const lines = Array.from(
      { length: 6000 },
      (_, row) =>
        `${row * 1.25},"text ${row}, with ""quotes""${row % 7 === 0 ? '\nand a line' : ''}",-${row}e-3`,
    );
    const text = `a,b,c\n${lines.join('\n')}\n`;
    const whole = await cellsOf(text);
    // Act / Assess: chunk sizes below, near and above the 64 KB scan.
    for (const size of [997, 65_535, 65_537, 100_003]) {
      expect(await cellsOf(inChunks(text, size)), `chunks of ${size}`).toEqual(whole);
    }
    expect(whole.rows).toHaveLength(6000);
  });

  it('fails on the files parseCsv fails on, with the same code and line', async () => {
    const files = [
      '',
      '\n\n',
      'a,b\n1,2\n3,4,5\n',
      'a,b\n1,2\n"3,4\n5,6\n',
      'a,b\n3"x",4\n',
      'a,b\n"1"x,2\n',
      'a,b,a\n1,2,3\n',
      'a,,c\n1,2,3\n',
      '112,118\n',
    ];
    for (const file of files) expect(await cellsOf(file)).toEqual(await referenceCellsOf(file));
  });

  it('stops at maxRows and maxBytes', async () => {
    await expect(readColumns('a\n1\n2\n3\n', { maxRows: 2 })).rejects.toMatchObject({
      code: 'too_many_rows',
      line: 4,
    });
    await expect(readColumns(inChunks('a\n1\n2\n3\n', 2), { maxBytes: 5 })).rejects.toMatchObject({
      code: 'file_too_large',
    });
  });

  it('passes a failure of the source stream through unchanged', async () => {
    // Prepare
    const broken = new Error('socket hang up');
    async function* failing(): AsyncGenerator<string> {
      yield 'a,b\n1,2\n';
      throw broken;
    }
    // Act / Assess
    await expect(readColumns(failing())).rejects.toBe(broken);
  });
});
