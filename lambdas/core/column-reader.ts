/**
 * Reads a CSV drop straight into typed columns in one streaming pass: bytes in, a `Float64Array` per
 * numeric column and dictionary-coded text per text column out, with what the validation gate needs to
 * know about every column (missing, numeric, infinite and text cells, and where each kind first occurs).
 * No row is ever held as strings, so memory is the typed data plus one chunk of input. Each byte is
 * scanned once: the loop that finds a field's end also gathers its digits, and a plain decimal goes
 * straight into its column without a string or a second look at its bytes ({@link scanRecord}); runs
 * of records that hold nothing but plain decimals are read by a smaller loop made for them
 * ({@link readPlainRecords}), which V8 optimizes after a few hundred rows.
 *
 * It reads the same files as {@link parseCsv} (UTF-8, comma-separated, optional double quotes that may
 * span lines, LF, CRLF or CR line ends, a byte-order mark, blank lines skipped) and fails on the same
 * files with the same {@link CsvError}s and lines.
 */
import {
  CsvError,
  type CsvInput,
  type CsvLimits,
  checkHeader,
  isMissingCell,
  notUtf8Error,
  parseNumber,
  Utf8Check,
} from './csv.ts';

/**
 * How a column is kept while reading: `numeric` as numbers only (text cells are counted, not kept);
 * `text` as the cells' text; `auto` as numbers, and as text too when its first {@link AUTO_PROBE_ROWS}
 * rows (all of them, in a shorter file) hold text or an infinity. A column kept as numbers only gives
 * each number's shortest form as its text.
 */
export type ReadMode = 'numeric' | 'text' | 'auto';

/** Rows that decide whether an `auto` column keeps its cells' text. */
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
  /**
   * The caller hands each chunk over: once read, a chunk that is the whole of its ArrayBuffer is
   * detached, which frees its memory at once. Otherwise read chunks are freed only when V8 collects
   * them, and the reader, which allocates nothing per cell, makes it collect rarely: V8 then waits for
   * ~32 MB of them (more than the typed data of 100k rows × 20 columns). Only for chunks nothing else
   * reads once they are yielded.
   * @default false
   */
  releaseChunks?: boolean;
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
/** Input gathered before records are read, so a record split across many tiny chunks is rescanned rarely. */
const MIN_SCAN_BYTES = 64 * 1024;
/**
 * Bytes of a chunk first joined to the incomplete record before it, to complete that record (doubled
 * while they do not): the records after it are then read in the chunk itself, not from a copy.
 */
const JOIN_BYTES = 4096;
/**
 * Most digits of a number read from the bytes: a mantissa of up to 15 digits is an exact double, so is
 * 10^k for k ≤ 22, and one division of the two is correctly rounded (Clinger 1990): the same double as
 * `Number(text)`. Longer mantissas, exponents and everything else are read from the text.
 */
const MAX_PLAIN_DIGITS = 15;
const POWERS_OF_TEN = Array.from({ length: MAX_PLAIN_DIGITS + 1 }, (_, power) => 10 ** power);

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
    if (mode === 'text') this.codes = new Uint32Array(capacity);
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

  /**
   * A number cell, the kind most cells are, is not counted here: the reader stores plain decimals
   * straight into {@link direct}, and {@link finish} counts numbers as the cells that are neither
   * missing nor text.
   */
  private count(kind: number, value: number, row: number, text: () => string): void {
    const scan = this.scan;
    if (kind === MISSING) {
      if (scan.missing++ === 0) scan.firstMissingRow = row;
    } else if (kind === NUMBER) {
      if (!Number.isFinite(value) && scan.infinite++ === 0) {
        scan.firstInfiniteRow = row;
        scan.firstInfiniteCell = text();
      }
    } else if (scan.text++ === 0) {
      scan.firstTextRow = row;
      scan.firstTextCell = text();
    }
  }

  /**
   * The array the reader stores a plain decimal's value in directly, without its text: the numbers of
   * a column that keeps no text. Undefined while the column keeps its cells' text.
   */
  get direct(): Float64Array | undefined {
    return this.codes ? undefined : this.numbers;
  }

  /** The dictionary code of a cell's text, classified the first time the text is seen. */
  private codeOf(text: string): number {
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
    return code;
  }

  /** A cell read from its text: quoted, not a plain decimal, or in a column that keeps its text. */
  addText(row: number, text: string): void {
    if (this.codes) {
      const code = this.codeOf(text);
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

  addMissing(row: number): void {
    if (this.codes) this.codes[row] = 0;
    if (this.numbers) this.numbers[row] = Number.NaN;
    if (this.scan.missing++ === 0) this.scan.firstMissingRow = row;
  }

  /** Whether an `auto` column's probe rows, now read, hold text or an infinity: it then keeps its text. */
  get needsText(): boolean {
    return this.mode === 'auto' && (this.scan.text > 0 || this.scan.infinite > 0);
  }

  /** Starts keeping the cells' text, with room for `capacity` rows; {@link recode} fills the rows so far. */
  keepText(capacity: number): void {
    this.codes = new Uint32Array(capacity);
  }

  /** The text of a cell already read and counted (`undefined` for an empty one), now kept as a code. */
  recode(row: number, text: string | undefined): void {
    const code = text === undefined ? -1 : this.codeOf(text);
    this.codes![row] = code < 0 || this.kinds[code] === MISSING ? 0 : code + 1;
  }

  /** The scan of a column of `rowCount` rows, its numbers counted. */
  finish(rowCount: number): ColumnScan {
    this.scan.numbers = rowCount - this.scan.missing - this.scan.text;
    return this.scan;
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

/**
 * The fields of a record that are read from their text (every field not stored straight into its
 * column as a number): where each is in the input, how it is quoted and its column. Reused between
 * records.
 */
class FieldList {
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  /** 0 plain, 1 quoted, 2 quoted with doubled quotes inside. */
  quoting = new Uint8Array(64);
  columns = new Int32Array(64);
  length = 0;

  push(start: number, end: number, quoting: number, column: number): void {
    if (this.length === this.starts.length) {
      const grow = <T extends Int32Array | Uint8Array>(array: T, make: (n: number) => T) => {
        const next = make(array.length * 2);
        next.set(array);
        return next;
      };
      this.starts = grow(this.starts, (n) => new Int32Array(n));
      this.ends = grow(this.ends, (n) => new Int32Array(n));
      this.quoting = grow(this.quoting, (n) => new Uint8Array(n));
      this.columns = grow(this.columns, (n) => new Int32Array(n));
    }
    this.starts[this.length] = start;
    this.ends[this.length] = end;
    this.quoting[this.length] = quoting;
    this.columns[this.length] = column;
    this.length++;
  }
}

/** What {@link scanRecord} found about the record it read. */
interface RecordEnd {
  /** Where the next record starts. */
  next: number;
  /** Line ends inside the record's quoted fields. */
  lines: number;
  fields: number;
}

/** Fills in where the record {@link scanRecord} read ends; true, what scanRecord then returns. */
function recordEnds(found: RecordEnd, next: number, lines: number, fields: number): true {
  found.next = next;
  found.lines = lines;
  found.fields = fields;
  return true;
}

function badQuote(line: number): CsvError {
  return new CsvError(
    'bad_quote',
    line,
    `line ${line} has a misplaced quote; quote whole fields ("a, b") and double quotes inside them ("say ""hi""")`,
  );
}

/**
 * Reads the record starting at `start` in one pass over its bytes: it finds the fields' boundaries and,
 * in the same loop, the value of each unquoted field that is a plain decimal (`-12.5`, `7`, `.5`, `3.`;
 * at most {@link MAX_PLAIN_DIGITS} digits), which goes straight into `direct[column][row]` when that
 * column has a `direct` array. Every other field (quoted, empty, text, exponents, long mantissas, or a
 * column that keeps its text) is listed in `fields` to be read from its text once the record is whole.
 * Returns false when the record is not complete in `bytes[0, end)` and more input may follow: its
 * numbers stored so far are then stored again when it is read whole.
 * @throws {CsvError} for a broken quote.
 */
function scanRecord(
  bytes: Uint8Array,
  start: number,
  end: number,
  final: boolean,
  cursor: Cursor,
  direct: readonly (Float64Array | undefined)[],
  row: number,
  fields: FieldList,
  found: RecordEnd,
): boolean {
  fields.length = 0;
  let index = start;
  let lines = 0;
  for (let column = 0; ; column++) {
    if (index < end && bytes[index] === QUOTE) {
      const open = index + 1;
      let search = open;
      let quoting = 1;
      let close = -1;
      while (close < 0) {
        const quote = bytes.indexOf(QUOTE, search);
        if (quote < 0 || quote >= end) {
          if (!final) return false;
          throw new CsvError(
            'unclosed_quote',
            cursor.line,
            `line ${cursor.line} opens a quoted field that is never closed (the file ends inside quotes); close the quote or remove the stray "`,
          );
        }
        if (quote + 1 < end && bytes[quote + 1] === QUOTE) {
          quoting = 2;
          search = quote + 2;
        } else if (quote + 1 === end && !final) return false;
        else close = quote;
      }
      lines += linesWithin(bytes, open, close, cursor.lineEnd);
      fields.push(open, close, quoting, column);
      index = close + 1;
      if (index === end) {
        if (!final) return false;
        return recordEnds(found, end, lines, column + 1);
      }
      if (bytes[index] === COMMA) {
        index++;
        continue;
      }
      const after = lineEndAt(bytes, index, end, final, cursor);
      if (after === NEED_MORE) return false;
      if (after === 0) throw badQuote(cursor.line + lines);
      return recordEnds(found, index + after, lines, column + 1);
    }

    // An unquoted field: its digits are gathered into a mantissa while its end is looked for.
    const fieldStart = index;
    let byte = index < end ? bytes[index] : -1;
    const negative = byte === MINUS;
    if (negative || byte === PLUS) byte = ++index < end ? bytes[index] : -1;
    let mantissa = 0;
    const integerStart = index;
    while (byte >= ZERO && byte <= NINE) {
      mantissa = mantissa * 10 + (byte - ZERO);
      byte = ++index < end ? bytes[index] : -1;
    }
    let digits = index - integerStart;
    let fraction = 0;
    if (byte === DOT) {
      byte = ++index < end ? bytes[index] : -1;
      const fractionStart = index;
      while (byte >= ZERO && byte <= NINE) {
        mantissa = mantissa * 10 + (byte - ZERO);
        byte = ++index < end ? bytes[index] : -1;
      }
      fraction = index - fractionStart;
      digits += fraction;
    }
    let plain = digits > 0 && digits <= MAX_PLAIN_DIGITS;
    // The field ends at a comma, the file's line end or the input's end; any other byte makes it text.
    let after = 0;
    for (;;) {
      if (byte === COMMA || byte === -1) break;
      if (byte === LF || byte === CR) {
        after = lineEndAt(bytes, index, end, final, cursor);
        if (after === NEED_MORE) return false;
        if (after > 0) break;
      } else if (byte === QUOTE) throw badQuote(cursor.line + lines);
      plain = false;
      byte = ++index < end ? bytes[index] : -1;
    }
    if (byte === -1 && !final) return false;
    const numbers = direct[column];
    if (plain && numbers !== undefined) {
      const magnitude = fraction === 0 ? mantissa : mantissa / POWERS_OF_TEN[fraction];
      numbers[row] = negative ? -magnitude : magnitude;
    } else {
      fields.push(fieldStart, index, 0, column);
    }
    if (byte === COMMA) {
      index++;
      continue;
    }
    return recordEnds(found, index + after, lines, column + 1);
  }
}

/** Where {@link readPlainRecords} stopped: the rows it read, and where the record after them starts. */
interface PlainProgress {
  rows: number;
  next: number;
}

/**
 * Reads, from `start`, the records that are nothing but plain decimals in every column (what
 * {@link scanRecord} stores straight into the columns), one after another in one loop, and stops at
 * the first record that is anything else (quoted, empty, text, another field count, a blank line) or
 * at `stop`, which must be the index of a line feed. Each record ends at that byte (`crlf`: at a CR and
 * that byte); the bytes up to `stop` are all inside `bytes`, so the loop tests no input end. The values
 * are the ones scanRecord gives. Up to `maxRows` rows from `row` on; each row's 1-based line goes into
 * `lines` from `line` on. A record it stops at may have had some of its numbers stored: scanRecord
 * stores them again.
 */
function readPlainRecords(
  bytes: Uint8Array,
  start: number,
  stop: number,
  crlf: boolean,
  columns: readonly Float64Array[],
  row: number,
  maxRows: number,
  lines: Uint32Array,
  line: number,
  progress: PlainProgress,
): void {
  const width = columns.length;
  const last = width - 1;
  let position = start;
  let rows = 0;
  records: while (position < stop && rows < maxRows) {
    let index = position;
    for (let column = 0; column < width; column++) {
      let byte = bytes[index];
      const negative = byte === MINUS;
      if (negative || byte === PLUS) byte = bytes[++index];
      let mantissa = 0;
      const integerStart = index;
      while (byte >= ZERO && byte <= NINE) {
        mantissa = mantissa * 10 + (byte - ZERO);
        byte = bytes[++index];
      }
      let digits = index - integerStart;
      let fraction = 0;
      if (byte === DOT) {
        byte = bytes[++index];
        const fractionStart = index;
        while (byte >= ZERO && byte <= NINE) {
          mantissa = mantissa * 10 + (byte - ZERO);
          byte = bytes[++index];
        }
        fraction = index - fractionStart;
        digits += fraction;
      }
      if (digits === 0 || digits > MAX_PLAIN_DIGITS) break records;
      if (column < last) {
        if (byte !== COMMA) break records;
      } else if (crlf) {
        if (byte !== CR || bytes[index + 1] !== LF) break records;
        index++;
      } else if (byte !== LF) break records;
      const magnitude = fraction === 0 ? mantissa : mantissa / POWERS_OF_TEN[fraction];
      columns[column][row + rows] = negative ? -magnitude : magnitude;
      index++;
    }
    lines[row + rows] = line + rows;
    rows++;
    position = index;
  }
  progress.rows = rows;
  progress.next = position;
}

/**
 * Most records one call of {@link readPlainRecords} reads. Short calls rather than one loop over a
 * whole chunk: V8 then optimizes the function after its first calls, its exit included, instead of
 * replacing a long-running loop's frame (on-stack replacement) with code that knows nothing of that
 * exit and is thrown away there.
 */
const PLAIN_BLOCK_ROWS = 256;

const NOTHING = new Uint8Array(0);

/**
 * Frees a chunk's memory now, when the chunk is the whole of its ArrayBuffer (not a view into memory
 * that something else may hold): V8 frees an ArrayBuffer only when it collects it, and the reader
 * allocates too little to make it collect often (see {@link ReadOptions.releaseChunks}).
 */
function release(chunk: Uint8Array): void {
  const { buffer } = chunk;
  if (!(buffer instanceof ArrayBuffer) || chunk.byteOffset !== 0 || chunk.byteLength !== buffer.byteLength)
    return;
  try {
    buffer.transfer(0);
  } catch (error) {
    // Some buffers cannot be detached (a WebAssembly memory, say): they are left to the collector.
    if (!(error instanceof TypeError)) throw error;
  }
}

/**
 * The bytes of a chunk as a plain `Uint8Array` over the same memory. The reader's loops then see one
 * kind of array: a `Buffer` (what fs and the S3 SDK yield) has another map than the plain arrays the
 * reader joins records in, and scanning both made V8 throw away {@link scanRecord}'s optimized code
 * at the first joined record and compile it again, slower, for both.
 */
const plainBytes = (chunk: Uint8Array): Uint8Array =>
  Object.getPrototypeOf(chunk) === Uint8Array.prototype
    ? chunk
    : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);

async function* chunksOf(input: CsvInput): AsyncGenerator<Uint8Array> {
  if (typeof input === 'string') yield plainBytes(Buffer.from(input, 'utf8'));
  else if (input instanceof Uint8Array) yield plainBytes(input);
  else {
    for await (const chunk of input)
      yield plainBytes(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  }
}

function decodeField(bytes: Uint8Array, start: number, end: number, quoting: number): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
  return quoting === 2 ? text.replaceAll('""', '"') : text;
}

/**
 * Reads a CSV with a header line into typed columns, streaming: see the module comment for the format.
 * @throws {CsvError} for an empty file, a header that is missing, blank or repeats a name, a line whose
 *   field count differs from the header's, a broken quote, bytes that are not UTF-8, or input beyond
 *   `maxBytes` / `maxRows`.
 * @example
 * const read = await readColumns('month,value\n1949-01,112\n', { modeOf: (name) => (name === 'month' ? 'text' : 'numeric') });
 * read.numbers(1)?.[0]; // 112
 */
export async function readColumns(input: CsvInput, options: ReadOptions = {}): Promise<ReadColumns> {
  const maxRows = options.maxRows ?? Number.POSITIVE_INFINITY;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const cursor: Cursor = { line: 1, lineEnd: UNKNOWN_END };
  const fields = new FieldList();
  const found: RecordEnd = { next: 0, lines: 0, fields: 0 };
  let header: string[] | undefined;
  let columns: ColumnBuilder[] = [];
  /** Each column's {@link ColumnBuilder.direct} array, refreshed whenever the columns change. */
  let direct: (Float64Array | undefined)[] = [];
  let capacity = 0;
  let lines = new Uint32Array(0);
  let rowCount = 0;
  let bytesRead = 0;
  let settled = false;
  let firstChunk = true;
  let pending: Uint8Array = NOTHING;
  /**
   * Whether every column takes plain decimals straight (each has a `direct` array): records are then
   * read by {@link readPlainRecords} while they are plain, and by {@link scanRecord} otherwise.
   */
  let allDirect = false;
  const refreshDirect = () => {
    direct = columns.map((column) => column.direct);
    allDirect = direct.length > 0 && direct.every((numbers) => numbers !== undefined);
  };

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
    refreshDirect();
    const grown = new Uint32Array(capacity);
    grown.set(lines);
    lines = grown;
  };

  const startColumns = (names: string[]) => {
    header = names;
    checkHeader(header, cursor.line);
    capacity = 1024;
    columns = names.map((name) => new ColumnBuilder(options.modeOf?.(name, names) ?? 'auto', capacity));
    refreshDirect();
    lines = new Uint32Array(capacity);
  };

  /** Checks the record {@link scanRecord} read as row `rowCount`, and reads the fields it listed. */
  const addRow = (bytes: Uint8Array, recordLine: number) => {
    const width = header!.length;
    if (found.fields !== width) {
      throw new CsvError(
        'wrong_field_count',
        recordLine,
        `line ${recordLine} has ${found.fields} field${found.fields === 1 ? '' : 's'}, the header has ${width}; quote fields that contain commas, or fix the line`,
      );
    }
    if (rowCount + 1 > maxRows) {
      throw new CsvError(
        'too_many_rows',
        recordLine,
        `the file has more than ${maxRows} data rows, the most accepted; split it into smaller drops`,
      );
    }
    const row = rowCount;
    lines[row] = recordLine;
    for (let field = 0; field < fields.length; field++) {
      const start = fields.starts[field];
      const end = fields.ends[field];
      const quoting = fields.quoting[field];
      const builder = columns[fields.columns[field]];
      if (quoting === 0 && start === end) builder.addMissing(row);
      else builder.addText(row, decodeField(bytes, start, end, quoting));
    }
    rowCount++;
  };

  /**
   * The probe rows' bytes, kept while `auto` columns are on probation: those columns read their numbers
   * like any other (straight from the bytes), and only one whose probe rows turn out to hold text reads
   * its text, again, from here.
   */
  let probe = NOTHING;
  let probeLength = 0;
  const keepProbe = (bytes: Uint8Array, start: number, end: number) => {
    const length = probeLength + end - start;
    if (length > probe.length) {
      const grown = new Uint8Array(Math.max(length, 2 * probe.length, 64 * 1024));
      grown.set(probe.subarray(0, probeLength));
      probe = grown;
    }
    probe.set(bytes.subarray(start, end), probeLength);
    probeLength = length;
  };

  /** After the probe rows: each `auto` column that met text keeps its text, from its first row on. */
  const settleProbe = () => {
    settled = true;
    const keeping = columns.map((column) => column.needsText);
    if (keeping.includes(true)) {
      columns.forEach((column, index) => {
        if (keeping[index]) column.keepText(capacity);
      });
      const bytes = probe.subarray(0, probeLength);
      // The probe holds whole records that were read once already: reading them again cannot fail.
      const again: Cursor = { line: 1, lineEnd: cursor.lineEnd };
      const cells = new FieldList();
      const record: RecordEnd = { next: 0, lines: 0, fields: 0 };
      for (let row = 0, position = 0; row < rowCount; row++, position = record.next) {
        scanRecord(bytes, position, bytes.length, true, again, [], row, cells, record);
        for (let field = 0; field < cells.length; field++) {
          const column = cells.columns[field];
          if (!keeping[column]) continue;
          const start = cells.starts[field];
          const end = cells.ends[field];
          const quoting = cells.quoting[field];
          const text = quoting === 0 && start === end ? undefined : decodeField(bytes, start, end, quoting);
          columns[column].recode(row, text);
        }
      }
    }
    probe = NOTHING;
    refreshDirect();
  };

  const plain: PlainProgress = { rows: 0, next: 0 };
  /**
   * The row from which {@link readPlainRecords} is tried again. A call that reads no record has parsed
   * part of one that scanRecord then reads whole: where records are seldom plain (a column with more
   * digits than a plain decimal takes, say), the small loop waits a block of rows between such tries
   * rather than parse most of every record twice.
   */
  let plainFrom = 0;

  /** Cuts every complete record of `bytes`; returns where the first incomplete one starts. */
  const consume = (bytes: Uint8Array, final: boolean): number => {
    let position = 0;
    const end = bytes.length;
    const lastLineFeed = bytes.lastIndexOf(LF);
    while (position < end) {
      if (
        allDirect &&
        rowCount >= plainFrom &&
        position < lastLineFeed &&
        (cursor.lineEnd === LF_END || cursor.lineEnd === CRLF_END)
      ) {
        ensureCapacity(consumedBytes + position);
        const most = Math.min(
          capacity,
          maxRows,
          settled ? capacity : AUTO_PROBE_ROWS,
          rowCount + PLAIN_BLOCK_ROWS,
        );
        readPlainRecords(
          bytes,
          position,
          lastLineFeed,
          cursor.lineEnd === CRLF_END,
          direct as Float64Array[],
          rowCount,
          most - rowCount,
          lines,
          cursor.line,
          plain,
        );
        rowCount += plain.rows;
        cursor.line += plain.rows;
        if (!settled) {
          keepProbe(bytes, position, plain.next);
          if (rowCount === AUTO_PROBE_ROWS) settleProbe();
        }
        position = plain.next;
        // The record it stopped at, unless it stopped at a limit of rows, is read by scanRecord.
        if (plain.rows > 0) continue;
        plainFrom = rowCount + PLAIN_BLOCK_ROWS;
      }
      const blank = lineEndAt(bytes, position, end, final, cursor);
      if (blank === NEED_MORE) return position;
      if (blank > 0) {
        // A blank line: skipped, but counted.
        position += blank;
        cursor.line++;
        continue;
      }
      if (header === undefined) {
        // No column has a direct array yet: every field of the header is listed, in order.
        if (!scanRecord(bytes, position, end, final, cursor, [], 0, fields, found)) return position;
        const names = Array.from({ length: fields.length }, (_, index) =>
          decodeField(bytes, fields.starts[index], fields.ends[index], fields.quoting[index]).trim(),
        );
        startColumns(names);
        headerBytes = consumedBytes + found.next;
        settled = !columns.some((column) => column.mode === 'auto');
        refreshDirect();
      } else {
        ensureCapacity(consumedBytes + position);
        if (!scanRecord(bytes, position, end, final, cursor, direct, rowCount, fields, found))
          return position;
        addRow(bytes, cursor.line);
        if (!settled) {
          keepProbe(bytes, position, found.next);
          if (rowCount === AUTO_PROBE_ROWS) settleProbe();
        }
      }
      cursor.line += 1 + found.lines;
      position = found.next;
    }
    return position;
  };

  /** Reads the complete records of the input so far; returns the bytes left for the next chunk. */
  const scanChunk = (joined: Uint8Array): Uint8Array => {
    let bytes = joined;
    if (firstChunk) {
      if (bytes.length < 3 && bytes.length > 0) return bytes;
      firstChunk = false;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    }
    if (bytes.length < MIN_SCAN_BYTES) return bytes;
    const used = consume(bytes, false);
    consumedBytes += used;
    return bytes.subarray(used);
  };

  /**
   * Reads a chunk that continues an incomplete record (`rest`): the record is completed from the chunk's
   * first bytes joined to it, and the records after it are read in place, so a large chunk is not copied
   * whole into the carry buffer. As if the chunk had come as two, cut where a record starts. Returns the
   * bytes left for the next chunk.
   */
  const scanAfter = (rest: Uint8Array, chunk: Uint8Array): Uint8Array => {
    let left = rest;
    /** The chunk's bytes before this are in `left` already. */
    let joinedTo = 0;
    for (let take = JOIN_BYTES; take < chunk.length / 2; take *= 2) {
      const joined = carryOver(left, chunk.subarray(joinedTo, take));
      const used = consume(joined, false);
      consumedBytes += used;
      if (used >= left.length) return scanChunk(chunk.subarray(joinedTo + used - left.length));
      left = joined.subarray(used);
      joinedTo = take;
    }
    return scanChunk(carryOver(left, chunk.subarray(joinedTo)));
  };

  const utf8 = new Utf8Check();
  /** The line where the bytes not yet read as records end: that of a bad byte right after them. */
  const pendingLine = () => cursor.line + linesWithin(pending, 0, pending.length, cursor.lineEnd);
  const scan = (chunk: Uint8Array) => {
    if (pending.length === 0) pending = scanChunk(chunk);
    else if (!firstChunk && chunk.length >= 4 * JOIN_BYTES) pending = scanAfter(pending, chunk);
    else pending = scanChunk(carryOver(pending, chunk));
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
    const bad = utf8.check(chunk);
    if (bad) {
      // The records before the bad byte are read first (an earlier error is the one reported); the
      // bytes left are the record it is in, which starts on cursor.line. (A bad byte in the chunk
      // before is in them already, with nothing after it but the character's other bytes.)
      if (bad.at > 0) scan(chunk.subarray(0, bad.at));
      const first = bytesRead === chunk.byteLength && bad.at === 0 ? chunk : undefined;
      throw notUtf8Error(pendingLine(), bad.byte, first);
    }
    scan(chunk);
    if (options.releaseChunks) {
      // What the reader still needs of the chunk (an incomplete record) moves to the carry buffer first.
      if (pending.buffer === chunk.buffer) pending = carryOver(NOTHING, pending);
      release(chunk);
    }
  }
  if (utf8.incomplete) throw notUtf8Error(pendingLine(), undefined);
  if (firstChunk && pending[0] === 0xef && pending[1] === 0xbb && pending[2] === 0xbf) {
    pending = pending.subarray(3);
  }
  consume(pending, true);
  if (!settled) settleProbe();
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
    scans: columns.map((builder) => builder.finish(rowCount)),
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
