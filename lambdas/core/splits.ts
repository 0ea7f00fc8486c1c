/**
 * How rows of a feature matrix are split: the holdout (scored once, candidate against champion) and the
 * training rows (model selection scores candidates inside them, see `selection.ts`).
 *
 * A row's holdout membership is a pure function of the row, so it stays put as the data grows and a
 * champion trained on an earlier dataset is judged on the same rule: forecasts hold out the last
 * `holdout` periods; tabular rows are held out when the sha256 of their content falls in the first
 * `holdout` share of the hash space. Rows a champion trained on (`seen`) never enter the holdout, so
 * champion and candidate are both scored on rows neither has learned from.
 */
import { createHash, hash } from 'node:crypto';
import { holdoutRows, type ModelSpec, resolveColumns } from './spec.ts';
import type { RowHashes, StoredTable } from './table-file.ts';
import type { Column, Table } from './types.ts';

/** Role of a matrix row: trains candidates (and is where they are compared), or judges the chosen one. */
export const FIT = 0;
export const HOLDOUT = 2;

/** Roles of the rows of a matrix, and how many would-be holdout rows were left out because a champion saw them. */
export interface Split {
  roles: Uint8Array;
  /** Rows the holdout rule selects that the champion trained on: they train the candidate instead. */
  excluded: number;
}

/**
 * Number of rows a holdout setting means for `rowCount` rows: an integer is rows, a fraction a share
 * (rounded up, as scikit-learn's `train_test_split`).
 * @throws {RangeError} when the holdout leaves nothing to score or to train on.
 */
export function holdoutSize(holdout: number, rowCount: number): number {
  const size = holdoutRows({ holdout }, rowCount);
  if (size < 1) throw new RangeError(`a holdout of ${holdout} leaves no rows to score (${rowCount} rows)`);
  return size;
}

/**
 * Where a row key falls on [0, 1): its sha256's first 48 bits over 2⁴⁸. The same key gives the same
 * number on every machine, run and code version, which is what keeps a hashed holdout in place.
 * @example keyFraction('a') // 0.7921… (sha256("a") starts ca978112ca1b)
 */
export function keyFraction(key: string): number {
  return keyHash(key) / 2 ** 48;
}

/** The first 48 bits of the sha256 of `key` (UTF-8) as an integer: {@link keyFraction} × 2⁴⁸. */
export function keyHash(key: string): number {
  return hash('sha256', key, 'buffer').readUIntBE(0, 6);
}

/**
 * The identity of each table row for the holdout rule. Forecasts: the period (the time column's
 * value). Tabular: the row's content — the target and feature values, columns in name order — so a
 * row keeps its key when drops are merged in another order or a duplicate arrives again. Each value is
 * its text, a number as `String(value)` and NaN as nothing; values are joined by U+001F, each tabular
 * one preceded by `name=`.
 */
export function rowKeys(spec: ModelSpec, table: Table): string[] {
  const { columns, labels } = keyParts(spec, table);
  return Array.from({ length: table.rowCount }, (_, row) => {
    let key = '';
    for (let at = 0; at < columns.length; at++) {
      const value = columns[at].values[row];
      const text = typeof value === 'number' ? (Number.isNaN(value) ? '' : String(value)) : value;
      key += at === 0 ? labels[at] + text : `\u001f${labels[at]}${text}`;
    }
    return key;
  });
}

/** The columns a row's {@link rowKeys} key is built from, in key order. */
export function rowKeyColumns(spec: ModelSpec, table: Table): string[] {
  return spec.task === 'forecast'
    ? [spec.time]
    : [spec.target, ...resolveColumns(spec, table).features].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The key's columns, in key order, and the label written before each one's value. */
function keyParts(spec: ModelSpec, table: Table): { names: string[]; columns: Column[]; labels: string[] } {
  const names = rowKeyColumns(spec, table);
  const columns = names.map((name) => {
    const column = table.columns.find((candidate) => candidate.name === name);
    if (!column) throw new RangeError(`column "${name}" is not in the data`);
    return column;
  });
  const labels = columns.map((column) => (spec.task === 'forecast' ? '' : `${column.name}=`));
  return { names, columns, labels };
}

/**
 * Each row's {@link keyHash} of its {@link rowKeys} key, with the columns the keys were built from: what
 * a stored table keeps so the holdout rule needs no rehashing, the same hash for the same row.
 *
 * The keys' UTF-8 bytes are written row by row into one reused buffer and hashed from there, numbers
 * formatted by {@link writeShortestDecimal}: building a million rows' keys as strings (20 number-to-string
 * conversions and concatenations a row) took longer than reading the drop, and holding them all took
 * hundreds of megabytes. A test holds the bytes to {@link rowKeys}.
 */
export function rowHashes(spec: ModelSpec, table: Table): RowHashes {
  const { names, columns, labels } = keyParts(spec, table);
  const labelBytes = labels.map((label, at) => Buffer.from(at === 0 ? label : `\u001f${label}`, 'utf8'));
  const values = new Float64Array(table.rowCount);
  const hints = new Int8Array(columns.length);
  let buffer = Buffer.allocUnsafe(1024);
  const reserve = (length: number, more: number) => {
    if (length + more <= buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * buffer.length, length + more));
    buffer.copy(grown, 0, 0, length);
    buffer = grown;
  };
  for (let row = 0; row < table.rowCount; row++) {
    let length = 0;
    for (let at = 0; at < columns.length; at++) {
      const label = labelBytes[at];
      // A number's text is at most 25 bytes (-1.2345678901234567e-123); UTF-8 at most 3 per UTF-16 unit.
      const value = columns[at].values[row];
      reserve(length, label.length + (typeof value === 'number' ? 25 : 3 * value.length));
      buffer.set(label, length);
      length += label.length;
      if (typeof value !== 'number') length += buffer.write(value, length, 'utf8');
      else if (!Number.isNaN(value)) length = writeNumber(buffer, length, value, hints, at);
    }
    // The first 48 bits of the digest, read from its hex (a Buffer digest allocates one object a row).
    values[row] = Number.parseInt(hash('sha256', buffer.subarray(0, length), 'hex').slice(0, 12), 16);
  }
  return { columns: names, values };
}

/** 10⁰ … 10¹⁵, exact doubles. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, d) => 10 ** d);
/** Below 10¹⁵ a decimal of the integer's digits is one double's shortest text (15 digits round-trip). */
const MAX_DECIMAL_DIGITS = 1e15;

/**
 * Writes `String(value)` (ASCII) at `at`; returns the end. `hints[column]` holds the fraction digits of
 * the column's previous plain decimal, where the search for this one's starts.
 */
function writeNumber(out: Buffer, at: number, value: number, hints: Int8Array, column: number): number {
  const end = writeShortestDecimal(out, at, value, hints, column);
  return end >= 0 ? end : at + out.write(String(value), at, 'latin1');
}

/** Whether the decimal of |value| rounded to `fractionDigits` digits reads back as |value| (below 10¹⁵). */
function roundTrips(magnitude: number, fractionDigits: number): boolean {
  const scale = POWERS_OF_TEN[fractionDigits];
  const digits = Math.round(magnitude * scale);
  return digits < MAX_DECIMAL_DIGITS && digits / scale === magnitude;
}

/**
 * Writes `String(value)` for a value JavaScript prints in plain notation with at most 15 significant
 * digits (what a CSV of decimals holds), without building the string; returns the end, or −1 for any
 * other value (the caller falls back to `String`).
 *
 * The text is the decimal k / 10ᵈ with the fewest fraction digits d that reads back as the value: the
 * shortest round-trip text ECMAScript's Number::toString prints has its fraction digits, and below 10¹⁵
 * that decimal is the only one with d digits (decimals of ≤ 15 significant digits are distinct doubles).
 * k = round(|value| · 10ᵈ) is off the exact product by < 0.25, and k / 10ᵈ is correctly rounded, as
 * parsing the text would be, so the test `k / 10ᵈ === |value|` is exact. Every d above the fewest
 * reads back too (until k reaches 10¹⁵), so the search may start anywhere: at the column's last d, as
 * a column's values mostly share their number of decimals.
 */
function writeShortestDecimal(
  out: Buffer,
  at: number,
  value: number,
  hints: Int8Array,
  column: number,
): number {
  if (value === 0) {
    out[at] = 0x30; // String(-0) is "0" too
    return at + 1;
  }
  const magnitude = Math.abs(value);
  // ECMAScript prints below 10⁻⁶ in exponent notation.
  if (!(magnitude >= 1e-6 && magnitude < MAX_DECIMAL_DIGITS)) return -1;
  let fractionDigits = hints[column];
  if (roundTrips(magnitude, fractionDigits)) {
    while (fractionDigits > 0 && roundTrips(magnitude, fractionDigits - 1)) fractionDigits--;
  } else {
    do fractionDigits++;
    while (fractionDigits < POWERS_OF_TEN.length && !roundTrips(magnitude, fractionDigits));
    if (fractionDigits === POWERS_OF_TEN.length) return -1;
  }
  hints[column] = fractionDigits;
  const digits = Math.round(magnitude * POWERS_OF_TEN[fractionDigits]);
  let end = at;
  if (value < 0) out[end++] = 0x2d;
  // At least one digit before the point: 0.00123 is 123 with five fraction digits, written as 000123.
  let width = 1;
  while (width < 16 && POWERS_OF_TEN[width] <= digits) width++;
  width = Math.max(width, fractionDigits + 1);
  const pointAt = width - fractionDigits;
  const textEnd = end + width + (fractionDigits > 0 ? 1 : 0);
  let remaining = digits;
  for (let position = width - 1, write = textEnd - 1; position >= 0; position--) {
    const digit = remaining % 10;
    remaining = (remaining - digit) / 10;
    out[write--] = 0x30 + digit;
    if (position === pointAt && fractionDigits > 0) out[write--] = 0x2e;
  }
  return textEnd;
}

/**
 * The {@link rowHashes} of a stored table for this spec: the hashes its writer stored when they were
 * keyed by the columns this spec keys rows by (validate and merge store them), computed only otherwise
 * (the spec now names other features, or the table was stored without hashes).
 */
export function storedRowHashes(spec: ModelSpec, stored: StoredTable): Float64Array {
  const columns = rowKeyColumns(spec, stored.table);
  const kept = stored.rowHashes;
  if (kept && kept.columns.length === columns.length && kept.columns.every((name, i) => name === columns[i]))
    return kept.values;
  return rowHashes(spec, stored.table).values;
}

/**
 * A short fingerprint of a set of rows by their {@link keyHash} hashes (order-free), for the run record:
 * same holdout, same digest. The sha256 of the hashes sorted, as little-endian float64s.
 */
export function hashesDigest(hashes: ArrayLike<number>): string {
  const sorted = Float64Array.from(hashes).sort();
  const bytes = Buffer.alloc(sorted.length * 8);
  sorted.forEach((hash, i) => {
    bytes.writeDoubleLE(hash, i * 8);
  });
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/**
 * Roles for a time-ordered matrix, one key (its period, or the period's hash) per row: the last
 * `holdout` rows are the holdout unless the champion trained on them (`seen`).
 * @throws {RangeError} when too few rows are left to score or to train on.
 */
export function timeSplit<K>(keys: ArrayLike<K>, holdout: number, seen?: ReadonlySet<K>): Split {
  const rowCount = keys.length;
  const size = holdoutSize(holdout, rowCount);
  const roles = new Uint8Array(rowCount);
  let excluded = 0;
  for (let row = rowCount - size; row < rowCount; row++) {
    if (seen?.has(keys[row])) excluded++;
    else roles[row] = HOLDOUT;
  }
  requireHoldout(size, excluded);
  requireTraining(roles);
  return { roles, excluded };
}

/**
 * Roles for tabular rows, one {@link keyHash} per row: holdout when the hash's fraction of 2⁴⁸ (the key's
 * {@link keyFraction}) is below the holdout share and the champion did not train on the row (`seen`
 * holds the hashes of its rows).
 * @throws {RangeError} when too few rows are left to score or to train on.
 */
export function hashedSplit(
  hashes: ArrayLike<number>,
  options: { holdout: number; seen?: ReadonlySet<number> },
): Split {
  const { holdout, seen } = options;
  const rowCount = hashes.length;
  // A fraction is the share of the hash space itself, so membership does not move as rows are added.
  const share = Number.isInteger(holdout) ? holdoutSize(holdout, rowCount) / rowCount : holdout;
  const below = share * 2 ** 48;
  const roles = new Uint8Array(rowCount);
  let selected = 0;
  let excluded = 0;
  for (let row = 0; row < rowCount; row++) {
    const hash = hashes[row];
    if (hash >= below) continue;
    selected++;
    if (seen?.has(hash)) excluded++;
    else roles[row] = HOLDOUT;
  }
  if (selected === 0) {
    throw new RangeError(
      `a holdout of ${holdout} selects none of ${rowCount} rows; add rows or raise spec.holdout`,
    );
  }
  requireHoldout(selected, excluded);
  requireTraining(roles);
  return { roles, excluded };
}

function requireHoldout(selected: number, excluded: number): void {
  if (excluded === selected) {
    throw new RangeError(
      `all ${selected} holdout rows are rows the production model trained on, so nothing is left to judge a candidate on; add new rows`,
    );
  }
}

function requireTraining(roles: Uint8Array): void {
  const training = roles.length - rowsWithRole(roles, HOLDOUT).length;
  if (training < 2) throw new RangeError(`${training} training rows are too few to train on`);
}

/** Positions of the rows whose role is one of `wanted`. */
export function rowsWithRole(roles: Uint8Array, ...wanted: number[]): Int32Array {
  const match = new Uint8Array(256);
  for (const role of wanted) match[role] = 1;
  let count = 0;
  for (let position = 0; position < roles.length; position++) count += match[roles[position]];
  const positions = new Int32Array(count);
  let next = 0;
  for (let position = 0; position < roles.length; position++)
    if (match[roles[position]] === 1) positions[next++] = position;
  return positions;
}
