/**
 * The validated table as bytes: what `validate` writes once for each drop and `merge` for each dataset,
 * and every later step reads instead of parsing CSV again. A small binary format in the manner of the
 * feature sets: a magic, a JSON header (the schema: column names, kinds and each text column's distinct
 * values), then one 8-byte-aligned section per column — `Float64` values for a numeric column, `Uint32`
 * codes into its distinct values for a text column — and the row hashes. Reading is a few array views
 * and one pass per text column; nothing is parsed or validated.
 *
 * The header's `format` says how to read the rest: 2 records the row hashes' `kind`; format 1 (no
 * `format` field, written before the row identity hashed values) stored sha256 hashes of the rows' text,
 * read back with the kind {@link SHA256_TEXT_KIND} so a reader knows to hash those rows again.
 */
import type { Column, Table } from './types.ts';

const MAGIC = 'DLTABLE1';
const PREFIX = MAGIC.length + 4;
/** The format this module writes. */
const FORMAT = 2;

/** The kind of the row hashes of a format-1 file: the first 48 bits of the sha256 of each row's text. */
export const SHA256_TEXT_KIND = 'sha256-text-48';

/**
 * Each row's identity for the holdout rule (`rowHashes` in splits.ts), an integer per row. `columns` are
 * the columns the hashes were taken of and `kind` how (`ROW_HASH_KIND` in row-hash.ts): a reader whose
 * spec keys rows by other columns, or whose code hashes another way, must recompute them.
 */
export interface RowHashes {
  columns: string[];
  kind: string;
  values: Float64Array;
}

/** A table as stored, with its row hashes when the writer had a spec to key rows by. */
export interface StoredTable {
  table: Table;
  rowHashes?: RowHashes;
}

type ColumnHeader = { name: string; kind: 'numeric' } | { name: string; kind: 'text'; words: string[] };

interface Header {
  /** Absent in format 1. */
  format?: number;
  rowCount: number;
  columns: ColumnHeader[];
  /** `kind` is absent in format 1. */
  rowHashes?: { columns: string[]; kind?: string };
}

/** Bytes a section of `rowCount` items of `size` bytes takes, padded to 8. */
const sectionBytes = (rowCount: number, size: number) => Math.ceil((rowCount * size) / 8) * 8;

/** A text column as its distinct values (in order of first appearance) and a code per row. */
function dictionaryOf(values: readonly string[]): { words: string[]; codes: Uint32Array } {
  const index = new Map<string, number>();
  const words: string[] = [];
  const codes = new Uint32Array(values.length);
  for (let row = 0; row < values.length; row++) {
    let code = index.get(values[row]);
    if (code === undefined) {
      code = words.length;
      index.set(values[row], code);
      words.push(values[row]);
    }
    codes[row] = code;
  }
  return { words, codes };
}

/**
 * A table (and its row hashes) as the byte ranges of its file, in order: the header, then views of the
 * columns' own memory (and zero padding), so a writer can send the file without a second copy of the
 * data. Their concatenation is {@link encodeTable}.
 * @throws {RangeError} when a column or the row hashes are not `rowCount` long.
 */
export function encodeTableParts(stored: StoredTable): { parts: Uint8Array[]; byteLength: number } {
  const { table, rowHashes } = stored;
  const { rowCount } = table;
  const sections: Uint8Array[] = [];
  const columns = table.columns.map((column): ColumnHeader => {
    if (column.values.length !== rowCount) {
      throw new RangeError(`column "${column.name}" has ${column.values.length} values, not ${rowCount}`);
    }
    if (column.kind === 'numeric') {
      const { values } = column;
      sections.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      return { name: column.name, kind: 'numeric' };
    }
    const { words, codes } = dictionaryOf(column.values);
    sections.push(new Uint8Array(codes.buffer, 0, codes.byteLength));
    return { name: column.name, kind: 'text', words };
  });
  if (rowHashes) {
    if (rowHashes.values.length !== rowCount) {
      throw new RangeError(`${rowHashes.values.length} row hashes for ${rowCount} rows`);
    }
    const { values } = rowHashes;
    sections.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  const header: Header = {
    format: FORMAT,
    rowCount,
    columns,
    ...(rowHashes ? { rowHashes: { columns: rowHashes.columns, kind: rowHashes.kind } } : {}),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const headerSpace = Math.ceil((PREFIX + headerBytes.length) / 8) * 8 - PREFIX;
  const head = new Uint8Array(PREFIX + headerSpace);
  head.set(Buffer.from(MAGIC, 'ascii'), 0);
  new DataView(head.buffer).setUint32(MAGIC.length, headerSpace, true);
  head.set(headerBytes, PREFIX);
  head.fill(0x20, PREFIX + headerBytes.length);
  const parts: Uint8Array[] = [head];
  for (const section of sections) {
    parts.push(section);
    const padding = Math.ceil(section.length / 8) * 8 - section.length;
    if (padding > 0) parts.push(new Uint8Array(padding));
  }
  return { parts, byteLength: parts.reduce((sum, part) => sum + part.length, 0) };
}

/**
 * A table (and its row hashes) as bytes that {@link decodeTable} reads back into an equal table.
 * @throws {RangeError} when a column or the row hashes are not `rowCount` long.
 */
export function encodeTable(stored: StoredTable): Uint8Array {
  const { parts, byteLength } = encodeTableParts(stored);
  // A fresh buffer, not Buffer.concat's pool: the sections' views need the file 8-byte aligned.
  const out = new Uint8Array(byteLength);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Whether bytes are an {@link encodeTable} table (by its magic). */
export function isTableFile(bytes: Uint8Array): boolean {
  return (
    Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, MAGIC.length)).toString('ascii') ===
    MAGIC
  );
}

/**
 * Reads {@link encodeTable} bytes, of this format or format 1. Numeric columns are views on one aligned
 * copy of the bytes.
 * @throws {RangeError} for bytes that are not a table, of a newer format, or truncated or padded.
 */
export function decodeTable(bytes: Uint8Array): StoredTable {
  if (!isTableFile(bytes)) throw new RangeError('not a driftline table (no DLTABLE1 magic)');
  // One copy puts the sections on 8-byte boundaries whatever buffer the bytes came in.
  const copy = new Uint8Array(bytes);
  const headerSpace = new DataView(copy.buffer).getUint32(MAGIC.length, true);
  const header = JSON.parse(Buffer.from(copy.buffer, PREFIX, headerSpace).toString('utf8')) as Header;
  const format = header.format ?? 1;
  if (format > FORMAT) {
    throw new RangeError(
      `table format ${format} is newer than this code reads (${FORMAT}); update driftline`,
    );
  }
  const { rowCount } = header;
  let offset = PREFIX + headerSpace;
  const need = (bytesWanted: number) => {
    if (offset + bytesWanted > copy.length) throw new RangeError('the table bytes are truncated');
  };
  const columns = header.columns.map((column): Column => {
    if (column.kind === 'numeric') {
      need(rowCount * 8);
      const values = new Float64Array(copy.buffer, offset, rowCount);
      offset += sectionBytes(rowCount, 8);
      return { name: column.name, kind: 'numeric', values };
    }
    need(rowCount * 4);
    const codes = new Uint32Array(copy.buffer, offset, rowCount);
    offset += sectionBytes(rowCount, 4);
    const { words } = column;
    const values = new Array<string>(rowCount);
    for (let row = 0; row < rowCount; row++) values[row] = words[codes[row]];
    return { name: column.name, kind: 'text', values };
  });
  let rowHashes: RowHashes | undefined;
  if (header.rowHashes) {
    need(rowCount * 8);
    rowHashes = {
      columns: header.rowHashes.columns,
      kind: header.rowHashes.kind ?? SHA256_TEXT_KIND,
      values: new Float64Array(copy.buffer, offset, rowCount),
    };
    offset += sectionBytes(rowCount, 8);
  }
  if (offset !== copy.length) throw new RangeError('the table bytes are truncated or padded');
  return { table: { columns, rowCount }, ...(rowHashes ? { rowHashes } : {}) };
}
