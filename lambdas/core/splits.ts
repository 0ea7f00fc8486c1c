/**
 * How rows of a feature matrix are split: the holdout (scored once, candidate against champion) and the
 * training rows (model selection scores candidates inside them, see `selection.ts`).
 *
 * A row's holdout membership is a pure function of the row, so it stays put as the data grows and a
 * champion trained on an earlier dataset is judged on the same rule: forecasts hold out the last
 * `holdout` periods; tabular rows are held out when the hash of their content (`row-hash.ts`) falls in
 * the first `holdout` share of the hash space. Rows a champion trained on (`seen`) never enter the holdout, so
 * champion and candidate are both scored on rows neither has learned from.
 */
import { createHash } from 'node:crypto';
import { hashRows, ROW_HASH_KIND, ROW_HASH_SPACE } from './row-hash.ts';
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
 * The columns a row's identity is taken from, in name order: forecasts, the period (the time column);
 * tabular rows, their content — the target and the features — so a row keeps its identity when a drop
 * lists its columns in another order, drops are merged in another order, or a duplicate arrives again.
 */
export function rowKeyColumns(spec: ModelSpec, table: Table): string[] {
  return spec.task === 'forecast'
    ? [spec.time]
    : [spec.target, ...resolveColumns(spec, table).features].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The identity of each table row for the holdout rule: the {@link hashRows} hash of its
 * {@link rowKeyColumns} values (the parsed values, however the CSV printed them), with the columns and
 * the hash kind — what a stored table keeps so the holdout needs no rehashing.
 * @throws {RangeError} when a key column is not in the table.
 */
export function rowHashes(spec: ModelSpec, table: Table): RowHashes {
  const names = rowKeyColumns(spec, table);
  const columns = names.map((name): Column => {
    const column = table.columns.find((candidate) => candidate.name === name);
    if (!column) throw new RangeError(`column "${name}" is not in the data`);
    return column;
  });
  return { columns: names, kind: ROW_HASH_KIND, values: hashRows(columns, table.rowCount) };
}

/**
 * The {@link rowHashes} of a stored table for this spec: the hashes its writer stored when they are of
 * this hash kind and keyed by the columns this spec keys rows by (validate and merge store them),
 * computed otherwise (the spec now names other features, the table was stored without hashes, or before
 * the hash kind changed: a table written with sha256 hashes of the rows' text is hashed again from its
 * values, so its rows have the identity every newer table gives them).
 */
export function storedRowHashes(spec: ModelSpec, stored: StoredTable): Float64Array {
  const columns = rowKeyColumns(spec, stored.table);
  const kept = stored.rowHashes;
  if (
    kept?.kind === ROW_HASH_KIND &&
    kept.columns.length === columns.length &&
    kept.columns.every((name, i) => name === columns[i])
  )
    return kept.values;
  return rowHashes(spec, stored.table).values;
}

/**
 * A short fingerprint of a set of rows by their {@link rowHashes} hashes (order-free), for the run record:
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
 * Roles for tabular rows, one {@link rowHashes} hash per row: holdout when the hash's fraction of the
 * hash space (2⁵³) is below the holdout share and the champion did not train on the row (`seen` holds
 * the hashes of its rows).
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
  const below = share * ROW_HASH_SPACE;
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
