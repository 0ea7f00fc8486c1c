import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUTO_PROBE_ROWS, type ReadMode, readColumns } from '#core/column-reader.ts';
import { CsvError, type CsvInput, isMissingCell, parseCsv, parseNumber } from '#core/csv.ts';

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

  /** What a cell holds today: NaN when missing or text, else the number parseNumber reads (Number()). */
  const expectedValue = (cell: string) =>
    isMissingCell(cell) ? Number.NaN : (parseNumber(cell) ?? Number.NaN);

  /**
   * Column x's values as read, from rows `cell,1` (a second column, so an empty cell is not a blank
   * line, which the reader skips).
   */
  async function valuesOf(cells: string[], lineEnd = '\n', mode: ReadMode = 'numeric') {
    const rows = cells.map((cell) => `${cell},1`);
    const read = await readColumns(`x,y${lineEnd}${rows.join(lineEnd)}${lineEnd}`, { modeOf: () => mode });
    expect(read.rowCount).toBe(cells.length);
    return Array.from(read.numbers(0)!.subarray(0, read.rowCount));
  }

  it('reads any decimal exactly as Number() reads its text, on the fast path and off it', async () => {
    // Prepare: signs, 0-20 integer and fraction digits (leading and trailing zeros, 16+ digit
    // mantissas that leave the fast path), a dot or not, sometimes an exponent
    const digits = (max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: max });
    const decimal = fc
      .tuple(
        fc.constantFrom('', '-', '+'),
        digits(20),
        fc.boolean(),
        digits(20),
        fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '-', '+'), digits(3)), {
          nil: undefined,
        }),
      )
      .map(
        ([sign, integer, dot, fraction, exponent]) =>
          `${sign}${integer}${dot ? '.' : ''}${dot ? fraction : ''}${exponent ? exponent.join('') : ''}`,
      );
    await fc.assert(
      fc.asyncProperty(fc.array(decimal, { minLength: 1, maxLength: 50 }), async (cells) => {
        // Act
        const values = await valuesOf(cells);
        // Assess
        cells.forEach((cell, row) => {
          expect(Object.is(values[row], expectedValue(cell)), `"${cell}"`).toBe(true);
        });
      }),
      { numRuns: 300, seed: 1405 },
    );
  });

  it('reads the edge cases of the fast path as Number() does, in numeric and settled auto columns', async () => {
    // Prepare
    const cells = [
      '-0',
      '-0.0',
      '0',
      '1e5',
      '.5',
      '5.',
      '+3',
      '-.25',
      '007',
      '000000000000000000001.5',
      '0.1',
      '0.3',
      '123456789012345',
      '999999999999999.9',
      '1234567890123456',
      '12345678901234567890',
      '9007199254740993',
      '0.1000000000000000055511151231257827',
      '-1.7976931348623157e308',
      '4.9e-324',
      'Infinity',
      '-inf',
      'NaN',
      'NA',
      '',
      ' 7',
      '7 ',
      '1_000',
      '0x10',
      '.',
      '-',
      '1.2.3',
      '--1',
    ];
    // Act
    const numeric = await valuesOf(cells);
    // An auto column keeps its first rows' text; its rows after AUTO_PROBE_ROWS take the fast path.
    const probe = Array.from({ length: AUTO_PROBE_ROWS }, (_, row) => `${row}`);
    const auto = await valuesOf([...probe, ...cells], '\n', 'auto');
    // Assess
    cells.forEach((cell, row) => {
      expect(Object.is(numeric[row], expectedValue(cell)), `"${cell}"`).toBe(true);
      expect(Object.is(auto[AUTO_PROBE_ROWS + row], expectedValue(cell)), `auto "${cell}"`).toBe(true);
    });
    expect(Object.is(numeric[0], -0)).toBe(true);
    expect(numeric[20]).toBe(Number.POSITIVE_INFINITY);
  });

  it('reads runs of plain records and the records between them as parseCsv and Number() read them', async () => {
    // Prepare: numeric (or auto) columns whose records are mostly plain decimals, the others with a cell
    // that is not (empty, NA, text, quoted, exponent, 16 digits, a space, an infinity), blank lines, a
    // record with a field too many or too few; each line end; in whole and in chunks
    const plainCell = fc
      .tuple(fc.constantFrom('', '-', '+'), fc.nat(99_999), fc.nat(99_999))
      .map(([sign, integer, fraction]) => `${sign}${integer}.${fraction}`);
    const otherCell = fc.constantFrom('', 'NA', 'abc', '"1.5"', '1e3', '1234567890.123456', ' 7', 'inf', '-');
    const plainRecord = fc.array(plainCell, { minLength: 3, maxLength: 3 }).map((cells) => cells.join(','));
    const otherRecord = fc.oneof(
      { weight: 8, arbitrary: fc.tuple(plainCell, otherCell, plainCell).map((cells) => cells.join(',')) },
      { weight: 2, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.constantFrom('1,2', '1,2,3,4') },
    );
    // Runs of up to 300 plain records (more than one block of them), each followed by another record
    const records = fc
      .array(fc.tuple(fc.array(plainRecord, { maxLength: 300, size: 'max' }), otherRecord), { maxLength: 4 })
      .map((runs) => runs.flatMap(([plain, other]) => [...plain, other]));
    await fc.assert(
      fc.asyncProperty(
        records,
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.constantFrom<ReadMode>('numeric', 'auto'),
        fc.integer({ min: 1, max: 5000 }),
        async (records, lineEnd, mode, chunk) => {
          const text = `a,b,c${lineEnd}${records.join(lineEnd)}${lineEnd}`;
          const reference = await referenceCellsOf(text);
          for (const input of [text, inChunks(text, chunk)]) {
            // Act
            let read: Awaited<ReturnType<typeof readColumns>>;
            try {
              read = await readColumns(input, { modeOf: () => mode });
            } catch (error) {
              if (!(error instanceof CsvError)) throw error;
              // Assess: the same failure
              expect({ error: error.code, line: error.line }).toEqual(reference);
              continue;
            }
            // Assess: the same numbers (bit for bit), lines and counts
            const { rows, lines } = reference;
            if (rows === undefined) throw new Error(`parseCsv failed where readColumns did not: ${text}`);
            expect(read.rowCount).toBe(rows.length);
            for (let column = 0; column < 3; column++) {
              const cells = rows.map((row) => row[column]);
              const values = Array.from(read.numbers(column)!.subarray(0, read.rowCount));
              expect(values.map((value, row) => Object.is(value, expectedValue(cells[row])))).not.toContain(
                false,
              );
              const kinds = cells.map((cell) =>
                cell === '' ? 'missing' : parseNumber(cell) === undefined ? 'text' : 'number',
              );
              expect(read.scans[column]).toMatchObject({
                missing: kinds.filter((kind) => kind === 'missing').length,
                text: kinds.filter((kind) => kind === 'text').length,
                infinite: cells.filter(
                  (cell) => Math.abs(parseNumber(cell) ?? 0) === Number.POSITIVE_INFINITY,
                ).length,
              });
            }
            expect(rows.map((_, row) => read.lineOf(row))).toEqual(lines);
          }
        },
      ),
      { numRuns: 60, seed: 1410 },
    );
  });

  it('reads a CR alone in a file of CRLF line ends as data, within a run of plain records', async () => {
    // Prepare: the CR between 2 and 5 neither ends its record nor is a number
    const rows = Array.from({ length: 20 }, (_, row) => `${row}.5,-${row}`);
    rows[10] = '10.5,2\r5';
    // Act
    const read = await readColumns(`a,b\r\n${rows.join('\r\n')}\r\n`, { modeOf: () => 'numeric' });
    // Assess
    expect(read.rowCount).toBe(20);
    expect(read.numbers(1)![10]).toBeNaN();
    expect(read.scans[1]).toMatchObject({ text: 1, firstTextRow: 10, firstTextCell: '2\r5' });
    expect([read.numbers(0)![11], read.numbers(1)![11], read.lineOf(11)]).toEqual([11.5, -11, 13]);
  });

  it('reads numbers the same with CRLF line ends, a byte-order mark and a last line without its end', async () => {
    // Prepare
    const cells = ['1.5', '-2', '3e2', '', '4.25'];
    const expected = cells.map(expectedValue);
    // Act
    const crlf = await valuesOf(cells, '\r\n');
    const withBom = await readColumns(`\ufeffx,y\n${cells.map((cell) => `${cell},1`).join('\n')}`, {
      modeOf: () => 'numeric',
    });
    // Assess
    expect(crlf).toEqual(expected);
    expect(withBom.header).toEqual(['x', 'y']);
    expect(Array.from(withBom.numbers(0)!.subarray(0, withBom.rowCount))).toEqual(expected);
    expect(Array.from(withBom.numbers(1)!.subarray(0, withBom.rowCount))).toEqual([1, 1, 1, 1, 1]);
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

  it('keeps the text of an auto column whose first rows hold text, every cell as written', async () => {
    // Prepare: column a meets text in its probe rows, among numbers written in forms their value does
    // not keep ('01', '1.50'), quoted cells (one across lines) and empty ones; b holds numbers only
    const a = Array.from({ length: AUTO_PROBE_ROWS + 20 }, (_, row) => `${row}.50`);
    a[0] = '01';
    a[3] = '';
    a[7] = '"x, ""y""\nz"';
    a[AUTO_PROBE_ROWS - 1] = 'word';
    a[AUTO_PROBE_ROWS + 5] = 'later';
    const b = a.map((_, row) => `${row}.50`);
    const text = `a,b\n${a.map((cell, row) => `${cell},${b[row]}`).join('\n')}\n`;
    const asWritten = a.map((cell) => (cell.startsWith('"') ? 'x, "y"\nz' : cell));
    // Act: whole, and in chunks that split the probe rows
    for (const input of [text, inChunks(text, 997)]) {
      const read = await readColumns(input);
      // Assess
      expect(read.texts(0)).toEqual(asWritten);
      expect(read.numbers(0)![0]).toBe(1);
      expect(read.scans[0]).toMatchObject({ text: 3, firstTextRow: 7, missing: 1, firstMissingRow: 3 });
      expect(read.texts(1)).toEqual(b.map((cell) => String(Number(cell))));
      expect(read.lineOf(8)).toBe(11);
    }
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

  it('reads large chunks in place after the record cut at their start, however long that record is', async () => {
    // Prepare: records of a few bytes to ~40 KB (a quoted field with line ends inside), so the record cut
    // at a chunk's start ends within the first 4 KB of the chunk, or after several doublings of what is
    // joined to it, or past the chunk's middle; with each of the three line ends.
    const lines = Array.from({ length: 400 }, (_, row) => {
      const long = row % 9 === 0 ? `"${'x, "", y\n'.repeat(row * 10)}"` : `t${row}`;
      return `${row}.5,${long},-${row}`;
    });
    for (const end of ['\n', '\r\n', '\r']) {
      const text = `a,b,c${end}${lines.join(end)}${end}`;
      const whole = await cellsOf(text);
      // Act / Assess: chunk sizes from the smallest read in place (16 KB) up.
      for (const size of [16_384, 20_011, 65_537, 100_003]) {
        expect(await cellsOf(inChunks(text, size)), `chunks of ${size}`).toEqual(whole);
      }
      expect(whole.rows).toHaveLength(400);
    }
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

  it('fails a file that is not UTF-8 with not_utf8 and the line of the first bad byte, as parseCsv does, in any chunking', async () => {
    // Prepare: what Excel's plain "CSV" (Windows-1252) and "Unicode text" (UTF-16) exports hold
    async function* byteChunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
      for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
    }
    const files: [string, Uint8Array, number][] = [
      [
        'Windows-1252 in a quoted field, on its second line',
        Buffer.from('city,y\nZurich,1\n"x\nK\xf6ln",2\n', 'latin1'),
        4,
      ],
      [
        'Windows-1252 after CRLF and a blank line',
        Buffer.from('a,b\r\n1,2\r\n\r\n3,caf\xe9\r\n', 'latin1'),
        4,
      ],
      [
        'a UTF-16 surrogate encoded as UTF-8',
        Buffer.from([...Buffer.from('a\n1\n'), 0xed, 0xa0, 0x80, 0x0a]),
        3,
      ],
      ['a character cut by the end of the file', Buffer.from([...Buffer.from('a,b\n1,'), 0xc3]), 2],
      ['UTF-16 with its byte-order mark', Buffer.from('\ufeffmonth,value\n1949-01,112\n', 'utf16le'), 1],
    ];
    for (const [what, bytes, line] of files) {
      // Act
      const reference = await parseCsv(bytes).then(
        () => 'read',
        (error: CsvError) => ({ error: error.code, line: error.line }),
      );
      const reads = await Promise.all(
        [1, 2, 3, 5, 7, bytes.length].map((size) => cellsOf(byteChunks(bytes, size))),
      );
      // Assess
      expect({ what, reference }).toEqual({ what, reference: { error: 'not_utf8', line } });
      expect({ what, reads }).toEqual({ what, reads: reads.map(() => reference) });
    }
    await expect(readColumns(files[4][1])).rejects.toThrow(/UTF-16.*save it as UTF-8/);
    await expect(readColumns(files[0][1])).rejects.toThrow(
      /line 4: byte 0xF6 is not UTF-8.*save it as UTF-8/,
    );
  });

  it('reads characters of 2, 3 and 4 bytes cut by any chunk boundary', async () => {
    // Prepare
    const text = 'city,sign\nZürich,€\nKöln,😀\n"Genève\n€",ß\n';
    const whole = await cellsOf(text);
    // Act + Assess
    expect(whole).toMatchObject({
      rows: [
        ['Zürich', '€'],
        ['Köln', '😀'],
        ['Genève\n€', 'ß'],
      ],
    });
    for (const size of [1, 2, 3, 4, 5, 6, 7])
      expect(await cellsOf(inChunks(text, size)), `chunks of ${size}`).toEqual(whole);
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

  it('frees the chunks it is handed once read, and only chunks that are a whole buffer', async () => {
    // Prepare: ~340 KB in whole-buffer chunks (copies) and in views into one buffer, records split
    const text = `a,b\n${Array.from({ length: 20_000 }, (_, row) => `${row}.5,"r ${row}"`).join('\n')}\n`;
    const handed: Uint8Array[] = [];
    async function* copies(): AsyncGenerator<Uint8Array> {
      for await (const chunk of inChunks(text, 70_001)) {
        const copy = chunk.slice();
        handed.push(copy);
        yield copy;
      }
    }
    const views: Uint8Array[] = [];
    async function* viewsOf(): AsyncGenerator<Uint8Array> {
      for await (const chunk of inChunks(text, 70_001)) {
        views.push(chunk);
        yield chunk;
      }
    }
    const modeOf = (name: string): ReadMode => (name === 'a' ? 'numeric' : 'text');
    // Act
    const kept = await readColumns(text, { modeOf });
    const fromCopies = await readColumns(copies(), { modeOf, releaseChunks: true });
    const fromViews = await readColumns(viewsOf(), { modeOf, releaseChunks: true });
    // Assess: the same table, every handed-over copy detached, the views into a shared buffer intact
    for (const read of [fromCopies, fromViews]) {
      expect(read.rowCount).toBe(20_000);
      expect(read.numbers(0)!.subarray(0, read.rowCount)).toEqual(
        kept.numbers(0)!.subarray(0, kept.rowCount),
      );
      expect(read.texts(1)).toEqual(kept.texts(1));
    }
    // A view of a detached buffer is empty.
    expect(handed.length).toBeGreaterThan(1);
    expect(handed.map((chunk) => chunk.byteLength)).toEqual(handed.map(() => 0));
    expect(views.every((chunk) => chunk.byteLength > 0)).toBe(true);
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
