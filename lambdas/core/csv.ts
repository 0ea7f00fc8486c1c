/**
 * CSV in and out. {@link parseCsv} streams a drop (a string, bytes or an S3 body stream) through
 * csv-parse and turns every way a file can be malformed into a {@link CsvError} that names the line
 * and says what to fix; {@link toTable} builds the column-major {@link Table}; {@link toCsv} writes one
 * back in a canonical form (the form {@link Table} hashes are taken of).
 */
import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type InfoRecord, CsvError as ParserError, parse } from 'csv-parse';
import type { Column, Table } from './types.ts';

/** A CSV source: text, bytes, or chunks as they arrive (e.g. an S3 `GetObject` body). */
export type CsvInput = string | Uint8Array | AsyncIterable<Uint8Array | string>;

/** Guards against drops too big for a Lambda's memory. */
export interface CsvLimits {
  /** Most data rows (header excluded) accepted. */
  maxRows?: number;
  /** Most bytes read from the input. */
  maxBytes?: number;
}

/** A parsed CSV: the header and the data rows as text, each row as long as the header. */
export interface ParsedCsv {
  header: string[];
  rows: string[][];
  /** The 1-based file line a data row starts on (the header is line 1 when the file has no blank lines). */
  lineOf(rowIndex: number): number;
}

/** What is wrong with a file that cannot be read as a table. */
export type CsvProblem =
  | 'empty_file'
  | 'no_header'
  | 'blank_column_name'
  | 'duplicate_column'
  | 'wrong_field_count'
  | 'unclosed_quote'
  | 'bad_quote'
  | 'record_too_large'
  | 'not_utf8'
  | 'file_too_large'
  | 'too_many_rows'
  | 'not_numeric'
  | 'malformed_csv';

/** A file that cannot be read as a table; `line` is the 1-based line to look at. */
export class CsvError extends Error {
  override readonly name = 'CsvError';
  readonly code: CsvProblem;
  readonly line: number;

  constructor(code: CsvProblem, line: number, message: string) {
    super(message);
    this.code = code;
    this.line = line;
  }
}

/** Cell texts read as a missing value (after trimming), as pandas' default `na_values` do. */
export const MISSING_TOKENS: ReadonlySet<string> = new Set([
  '',
  'NA',
  'N/A',
  'n/a',
  'NaN',
  'nan',
  'null',
  'NULL',
  'None',
  '#N/A',
]);
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INFINITY = /^[+-]?(inf|infinity)$/i;

/** Whether a cell's text stands for a missing value. */
export function isMissingCell(text: string): boolean {
  return MISSING_TOKENS.has(text.trim());
}

/**
 * The number a cell's text spells: a plain decimal (`12`, `-3.5`, `1e-3`, surrounding spaces allowed)
 * or ±Infinity for `inf`/`Infinity`; `undefined` for anything else (hex, thousands separators, words).
 * Check {@link isMissingCell} first: `NaN` and blanks are missing, not numbers.
 */
export function parseNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (DECIMAL.test(trimmed)) return Number(trimmed);
  if (INFINITY.test(trimmed)) return trimmed.startsWith('-') ? -Infinity : Infinity;
  return undefined;
}

/** How many bytes the UTF-8 sequence that starts with `lead` has (1 for a byte no sequence starts with). */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  return 1;
}

/**
 * The character of `bytes` at `index`, read up to `end`: its length when it is well-formed UTF-8, 0
 * when it is not, -1 when what is there is well-formed so far but cut by `end`. The second byte's range
 * excludes overlong forms and UTF-16 surrogates (RFC 3629, section 4).
 */
function characterAt(bytes: ArrayLike<number>, index: number, end: number): number {
  const lead = bytes[index];
  if (lead < 0x80) return 1;
  const length = sequenceLength(lead);
  if (length === 1) return 0;
  for (let next = 1; next < length; next++) {
    if (index + next >= end) return -1;
    const byte = bytes[index + next];
    const [low, high] =
      next > 1
        ? [0x80, 0xbf]
        : lead === 0xe0
          ? [0xa0, 0xbf]
          : lead === 0xed
            ? [0x80, 0x9f]
            : lead === 0xf0
              ? [0x90, 0xbf]
              : lead === 0xf4
                ? [0x80, 0x8f]
                : [0x80, 0xbf];
    if (byte < low || byte > high) return 0;
  }
  return length;
}

/** A byte that is not UTF-8: its offset in the chunk it was found with (negative: in the chunk before). */
export interface BadByte {
  at: number;
  byte: number;
}

/**
 * Checks that a file is UTF-8, chunk by chunk as it arrives (a character cut by a chunk's end is
 * checked with the next chunk; the fast check is Node's `isUtf8`, the slow walk only finds the byte
 * it refused). Windows' plain "CSV" export writes Windows-1252, whose accented letters are not UTF-8:
 * decoded anyway, each would become U+FFFD, and two categories that differ only there one.
 */
export class Utf8Check {
  /** The bytes of a character the last chunk ended inside. */
  private tail: number[] = [];

  /** The first byte that is not UTF-8 in `chunk` (or in the character the last chunk ended inside). */
  check(chunk: Uint8Array): BadByte | undefined {
    let start = 0;
    if (this.tail.length > 0) {
      const before = this.tail.length;
      const taken = Math.min(sequenceLength(this.tail[0]) - before, chunk.length);
      this.tail.push(...chunk.subarray(0, taken));
      const length = characterAt(this.tail, 0, this.tail.length);
      if (length === 0) return { at: -before, byte: this.tail[0] };
      if (length < 0) return undefined;
      this.tail = [];
      start = taken;
    }
    // A character that starts in the last 3 bytes and does not end in them waits for the next chunk.
    let end = chunk.length;
    for (let index = chunk.length - 1; index >= Math.max(start, chunk.length - 3); index--) {
      if ((chunk[index] & 0xc0) === 0x80) continue;
      if (index + sequenceLength(chunk[index]) > chunk.length) end = index;
      break;
    }
    if (!isUtf8(chunk.subarray(start, end))) {
      let index = start;
      for (let length = characterAt(chunk, index, end); length > 0; length = characterAt(chunk, index, end))
        index += length;
      return { at: index, byte: chunk[index] };
    }
    if (end < chunk.length && characterAt(chunk, end, chunk.length) === 0)
      return { at: end, byte: chunk[end] };
    this.tail = [...chunk.subarray(end)];
    return undefined;
  }

  /** Whether the input ended inside a character. */
  get incomplete(): boolean {
    return this.tail.length > 0;
  }
}

/**
 * The error for a file that is not UTF-8 at line `line`: `byte` is the first bad byte (undefined when
 * the file ends inside a character), `fileStart` the file's first bytes when the bad byte is its first,
 * to name UTF-16 when they are its byte-order mark.
 */
export function notUtf8Error(line: number, byte: number | undefined, fileStart?: Uint8Array): CsvError {
  const save = 'save it as UTF-8 (in Excel: "CSV UTF-8")';
  const [first, second] = fileStart ?? [];
  if ((first === 0xff && second === 0xfe) || (first === 0xfe && second === 0xff))
    return new CsvError(
      'not_utf8',
      1,
      `the file is UTF-16 text (it starts with a UTF-16 byte-order mark), not UTF-8; ${save}`,
    );
  const what =
    byte === undefined
      ? 'the file ends inside a character'
      : `byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} is not UTF-8`;
  return new CsvError(
    'not_utf8',
    line,
    `line ${line}: ${what}; the file is in another encoding (Windows-1252 or Latin-1, as Excel's plain "CSV" writes them?): ${save}`,
  );
}

/**
 * Line breaks in `bytes[from, to)`: LF, CRLF and a lone CR each count once (`afterCr`: the byte before
 * `from` was a CR, so an LF at `from` ends that line, not another).
 */
function lineBreaks(bytes: Uint8Array, from: number, to: number, afterCr = false): number {
  let count = 0;
  for (let index = from; index < to; index++) {
    const byte = bytes[index];
    if (byte === 0x0d) count++;
    else if (byte === 0x0a && !(index === from ? afterCr : bytes[index - 1] === 0x0d)) count++;
  }
  return count;
}

async function* byteChunks(
  input: CsvInput,
  maxBytes: number,
  lineReached: () => number,
): AsyncGenerator<Buffer> {
  const chunks: AsyncIterable<Uint8Array | string> | (Uint8Array | string)[] =
    typeof input === 'string' || input instanceof Uint8Array ? [input] : input;
  let bytes = 0;
  const utf8 = new Utf8Check();
  let line = 1;
  let afterCr = false;
  for await (const chunk of chunks) {
    const buffer =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    bytes += buffer.byteLength;
    if (bytes > maxBytes) {
      throw new CsvError(
        'file_too_large',
        lineReached(),
        `the file is larger than ${maxBytes} bytes, the most accepted; split it into smaller drops`,
      );
    }
    const bad = utf8.check(buffer);
    if (bad) {
      // The lines before the bad byte go to the parser first, so an earlier error is the one reported.
      const at = Math.max(bad.at, 0);
      yield buffer.subarray(0, at);
      const first = bytes === buffer.byteLength && bad.at === 0 ? buffer : undefined;
      throw notUtf8Error(line + lineBreaks(buffer, 0, at, afterCr), bad.byte, first);
    }
    line += lineBreaks(buffer, 0, buffer.byteLength, afterCr);
    afterCr = buffer[buffer.byteLength - 1] === 0x0d;
    yield buffer;
  }
  if (utf8.incomplete) throw notUtf8Error(line, undefined);
}

/** csv-parse errors carry the parser's state next to the message. */
interface ParserFailure {
  code?: string;
  lines?: number;
  empty_lines?: number;
}

function fromParserFailure(failure: ParserFailure, nextRecordLine: number): CsvError {
  const line = failure.lines ?? nextRecordLine;
  switch (failure.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new CsvError(
        'unclosed_quote',
        nextRecordLine,
        `line ${nextRecordLine} opens a quoted field that is never closed (the file ends inside quotes); close the quote or remove the stray "`,
      );
    case 'INVALID_OPENING_QUOTE':
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return new CsvError(
        'bad_quote',
        line,
        `line ${line} has a misplaced quote; quote whole fields ("a, b") and double quotes inside them ("say ""hi""")`,
      );
    case 'CSV_MAX_RECORD_SIZE':
      return new CsvError(
        'record_too_large',
        line,
        `line ${line} holds a record too large to be real; the file is probably not comma-separated or has an unclosed quote`,
      );
    default:
      return new CsvError(
        'malformed_csv',
        line,
        `line ${line} cannot be read as CSV; check its quotes and commas`,
      );
  }
}

/** Checks header names: none blank, none repeated, and not a line of numbers (a file without a header). */
export function checkHeader(header: string[], line: number): void {
  const blank = header.indexOf('');
  if (blank >= 0) {
    throw new CsvError(
      'blank_column_name',
      line,
      `line ${line} (the header): column ${blank + 1} has no name; name every column`,
    );
  }
  const firstSeen = new Map<string, number>();
  header.forEach((name, index) => {
    const earlier = firstSeen.get(name);
    if (earlier !== undefined) {
      throw new CsvError(
        'duplicate_column',
        line,
        `line ${line} (the header): column "${name}" appears twice (columns ${earlier + 1} and ${index + 1}); rename one`,
      );
    }
    firstSeen.set(name, index);
  });
  if (header.every((name) => parseNumber(name) !== undefined)) {
    throw new CsvError(
      'no_header',
      line,
      `line ${line} looks like data, not a header (${header.slice(0, 3).join(', ')} are numbers); add a first line naming the columns`,
    );
  }
}

/**
 * Reads a CSV with a header line: UTF-8, comma-separated, fields optionally double-quoted (a quoted
 * field may span lines), LF or CRLF line ends, an optional byte-order mark. Blank lines are skipped,
 * so a one-column file cannot hold an empty cell unless it is quoted (`""`). Header names are trimmed.
 * @throws {CsvError} for an empty file, a header that is missing, blank or repeats a name, a line
 *   whose field count differs from the header's, a broken quote, bytes that are not UTF-8
 *   (`not_utf8`, with the line of the first), or input beyond `limits`.
 * @example
 * const { header, rows } = await parseCsv('month,value\n1949-01,112\n');
 * // header = ['month', 'value'], rows = [['1949-01', '112']]
 */
export async function parseCsv(input: CsvInput, limits: CsvLimits = {}): Promise<ParsedCsv> {
  const maxRows = limits.maxRows ?? Number.POSITIVE_INFINITY;
  const maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  let header: string[] | undefined;
  const rows: string[][] = [];
  const lines: number[] = [];
  // Line bookkeeping runs inside the parser (on_record, in record order), so it is exact even when the
  // parser fails ahead of the consumer: a record starts on the line after the previous one ended, past
  // skipped blank lines.
  let previousEndLine = 0;
  let previousEmptyLines = 0;
  let dataRows = 0;

  const checkRecord = (record: string[], info: InfoRecord): string[] | null => {
    const line = previousEndLine + 1 + (info.empty_lines - previousEmptyLines);
    previousEndLine = info.lines;
    previousEmptyLines = info.empty_lines;
    if (header === undefined) {
      header = record.map((name) => name.trim());
      checkHeader(header, line);
      return null;
    }
    if (record.length !== header.length) {
      throw new CsvError(
        'wrong_field_count',
        line,
        `line ${line} has ${record.length} field${record.length === 1 ? '' : 's'}, the header has ${header.length}; quote fields that contain commas, or fix the line`,
      );
    }
    dataRows++;
    if (dataRows > maxRows) {
      throw new CsvError(
        'too_many_rows',
        line,
        `the file has more than ${maxRows} data rows, the most accepted; split it into smaller drops`,
      );
    }
    lines.push(line);
    return record;
  };

  const collect = async (records: AsyncIterable<string[]>) => {
    for await (const record of records) rows.push(record);
  };

  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    on_record: checkRecord,
  });
  try {
    await pipeline(Readable.from(byteChunks(input, maxBytes, () => previousEndLine + 1)), parser, collect);
  } catch (error) {
    // Anything but a parser error (a broken source stream, say) is not about the CSV: pass it on.
    if (!(error instanceof ParserError)) throw error;
    const failure = error as ParserFailure;
    const recordLine =
      previousEndLine + 1 + ((failure.empty_lines ?? previousEmptyLines) - previousEmptyLines);
    throw fromParserFailure(failure, recordLine);
  }
  if (header === undefined) {
    throw new CsvError(
      'empty_file',
      1,
      'the file is empty; a drop needs a header line naming the columns, then data',
    );
  }
  return {
    header,
    rows,
    lineOf(rowIndex: number): number {
      const line = lines[rowIndex];
      if (line === undefined) throw new RangeError(`row ${rowIndex} is outside 0..${rows.length - 1}`);
      return line;
    },
  };
}

/** Which columns to read as numbers and which as text; the rest are inferred. */
export interface ColumnKinds {
  numeric?: string[];
  text?: string[];
}

function numericColumn(parsed: ParsedCsv, index: number): Float64Array {
  const name = parsed.header[index];
  const values = new Float64Array(parsed.rows.length);
  parsed.rows.forEach((row, rowIndex) => {
    const text = row[index];
    if (isMissingCell(text)) {
      values[rowIndex] = Number.NaN;
      return;
    }
    const value = parseNumber(text);
    if (value === undefined || !Number.isFinite(value)) {
      const line = parsed.lineOf(rowIndex);
      throw new CsvError(
        'not_numeric',
        line,
        `column "${name}" line ${line}: "${text}" is not a finite number`,
      );
    }
    values[rowIndex] = value;
  });
  return values;
}

/** A column is numeric when it holds at least one number and every non-missing cell is a finite number. */
function looksNumeric(parsed: ParsedCsv, index: number): boolean {
  let numbers = 0;
  for (const row of parsed.rows) {
    if (isMissingCell(row[index])) continue;
    const value = parseNumber(row[index]);
    if (value === undefined || !Number.isFinite(value)) return false;
    numbers++;
  }
  return numbers > 0;
}

/**
 * Builds the column-major {@link Table} of a parsed CSV. Missing cells ({@link MISSING_TOKENS}) become
 * NaN in numeric columns and '' in text columns. Columns not listed in `kinds` are numeric when every
 * non-missing cell is a finite number (and there is at least one), text otherwise.
 * @throws {RangeError} when `kinds` names a column the header lacks, or one column as both kinds.
 * @throws {CsvError} (`not_numeric`) when a column listed as numeric holds text or an infinity.
 */
export function toTable(parsed: ParsedCsv, kinds: ColumnKinds = {}): Table {
  const numeric = new Set(kinds.numeric ?? []);
  const text = new Set(kinds.text ?? []);
  for (const name of [...numeric, ...text]) {
    if (!parsed.header.includes(name)) throw new RangeError(`toTable: no column "${name}" in the header`);
    if (numeric.has(name) && text.has(name)) {
      throw new RangeError(`toTable: column "${name}" is listed as both numeric and text`);
    }
  }
  const columns = parsed.header.map((name, index): Column => {
    const isNumeric = numeric.has(name) || (!text.has(name) && looksNumeric(parsed, index));
    if (isNumeric) return { name, kind: 'numeric', values: numericColumn(parsed, index) };
    return {
      name,
      kind: 'text',
      values: parsed.rows.map((row) => (isMissingCell(row[index]) ? '' : row[index])),
    };
  });
  return { columns, rowCount: parsed.rows.length };
}

/** The kinds of a table's columns, to read its {@link toCsv} output back into the same table. */
export function columnKinds(table: Table): Required<ColumnKinds> {
  return {
    numeric: table.columns.filter((column) => column.kind === 'numeric').map((column) => column.name),
    text: table.columns.filter((column) => column.kind === 'text').map((column) => column.name),
  };
}

function quoteField(text: string): string {
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

function cellText(column: Column, rowIndex: number): string {
  if (column.kind === 'text') return column.values[rowIndex];
  const value = column.values[rowIndex];
  if (Number.isNaN(value)) return '';
  // String(-0) is '0'; '-0' keeps the round trip exact.
  if (Object.is(value, -0)) return '-0';
  if (!Number.isFinite(value)) {
    throw new RangeError(
      `toCsv: column "${column.name}" row ${rowIndex} holds ${value}; tables hold finite numbers`,
    );
  }
  return String(value);
}

/**
 * Writes a table as CSV: a header line, LF line ends and a final newline, numbers in their shortest
 * round-trip form (`String(x)`), missing values as empty fields, and quotes only where a field needs
 * them. `toTable(await parseCsv(toCsv(t)), columnKinds(t))` gives back `t`.
 * @throws {RangeError} when a numeric column holds ±Infinity.
 */
export function toCsv(table: Table): string {
  const lines = [table.columns.map((column) => quoteField(column.name)).join(',')];
  for (let rowIndex = 0; rowIndex < table.rowCount; rowIndex++) {
    const line = table.columns.map((column) => quoteField(cellText(column, rowIndex))).join(',');
    // A blank line would be skipped when read back, so a lone empty field is written as "".
    lines.push(line === '' ? '""' : line);
  }
  return `${lines.join('\n')}\n`;
}
