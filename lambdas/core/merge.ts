/**
 * Merging a new drop into the baseline once drift says the model should learn from it, with its
 * lineage: which inputs went in, how many rows came out, what was replaced or dropped, and which months
 * are still missing; then cutting it to the newest rows or months the spec's `history` window keeps, so
 * a dataset (and the memory of every step that reads one) stops growing with the model's age. (The
 * dataset's content hash is the sha256 of its stored bytes, taken once by the merge step, not of each
 * intermediate table.)
 */
import { createHash } from 'node:crypto';
import { hashRows } from './row-hash.ts';
import {
  type HistoryWindow,
  historyWindow,
  MONTH_PATTERN,
  type ModelSpec,
  monthIndex,
  monthLabel,
  usedColumns,
} from './spec.ts';
import type { Column, Table } from './types.ts';

/** Tables that cannot be merged: different columns, or a time column that is not a clean key. */
export class MergeError extends Error {
  override readonly name = 'MergeError';
}

/** Where a merged table came from. */
export interface MergeLineage {
  /** The baseline, then the drop, each with its row count. */
  inputs: { name: string; rows: number }[];
  rowsOut: number;
  /** Forecasts: baseline months the drop replaced. Always 0 for tabular merges. */
  overlapping: number;
  /** Tabular: rows dropped because an identical row comes again later. Always 0 for forecast merges. */
  duplicatesRemoved: number;
  /** Forecasts: `YYYY-MM` months missing between the first and last month of the merged series. */
  gaps: string[];
}

export interface MergeResult {
  table: Table;
  lineage: MergeLineage;
}

/** Names recorded in the lineage. @default { baselineName: 'baseline', dropName: 'drop' } */
export interface MergeOptions {
  baselineName?: string;
  dropName?: string;
}

/**
 * SHA-256 of bytes, UTF-8 text, or byte ranges one after another, as lowercase hex (what `sha256sum`
 * prints).
 * @example sha256('abc') // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 */
export function sha256(bytes: Uint8Array | string | readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  if (typeof bytes === 'string' || bytes instanceof Uint8Array) hash.update(bytes);
  else for (const part of bytes) hash.update(part);
  return hash.digest('hex');
}

/** A merged row: which input it comes from (0 baseline, 1 drop) and its row there. */
interface RowSource {
  input: 0 | 1;
  row: number;
}

/** How a drop's columns differ from a baseline's: names only one has, and shared names of another kind. */
export interface ColumnDifference {
  lacks: string[];
  adds: string[];
  kinds: { name: string; baseline: Column['kind']; drop: Column['kind'] }[];
}

/**
 * How `drop`'s columns differ from `baseline`'s (order aside), or undefined when they are the same names
 * of the same kinds, which is what merging them takes.
 */
export function columnDifference(baseline: Table, drop: Table): ColumnDifference | undefined {
  const baselineNames = baseline.columns.map((column) => column.name);
  const dropByName = new Map(drop.columns.map((column) => [column.name, column]));
  const lacks = baselineNames.filter((name) => !dropByName.has(name));
  const adds = drop.columns.map((column) => column.name).filter((name) => !baselineNames.includes(name));
  const kinds = baseline.columns.flatMap((column) => {
    const match = dropByName.get(column.name);
    return match === undefined || match.kind === column.kind
      ? []
      : [{ name: column.name, baseline: column.kind, drop: match.kind }];
  });
  return lacks.length + adds.length + kinds.length === 0 ? undefined : { lacks, adds, kinds };
}

/** The drop's columns in the baseline's order, after checking both have the same names and kinds. */
function alignColumns(baseline: Table, drop: Table): Column[] {
  const difference = columnDifference(baseline, drop);
  if (difference && (difference.lacks.length > 0 || difference.adds.length > 0)) {
    const { lacks, adds } = difference;
    const parts = [
      lacks.length > 0 ? `the drop lacks ${lacks.join(', ')}` : '',
      adds.length > 0 ? `the drop adds ${adds.join(', ')}` : '',
    ].filter((part) => part !== '');
    throw new MergeError(`cannot merge tables with different columns: ${parts.join('; ')}`);
  }
  if (difference) {
    const [{ name, baseline: was, drop: is }] = difference.kinds;
    throw new MergeError(`cannot merge column "${name}": it is ${was} in the baseline but ${is} in the drop`);
  }
  const dropByName = new Map(drop.columns.map((column) => [column.name, column]));
  return baseline.columns.map((column) => dropByName.get(column.name)!);
}

function gather(baselineColumn: Column, dropColumn: Column, sources: RowSource[]): Column {
  if (baselineColumn.kind === 'numeric' && dropColumn.kind === 'numeric') {
    const inputs = [baselineColumn.values, dropColumn.values];
    const values = new Float64Array(sources.length);
    sources.forEach(({ input, row }, index) => {
      values[index] = inputs[input][row];
    });
    return { name: baselineColumn.name, kind: 'numeric', values };
  }
  if (baselineColumn.kind === 'text' && dropColumn.kind === 'text') {
    const inputs = [baselineColumn.values, dropColumn.values];
    return {
      name: baselineColumn.name,
      kind: 'text',
      values: sources.map(({ input, row }) => inputs[input][row]),
    };
  }
  throw new MergeError(`column "${baselineColumn.name}" has different kinds in the baseline and the drop`);
}

function assemble(
  baseline: Table,
  drop: Table,
  sources: RowSource[],
  stats: Pick<MergeLineage, 'overlapping' | 'duplicatesRemoved' | 'gaps'>,
  options: MergeOptions,
): MergeResult {
  const dropColumns = alignColumns(baseline, drop);
  const table: Table = {
    columns: baseline.columns.map((column, index) => gather(column, dropColumns[index], sources)),
    rowCount: sources.length,
  };
  return {
    table,
    lineage: {
      inputs: [
        { name: options.baselineName ?? 'baseline', rows: baseline.rowCount },
        { name: options.dropName ?? 'drop', rows: drop.rowCount },
      ],
      rowsOut: table.rowCount,
      ...stats,
    },
  };
}

/** The month index of every row of a table's time column, which must be distinct `YYYY-MM` text. */
function monthsOf(table: Table, timeColumn: string, name: string): number[] {
  const column = table.columns.find((candidate) => candidate.name === timeColumn);
  if (column === undefined) throw new MergeError(`the ${name} has no time column "${timeColumn}"`);
  if (column.kind !== 'text')
    throw new MergeError(`the ${name}'s time column "${timeColumn}" is not YYYY-MM text`);
  const seen = new Set<number>();
  return column.values.map((label, row) => {
    if (!MONTH_PATTERN.test(label)) {
      throw new MergeError(
        `the ${name}'s time column "${timeColumn}" row ${row} holds "${label}", not a YYYY-MM month`,
      );
    }
    const month = monthIndex(label);
    if (seen.has(month))
      throw new MergeError(`the ${name} has month ${label} twice; validate drops before merging`);
    seen.add(month);
    return month;
  });
}

/** The `YYYY-MM` months missing between the first and the last of ascending month indexes. */
function missingMonths(months: readonly number[]): string[] {
  const gaps: string[] = [];
  for (let position = 1; position < months.length; position++) {
    for (let month = months[position - 1] + 1; month < months[position]; month++)
      gaps.push(monthLabel(month));
  }
  return gaps;
}

/**
 * The months a forecast drop would leave missing next to the data before it (a model's dataset, then
 * the drops held back, oldest first): those missing from the whole merged series with the drop, before
 * any history window cuts it, that are not missing without it. Empty when the drop's months adjoin or
 * overlap that data, or fill months it lacked; a drop years ahead leaves every month between missing
 * (where a window would instead cut the data before it away).
 * @throws {MergeError} for tables that cannot be merged.
 * @example monthsLeftMissing('month', [series1949to1956], series1958) // ['1957-01', …, '1957-12']
 */
export function monthsLeftMissing(timeColumn: string, before: Table[], drop: Table): string[] {
  const pairwise: PairwiseMerge = (left, right, options) => mergeForecast(left, right, timeColumn, options);
  const named = before.map((table, index) => ({ name: `input ${index}`, table }));
  const monthsOfAll = (inputs: typeof named) =>
    monthsOf(mergeInOrder(inputs, pairwise).table, timeColumn, 'dataset');
  const missing = new Set(missingMonths(monthsOfAll(named)));
  return missingMonths(monthsOfAll([...named, { name: 'drop', table: drop }])).filter(
    (month) => !missing.has(month),
  );
}

/**
 * The names of a forecast merge's inputs with a month after `month` (a `YYYY-MM` label): with `month` the
 * first one missing, the inputs that wait for the missing months.
 * @throws {MergeError} when an input's time column is missing or not distinct `YYYY-MM` months.
 */
export function inputsAfter(
  timeColumn: string,
  inputs: { name: string; table: Table }[],
  month: string,
): string[] {
  const after = monthIndex(month);
  return inputs
    .filter(({ name, table }) => monthsOf(table, timeColumn, name).some((index) => index > after))
    .map(({ name }) => name);
}

/**
 * Missing months for a message: how many, and the first three.
 * @example missingMonthsText(['1957-01', '1957-02', '1957-03', '1957-04']) // '4 month(s) (1957-01, 1957-02, 1957-03, …)'
 */
export function missingMonthsText(gaps: readonly string[]): string {
  return `${gaps.length} month(s) (${gaps.slice(0, 3).join(', ')}${gaps.length > 3 ? ', …' : ''})`;
}

/**
 * Merges a monthly series: the union of both tables' months, the drop's row winning where both have
 * a month (a restated figure replaces the old one), sorted by month, with the months still missing
 * between the first and the last reported as `gaps`.
 * @throws {MergeError} when the column sets or kinds differ, or a time value is not a distinct `YYYY-MM`.
 * @example
 * const { table, lineage } = mergeForecast(baseline, drop, 'month');
 * lineage.overlapping; // months of the baseline the drop restated
 */
export function mergeForecast(
  baseline: Table,
  drop: Table,
  timeColumn: string,
  options: MergeOptions = {},
): MergeResult {
  alignColumns(baseline, drop);
  const byMonth = new Map<number, RowSource>();
  monthsOf(baseline, timeColumn, 'baseline').forEach((month, row) => {
    byMonth.set(month, { input: 0, row });
  });
  let overlapping = 0;
  monthsOf(drop, timeColumn, 'drop').forEach((month, row) => {
    if (byMonth.has(month)) overlapping++;
    byMonth.set(month, { input: 1, row });
  });
  const months = [...byMonth.keys()].sort((a, b) => a - b);
  const gaps = missingMonths(months);
  const sources = months.map((month) => byMonth.get(month)!);
  return assemble(baseline, drop, sources, { overlapping, duplicatesRemoved: 0, gaps }, options);
}

/** Two column values equal for duplicate detection: missing numbers (NaN) equal each other, 0 equals −0. */
function sameValue(a: number | string, b: number | string): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}

/**
 * Appends the drop to the baseline, keeping one of any exactly equal rows (the same value in every
 * column, missing equal to missing), so a drop that repeats old rows does not weigh them twice. The
 * copy kept is the last: a row sent again counts as new data and takes its latest place, so the newest
 * rows of the result (what a history window keeps) are the newest drops' rows, repeats included.
 * Rows are found by a hash of their values and compared value by value when hashes meet, so a hash
 * collision never drops a distinct row.
 * @throws {MergeError} when the column sets or kinds differ.
 */
export function mergeTabular(baseline: Table, drop: Table, options: MergeOptions = {}): MergeResult {
  const dropColumns = alignColumns(baseline, drop);
  // Newest first: the first copy met is the one kept; the kept rows are put back in order at the end.
  const inputs: [Column[], 0 | 1, number][] = [
    [dropColumns, 1, drop.rowCount],
    [baseline.columns, 0, baseline.rowCount],
  ];
  const columnsOf: Record<0 | 1, Column[]> = { 0: baseline.columns, 1: dropColumns };
  /** The kept rows by hash: one source, or several when distinct rows share a hash. */
  const kept = new Map<number, RowSource | RowSource[]>();
  const sources: RowSource[] = [];
  let duplicatesRemoved = 0;
  const equal = (columns: Column[], row: number, other: RowSource) =>
    columnsOf[other.input].every((column, index) =>
      sameValue(columns[index].values[row], column.values[other.row]),
    );
  for (const [columns, input, rowCount] of inputs) {
    // The row identity's hash (NaN one value, −0 as 0, as `sameValue`), over every column.
    const hashes = hashRows(columns, rowCount);
    for (let row = rowCount - 1; row >= 0; row--) {
      const source: RowSource = { input, row };
      const earlier = kept.get(hashes[row]);
      if (earlier === undefined) kept.set(hashes[row], source);
      else {
        const candidates = Array.isArray(earlier) ? earlier : [earlier];
        if (candidates.some((other) => equal(columns, row, other))) {
          duplicatesRemoved++;
          continue;
        }
        kept.set(hashes[row], [...candidates, source]);
      }
      sources.push(source);
    }
  }
  sources.reverse();
  return assemble(baseline, drop, sources, { overlapping: 0, duplicatesRemoved, gaps: [] }, options);
}

/** A pairwise merge: {@link mergeForecast} or {@link mergeTabular} with its options bound. */
export type PairwiseMerge = (left: Table, right: Table, options: MergeOptions) => MergeResult;

/**
 * Merges `inputs` left to right, with the result `merge(merge(merge(t0, t1), t2), …)` would give (both
 * merges are associative: later forecast months win, the last of equal tabular rows is kept), but
 * neighbours are paired level by level, so each row is re-hashed and copied log₂(n) times rather than
 * n times: 2,000 held-back drops merge in seconds, not minutes.
 * @returns the merged table and the lineage of every pairwise merge, the last one covering everything.
 * @throws {RangeError} for no input.
 * @example mergeInOrder([{ name: 'baseline', table }, { name: 'drop', table: drop }], mergeTabular)
 */
export function mergeInOrder(
  inputs: { name: string; table: Table }[],
  merge: PairwiseMerge,
): { table: Table; lineage: MergeLineage[] } {
  if (inputs.length === 0) throw new RangeError('mergeInOrder needs at least one table');
  const lineage: MergeLineage[] = [];
  // A merged run of inputs is named after its first and last input, so names stay short.
  let level = inputs.map(({ name, table }) => ({ first: name, last: name, table }));
  const nameOf = (run: { first: string; last: string }) =>
    run.first === run.last ? run.first : `${run.first} … ${run.last}`;
  while (level.length > 1) {
    const next: typeof level = [];
    for (let i = 0; i < level.length; i += 2) {
      const [left, right] = [level[i], level[i + 1]];
      if (right === undefined) {
        next.push(left);
        continue;
      }
      const result = merge(left.table, right.table, { baselineName: nameOf(left), dropName: nameOf(right) });
      lineage.push(result.lineage);
      next.push({ first: left.first, last: right.last, table: result.table });
    }
    level = next;
  }
  return { table: level[0].table, lineage };
}

/** What a dataset's lineage records of its history window. */
export interface DatasetHistory {
  window: HistoryWindow;
  /** Rows the merge produced before the window cut them. */
  rowsMerged: number;
  /** Of those, the rows older than the window, left out of the dataset. */
  outOfWindow: number;
  /**
   * Drops merged into the model's datasets in all, this run's included: a drop whose rows have all left
   * the window is still counted here and listed in its run's manifest.
   */
  totalDrops: number;
}

/** A table cut to a model's history window (see {@link keepHistory}). */
export interface KeptHistory {
  table: Table;
  window: HistoryWindow;
  /** Rows older than the window, left out. */
  outOfWindow: number;
}

/** Rows `from` to the end of a table; numeric columns are views of the same memory, not copies. */
function rowsFrom(table: Table, from: number): Table {
  if (from === 0) return table;
  return {
    columns: table.columns.map((column) =>
      column.kind === 'numeric'
        ? { ...column, values: column.values.subarray(from) }
        : { ...column, values: column.values.slice(from) },
    ),
    rowCount: table.rowCount - from,
  };
}

/**
 * Keeps the newest part of a merged table, as the spec's history window says ({@link historyWindow}):
 * a tabular table's last `rows` rows (merges put the newest drops' rows last), a forecast's months from
 * `months − 1` before its last month on (the table sorted by month, as {@link mergeForecast} and
 * validation leave it). A table within its window is returned as is.
 * @throws {MergeError} when a forecast's time column is missing, or not distinct `YYYY-MM` months in order.
 * @example keepHistory(spec, merged) // { table, window: { rows: 1000000 }, outOfWindow: 0 }
 */
export function keepHistory(spec: ModelSpec, table: Table): KeptHistory {
  if (spec.task === 'forecast') {
    const window = historyWindow(spec, table.columns.length);
    const months = monthsOf(table, spec.time, 'dataset');
    const first = months.length === 0 ? 0 : months[months.length - 1] - window.months + 1;
    let from = months.length;
    while (from > 0 && months[from - 1] >= first) from--;
    if (months.slice(0, from).some((month) => month >= first))
      throw new MergeError(`the dataset's time column "${spec.time}" is not sorted by month`);
    return { table: rowsFrom(table, from), window, outOfWindow: from };
  }
  const window = historyWindow(spec, table.columns.length);
  const from = Math.max(0, table.rowCount - window.rows);
  return { table: rowsFrom(table, from), window, outOfWindow: from };
}

/** The merged dataset of a retrain, cut to its history window, with what went into it. */
export interface MergedHistory extends KeptHistory {
  /** Rows the merged inputs hold before the window cuts them (what the dataset would be without one). */
  rowsMerged: number;
  /** Forecasts: baseline months the later inputs restated. */
  overlapping: number;
  /** Tabular: rows left out because an identical row comes again later. */
  duplicatesRemoved: number;
  /**
   * Forecasts: `YYYY-MM` months missing inside the window (older gaps have left the dataset), those
   * between the window's first month and the first one kept included.
   */
  gaps: string[];
}

/**
 * The months missing inside a forecast's history window: from its first month (or the series' first, when
 * later) to the last. Months missing before the first month kept count too: a drop years after the data
 * leaves the window holding that drop alone, and its months must not pass for a whole series.
 */
function windowGaps(timeColumn: string, merged: Table, kept: KeptHistory): string[] {
  const keptMonths = monthsOf(kept.table, timeColumn, 'dataset');
  if (keptMonths.length === 0 || !('months' in kept.window)) return [];
  const last = keptMonths[keptMonths.length - 1];
  const from = Math.max(monthsOf(merged, timeColumn, 'dataset')[0], last - kept.window.months + 1);
  const before = Array.from({ length: keptMonths[0] - from }, (_, i) => monthLabel(from + i));
  return [...before, ...missingMonths(keptMonths)];
}

/**
 * Merges a retrain's inputs, oldest first (the baseline, then the drops in the order they came), on the
 * columns the spec uses ({@link usedColumns}), as {@link mergeInOrder} does for the spec's task, and
 * keeps the newest part the spec's history window allows ({@link keepHistory}). Deterministic: the same inputs give the same rows in the same order.
 * @throws {RangeError} for no input; {@link MergeError} for inputs that cannot be merged.
 */
export function mergeHistory(spec: ModelSpec, inputs: { name: string; table: Table }[]): MergedHistory {
  const pairwise: PairwiseMerge =
    spec.task === 'forecast'
      ? (left, right, options) => mergeForecast(left, right, spec.time, options)
      : mergeTabular;
  // A column the spec ignores (kept by a dataset or drop stored before drops were stored without it)
  // is left out, so it neither blocks the merge nor stays in the dataset.
  const used = inputs.map(({ name, table }) => ({ name, table: usedColumns(spec, table) }));
  const { table: merged, lineage } = mergeInOrder(used, pairwise);
  const kept = keepHistory(spec, merged);
  const gaps = spec.task === 'forecast' ? windowGaps(spec.time, merged, kept) : [];
  return {
    ...kept,
    rowsMerged: merged.rowCount,
    overlapping: lineage.reduce((sum, entry) => sum + entry.overlapping, 0),
    duplicatesRemoved: lineage.reduce((sum, entry) => sum + entry.duplicatesRemoved, 0),
    gaps,
  };
}
