/**
 * Reads a CSV drop straight into typed columns in one streaming pass: bytes in, a `Float64Array` per
 * numeric column and dictionary-coded text per text column out, with what the validation gate needs to
 * know about every column (missing, numeric, infinite and text cells, and where each kind first occurs).
 * No row is ever held as strings, so memory is the typed data plus one chunk of input, and numbers are
 * read from the bytes without building a string for them.
 *
 * It reads the same files as {@link parseCsv} (UTF-8, comma-separated, optional double quotes that may
 * span lines, LF, CRLF or CR line ends, a byte-order mark, blank lines skipped) and fails on the same
 * files with the same {@link CsvError}s and lines.
 */
import { CsvError, type CsvInput, type CsvLimits, checkHeader, isMissingCell, parseNumber } from './csv.ts';

/**
 * How a column is kept while reading: `numeric` as numbers only (text cells are counted, not kept);
 * `text` as the cells' text; `auto` as both until its first {@link AUTO_PROBE_ROWS} rows are all numbers
 * or missing, then as numbers only (its text, if a later row needs it, is the number's shortest form).
 */
export type ReadMode = 'numeric' | 'text' | 'auto';

/** Rows an `auto` column keeps its cells' text for before it is judged numeric. */
export const AUTO_PROBE_ROWS = 1000;

/** What one pass over a column's cells found; rows are 0-based data row indices, -1 when none. */
export interface ColumnScan {
  missing: number;
  firstMissingRow: number;
  /** Cells that are numbers, infinities included. */
  numbers: number;
  infinite: number;
  firstInfiniteRow: number;
  /** The text of the first infinite cell, as written. */
  firstInfiniteCell: string;
  /** Non-missing cells that are not numbers. */
  text: number;
  firstTextRow: number;
  /** The text of the first text cell, as written. */
  firstTextCell: string;
}

/** A drop read into columns. */
export interface ReadColumns {
  header: string[];
  rowCount: number;
  scans: ColumnScan[];
  /** The 1-based file line a data row starts on. @throws RangeError outside 0..rowCount-1. */
  lineOf(row: number): number;
  /**
   * A column's numbers, NaN where a cell is missing or text (the array may be longer than `rowCount`:
   * read the first `rowCount`). Undefined for a column read as `text`.
   */
  numbers(column: number): Float64Array | undefined;
  /**
   * A column's cells as text, '' where missing (as {@link toTable} gives text columns). A column read as
   * `numeric`, or an `auto` column judged numeric, gives each number's shortest form for its numeric
   * cells and '' for the rest.
   */
  texts(column: number): string[];
}

/** Options of {@link readColumns}. */
export interface ReadOptions extends CsvLimits {
  /** How to keep each column, asked once the header is read. @default every column `auto` */
  modeOf?: (name: string, header: readonly string[]) => ReadMode;
  /** The input's size when known, to size the columns once instead of growing them. */
  expectedBytes?: number;
}

const LF = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
/** Input gathered before records are cut, so a record split across many tiny chunks is scanned rarely. */
const MIN_SCAN_BYTES = 64 * 1024;
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, power) => 10 ** power);

/**
 * The number the bytes `[start, end)` spell when they are a plain decimal (`-12.5`, `3e-4`) of at most
 * 15 digits with a power of ten within ±22: then the mantissa and the power are exact doubles and one
 * multiplication or division is correctly rounded (Clinger 1990), so the result equals `Number(text)`.
 * Undefined for anything else (spaces, `NA`, long mantissas, text), which the caller reads as a string.
 * The returned double is boxed (a heap number per cell): storing it into the column instead took ~1.2×
 * less CPU, but without that young garbage the scavenges that free the input chunks ran rarely, and peak
 * memory rose from ~1.2× to ~1.45× the typed data at 540k rows × 20 (bench:data; reverted).
 */
function plainDecimal(bytes: Uint8Array, start: number, end: number): number | undefined {
  let index = start;
  let negative = false;
  if (bytes[index] === MINUS) {
    negative = true;
    index++;
  } else if (bytes[index] === PLUS) index++;
  let mantissa = 0;
  let digits = 0;
  while (index < end && bytes[index] >= ZERO && bytes[index] <= NINE) {
    mantissa = mantissa * 10 + (bytes[index] - ZERO);
    digits++;
    index++;
  }
  let fraction = 0;
  if (index < end && bytes[index] === DOT) {
    index++;
    while (index < end && bytes[index] >= ZERO && bytes[index] <= NINE) {
      mantissa = mantissa * 10 + (bytes[index] - ZERO);
      fraction++;
      index++;
    }
  }
  if (digits + fraction === 0 || digits + fraction > 15) return undefined;
  let exponent = 0;
  if (index < end && (bytes[index] === 101 || bytes[index] === 69)) {
    index++;
    let exponentNegative = false;
    if (bytes[index] === MINUS || bytes[index] === PLUS) {
      exponentNegative = bytes[index] === MINUS;
      index++;
    }
    let exponentDigits = 0;
    while (index < end && bytes[index] >= ZERO && bytes[index] <= NINE && exponentDigits < 4) {
      exponent = exponent * 10 + (bytes[index] - ZERO);
      exponentDigits++;
      index++;
    }
    if (exponentDigits === 0) return undefined;
    if (exponentNegative) exponent = -exponent;
  }
  if (index !== end) return undefined;
  const power = exponent - fraction;
  let value: number;
  if (power === 0) value = mantissa;
  else if (power > 0 && power <= 22) value = mantissa * POWERS_OF_TEN[power];
  else if (power < 0 && power >= -22) value = mantissa / POWERS_OF_TEN[-power];
  else return undefined;
  return negative ? -value : value;
}

function newScan(): ColumnScan {
  return {
    missing: 0,
    firstMissingRow: -1,
    numbers: 0,
    infinite: 0,
    firstInfiniteRow: -1,
    firstInfiniteCell: '',
    text: 0,
    firstTextRow: -1,
    firstTextCell: '',
  };
}

/** Kind of a cell's text: missing, a number (its value) or text. */
const MISSING = 0;
const NUMBER = 1;
const TEXT = 2;

/** One column being read: its scan, its numbers and (while kept) its cells' text as dictionary codes. */
class ColumnBuilder {
  readonly scan = newScan();
  numbers: Float64Array | undefined;
  /** Code of each row's text in `dictionary` plus one; 0 for a missing cell. */
  codes: Uint32Array | undefined;
  readonly dictionary = new Map<string, number>();
  /** Per dictionary code: its kind and value, so each distinct text is classified once. */
  readonly kinds: number[] = [];
  readonly values: number[] = [];
  readonly words: string[] = [];

  readonly mode: ReadMode;

  constructor(mode: ReadMode, capacity: number) {
    this.mode = mode;
    if (mode !== 'text') this.numbers = new Float64Array(capacity);
    if (mode !== 'numeric') this.codes = new Uint32Array(capacity);
  }

  grow(capacity: number): void {
    if (this.numbers) {
      const numbers = new Float64Array(capacity);
      numbers.set(this.numbers);
      this.numbers = numbers;
    }
    if (this.codes) {
      const codes = new Uint32Array(capacity);
      codes.set(this.codes);
      this.codes = codes;
    }
  }

  private count(kind: number, value: number, row: number, text: () => string): void {
    const scan = this.scan;
    if (kind === MISSING) {
      if (scan.missing++ === 0) scan.firstMissingRow = row;
    } else if (kind === NUMBER) {
      scan.numbers++;
      if (!Number.isFinite(value) && scan.infinite++ === 0) {
        scan.firstInfiniteRow = row;
        scan.firstInfiniteCell = text();
      }
    } else if (scan.text++ === 0) {
      scan.firstTextRow = row;
      scan.firstTextCell = text();
    }
  }

  /** A cell read from text (quoted, or not a plain decimal). */
  addText(row: number, text: string): void {
    if (this.codes) {
      let code = this.dictionary.get(text);
      if (code === undefined) {
        code = this.words.length;
        this.dictionary.set(text, code);
        this.words.push(text);
        if (isMissingCell(text)) {
          this.kinds.push(MISSING);
          this.values.push(Number.NaN);
        } else {
          const value = parseNumber(text);
          this.kinds.push(value === undefined ? TEXT : NUMBER);
          this.values.push(value ?? Number.NaN);
        }
      }
      const kind = this.kinds[code];
      this.codes[row] = kind === MISSING ? 0 : code + 1;
      if (this.numbers) this.numbers[row] = this.values[code];
      this.count(kind, this.values[code], row, () => text);
      return;
    }
    if (isMissingCell(text)) {
      this.numbers![row] = Number.NaN;
      this.count(MISSING, Number.NaN, row, () => text);
      return;
    }
    const value = parseNumber(text);
    this.numbers![row] = value ?? Number.NaN;
    this.count(value === undefined ? TEXT : NUMBER, value ?? Number.NaN, row, () => text);
  }

  /** A cell that {@link plainDecimal} read. */
  addNumber(row: number, value: number, bytes: Uint8Array, start: number, end: number): void {
    if (this.codes) {
      this.addText(row, Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1'));
      return;
    }
    this.numbers![row] = value;
    this.scan.numbers++;
  }

  addMissing(row: number): void {
    if (this.codes) this.codes[row] = 0;
    if (this.numbers) this.numbers[row] = Number.NaN;
    if (this.scan.missing++ === 0) this.scan.firstMissingRow = row;
  }

  /** After the probe rows: an `auto` column of numbers and blanks only stops keeping its text. */
  settle(): void {
    if (this.mode === 'auto' && this.codes && this.scan.text === 0 && this.scan.infinite === 0) {
      this.codes = undefined;
      this.dictionary.clear();
    }
  }

  texts(rowCount: number): string[] {
    const out = new Array<string>(rowCount);
    if (this.codes) {
      const { codes, words } = this;
      for (let row = 0; row < rowCount; row++) out[row] = codes[row] === 0 ? '' : words[codes[row] - 1];
      return out;
    }
    const numbers = this.numbers!;
    for (let row = 0; row < rowCount; row++) {
      const value = numbers[row];
      out[row] = Number.isNaN(value) ? '' : String(value);
    }
    return out;
  }
}

const NEED_MORE = -1;

/** Line ends a file can use; the first one in the file is its line end (as csv-parse discovers it). */
const UNKNOWN_END = 0;
const LF_END = 1;
const CRLF_END = 2;
const CR_END = 3;

/** Where the reader is in the file. */
interface Cursor {
  /** The 1-based line the next record starts on. */
  line: number;
  /** The file's line end, once seen: the other line-end bytes are data. */
  lineEnd: number;
}

/**
 * The length of the line end at `index` (1 or 2 bytes), 0 when there is none, or {@link NEED_MORE}
 * when the input stops between a CR and what follows it. The first line end seen fixes the file's.
 */
function lineEndAt(bytes: Uint8Array, index: number, end: number, final: boolean, cursor: Cursor): number {
  const byte = bytes[index];
  if (byte !== LF && byte !== CR) return 0;
  switch (cursor.lineEnd) {
    case LF_END:
      return byte === LF ? 1 : 0;
    case CR_END:
      return byte === CR ? 1 : 0;
    case CRLF_END:
      if (byte !== CR) return 0;
      if (index + 1 === end) return final ? 0 : NEED_MORE;
      return bytes[index + 1] === LF ? 2 : 0;
    default:
      if (byte === LF) {
        cursor.lineEnd = LF_END;
        return 1;
      }
      if (index + 1 === end && !final) return NEED_MORE;
      cursor.lineEnd = bytes[index + 1] === LF ? CRLF_END : CR_END;
      return cursor.lineEnd === CRLF_END ? 2 : 1;
  }
}

/** Line ends inside a quoted field's bytes `[start, end)`, for line numbers. */
function linesWithin(bytes: Uint8Array, start: number, end: number, lineEnd: number): number {
  let lines = 0;
  for (let at = start; at < end; at++) {
    const byte = bytes[at];
    if (lineEnd === LF_END || lineEnd === UNKNOWN_END) {
      if (byte === LF || (lineEnd === UNKNOWN_END && byte === CR && bytes[at + 1] !== LF)) lines++;
    } else if (lineEnd === CR_END) {
      if (byte === CR) lines++;
    } else if (byte === CR && bytes[at + 1] === LF) lines++;
  }
  return lines;
}

/** Field boundaries of the record being cut, reused between records. */
class FieldList {
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  /** 0 plain, 1 quoted, 2 quoted with doubled quotes inside. */
  quoting = new Uint8Array(64);
  length = 0;

  push(start: number, end: number, quoting: number): void {
    if (this.length === this.starts.length) {
      const grow = <T extends Int32Array | Uint8Array>(array: T, make: (n: number) => T) => {
        const next = make(array.length * 2);
        next.set(array);
        return next;
      };
      this.starts = grow(this.starts, (n) => new Int32Array(n));
      this.ends = grow(this.ends, (n) => new Int32Array(n));
      this.quoting = grow(this.quoting, (n) => new Uint8Array(n));
    }
    this.starts[this.length] = start;
    this.ends[this.length] = end;
    this.quoting[this.length] = quoting;
    this.length++;
  }
}

function badQuote(line: number): CsvError {
  return new CsvError(
    'bad_quote',
    line,
    `line ${line} has a misplaced quote; quote whole fields ("a, b") and double quotes inside them ("say ""hi""")`,
  );
}

/**
 * Cuts the record starting at `start` into `fields`. Returns where the next record starts, or
 * {@link NEED_MORE} when the record is not complete in `bytes[0, end)` and more input may follow.
 * @throws {CsvError} for a broken quote.
 */
function cutRecord(
  bytes: Uint8Array,
  start: number,
  end: number,
  final: boolean,
  fields: FieldList,
  cursor: Cursor,
): { next: number; lines: number } | typeof NEED_MORE {
  fields.length = 0;
  let index = start;
  let lines = 0;
  for (;;) {
    if (index < end && bytes[index] === QUOTE) {
      const open = index + 1;
      let search = open;
      let quoting = 1;
      let close = -1;
      while (close < 0) {
        const found = bytes.indexOf(QUOTE, search);
        if (found < 0 || found >= end) {
          if (!final) return NEED_MORE;
          throw new CsvError(
            'unclosed_quote',
            cursor.line,
            `line ${cursor.line} opens a quoted field that is never closed (the file ends inside quotes); close the quote or remove the stray "`,
          );
        }
        if (found + 1 < end && bytes[found + 1] === QUOTE) {
          quoting = 2;
          search = found + 2;
        } else if (found + 1 === end && !final) return NEED_MORE;
        else close = found;
      }
      lines += linesWithin(bytes, open, close, cursor.lineEnd);
      fields.push(open, close, quoting);
      index = close + 1;
      if (index === end) {
        if (!final) return NEED_MORE;
        return { next: end, lines };
      }
      if (bytes[index] === COMMA) {
        index++;
        continue;
      }
      const after = lineEndAt(bytes, index, end, final, cursor);
      if (after === NEED_MORE) return NEED_MORE;
      if (after === 0) throw badQuote(cursor.line + lines);
      return { next: index + after, lines };
    }
    const fieldStart = index;
    let after = 0;
    while (index < end) {
      const byte = bytes[index];
      if (byte === COMMA) break;
      if (byte === LF || byte === CR) {
        after = lineEndAt(bytes, index, end, final, cursor);
        if (after === NEED_MORE) return NEED_MORE;
        if (after > 0) break;
      }
      if (byte === QUOTE) throw badQuote(cursor.line + lines);
      index++;
    }
    if (index === end && !final) return NEED_MORE;
    fields.push(fieldStart, index, 0);
    if (index === end) return { next: end, lines };
    if (after > 0) return { next: index + after, lines };
    index++;
  }
}

async function* chunksOf(input: CsvInput): AsyncGenerator<Uint8Array> {
  if (typeof input === 'string') yield Buffer.from(input, 'utf8');
  else if (input instanceof Uint8Array) yield input;
  else {
    for await (const chunk of input) yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  }
}

function decodeField(bytes: Uint8Array, start: number, end: number, quoting: number): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
  return quoting === 2 ? text.replaceAll('""', '"') : text;
}

/**
 * Reads a CSV with a header line into typed columns, streaming: see the module comment for the format.
 * @throws {CsvError} for an empty file, a header that is missing, blank or repeats a name, a line whose
 *   field count differs from the header's, a broken quote, or input beyond `maxBytes` / `maxRows`.
 * @example
 * const read = await readColumns('month,value\n1949-01,112\n', { modeOf: (name) => (name === 'month' ? 'text' : 'numeric') });
 * read.numbers(1)?.[0]; // 112
 */
export async function readColumns(input: CsvInput, options: ReadOptions = {}): Promise<ReadColumns> {
  const maxRows = options.maxRows ?? Number.POSITIVE_INFINITY;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const cursor: Cursor = { line: 1, lineEnd: UNKNOWN_END };
  const fields = new FieldList();
  let header: string[] | undefined;
  let columns: ColumnBuilder[] = [];
  let capacity = 0;
  let lines = new Uint32Array(0);
  let rowCount = 0;
  let bytesRead = 0;
  let settled = false;
  let firstChunk = true;
  let pending: Uint8Array = new Uint8Array(0);

  let consumedBytes = 0;
  let headerBytes = 0;
  /**
   * Where an incomplete record's bytes and the next chunk are joined, reused: a new buffer per chunk
   * (Buffer.concat) doubled the off-heap allocations, each adding to the external memory whose growth
   * makes V8 run a full collection.
   */
  let carry = new Uint8Array(0);
  const carryOver = (rest: Uint8Array, chunk: Uint8Array): Uint8Array => {
    const length = rest.length + chunk.length;
    if (length > carry.length) {
      const grown = new Uint8Array(Math.max(length, 2 * carry.length));
      grown.set(rest);
      carry = grown;
    } else if (rest.buffer === carry.buffer)
      carry.copyWithin(0, rest.byteOffset, rest.byteOffset + rest.length);
    else carry.set(rest);
    carry.set(chunk, rest.length);
    return carry.subarray(0, length);
  };

  /**
   * Room for one more row. With the input's size known, the rows so far tell how many are coming:
   * `offset` is where in the input the next row starts (the rows before it may be in the chunk being
   * read, which `consumedBytes` does not count yet).
   */
  const ensureCapacity = (offset: number) => {
    if (rowCount < capacity) return;
    let next = Math.ceil(capacity * 1.5);
    if (options.expectedBytes !== undefined && rowCount > 0) {
      const bytesPerRow = Math.max(1, (offset - headerBytes) / rowCount);
      const expectedRows = Math.ceil(((options.expectedBytes - headerBytes) / bytesPerRow) * 1.02);
      if (expectedRows > capacity) next = Math.max(capacity + 1024, expectedRows);
    }
    capacity = Math.min(next, Number.isFinite(maxRows) ? Math.max(maxRows, capacity + 1) : next);
    for (const column of columns) column.grow(capacity);
    const grown = new Uint32Array(capacity);
    grown.set(lines);
    lines = grown;
  };

  const startColumns = (names: string[]) => {
    header = names;
    checkHeader(header, cursor.line);
    capacity = 1024;
    columns = names.map((name) => new ColumnBuilder(options.modeOf?.(name, names) ?? 'auto', capacity));
    lines = new Uint32Array(capacity);
  };

  const addRow = (bytes: Uint8Array, recordLine: number, offset: number) => {
    const width = header!.length;
    if (fields.length !== width) {
      throw new CsvError(
        'wrong_field_count',
        recordLine,
        `line ${recordLine} has ${fields.length} field${fields.length === 1 ? '' : 's'}, the header has ${width}; quote fields that contain commas, or fix the line`,
      );
    }
    if (rowCount + 1 > maxRows) {
      throw new CsvError(
        'too_many_rows',
        recordLine,
        `the file has more than ${maxRows} data rows, the most accepted; split it into smaller drops`,
      );
    }
    ensureCapacity(offset);
    const row = rowCount;
    lines[row] = recordLine;
    for (let column = 0; column < width; column++) {
      const start = fields.starts[column];
      const end = fields.ends[column];
      const builder = columns[column];
      if (fields.quoting[column] !== 0) {
        builder.addText(row, decodeField(bytes, start, end, fields.quoting[column]));
      } else if (start === end) {
        builder.addMissing(row);
      } else {
        const value = plainDecimal(bytes, start, end);
        if (value === undefined) builder.addText(row, decodeField(bytes, start, end, 0));
        else builder.addNumber(row, value, bytes, start, end);
      }
    }
    rowCount++;
    if (!settled && rowCount === AUTO_PROBE_ROWS) {
      settled = true;
      for (const builder of columns) builder.settle();
    }
  };

  /** Cuts every complete record of `bytes`; returns where the first incomplete one starts. */
  const consume = (bytes: Uint8Array, final: boolean): number => {
    let position = 0;
    const end = bytes.length;
    while (position < end) {
      const blank = lineEndAt(bytes, position, end, final, cursor);
      if (blank === NEED_MORE) return position;
      if (blank > 0) {
        // A blank line: skipped, but counted.
        position += blank;
        cursor.line++;
        continue;
      }
      const cut = cutRecord(bytes, position, end, final, fields, cursor);
      if (cut === NEED_MORE) return position;
      if (header === undefined) {
        const names = Array.from({ length: fields.length }, (_, index) =>
          decodeField(bytes, fields.starts[index], fields.ends[index], fields.quoting[index]).trim(),
        );
        startColumns(names);
        headerBytes = consumedBytes + cut.next;
      } else {
        addRow(bytes, cursor.line, consumedBytes + position);
      }
      cursor.line += 1 + cut.lines;
      position = cut.next;
    }
    return position;
  };

  for await (const chunk of chunksOf(input)) {
    bytesRead += chunk.byteLength;
    if (bytesRead > maxBytes) {
      throw new CsvError(
        'file_too_large',
        cursor.line,
        `the file is larger than ${maxBytes} bytes, the most accepted; split it into smaller drops`,
      );
    }
    let bytes: Uint8Array = pending.length === 0 ? chunk : carryOver(pending, chunk);
    if (firstChunk) {
      if (bytes.length < 3 && bytes.length > 0) {
        pending = bytes;
        continue;
      }
      firstChunk = false;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    }
    if (bytes.length < MIN_SCAN_BYTES) {
      pending = bytes;
      continue;
    }
    const used = consume(bytes, false);
    consumedBytes += used;
    pending = bytes.subarray(used);
  }
  if (firstChunk && pending[0] === 0xef && pending[1] === 0xbb && pending[2] === 0xbf) {
    pending = pending.subarray(3);
  }
  consume(pending, true);
  if (header === undefined) {
    throw new CsvError(
      'empty_file',
      1,
      'the file is empty; a drop needs a header line naming the columns, then data',
    );
  }
  const finalLines = lines;
  const finalHeader = header;
  return {
    header: finalHeader,
    rowCount,
    scans: columns.map((builder) => builder.scan),
    lineOf(row: number): number {
      if (!Number.isInteger(row) || row < 0 || row >= rowCount) {
        throw new RangeError(`row ${row} is outside 0..${rowCount - 1}`);
      }
      return finalLines[row];
    },
    numbers: (column: number) => columns[column].numbers,
    texts: (column: number) => columns[column].texts(rowCount),
  };
}
