/**
 * The validation gate: before anything is trained, a data drop is checked against its model spec —
 * it parses, has the columns the spec names, numbers where numbers belong, few enough missing values,
 * values in range, enough rows, a clean monthly calendar for forecasts and usable labels for
 * classifiers. Bad data never throws: every finding is a {@link Problem} a person can act on.
 */
import {
  type ColumnScan,
  type ReadColumns,
  type ReadMode,
  type ReadOptions,
  readColumns,
} from './column-reader.ts';
import { CsvError, type CsvInput, type CsvLimits, type CsvProblem } from './csv.ts';
import {
  type ColumnRole,
  LOG_TRANSFORMS,
  MONTH_PATTERN,
  type ModelSpec,
  monthIndex,
  monthLabel,
  namedColumns,
  resolveFeatures,
  suggestName,
  usedColumns,
} from './spec.ts';
import type { Column, Table } from './types.ts';

/** Machine-readable kinds of problem; CSV-level ones are the {@link CsvError} codes. */
export type ProblemCode =
  | CsvProblem
  | 'missing_column'
  | 'unexpected_column'
  | 'missing_values'
  | 'not_finite'
  | 'out_of_range'
  | 'too_few_rows'
  | 'bad_time_format'
  | 'duplicate_time'
  | 'time_not_sorted'
  | 'missing_time'
  | 'not_positive'
  | 'unknown_class'
  | 'single_class';

/** One finding about a drop. Errors fail the gate; warnings are reported and let it pass. */
export interface Problem {
  severity: 'error' | 'warning';
  problem: ProblemCode;
  column?: string;
  /** The 1-based line of the file to look at (the header is line 1). */
  row?: number;
  /** How many values (rows, months, columns) the problem covers. */
  count?: number;
  message: string;
}

/** The gate's verdict. `table` is the parsed drop, present only when `ok`. */
export interface ValidationReport {
  ok: boolean;
  rowCount: number;
  columns: string[];
  problems: Problem[];
  table?: Table;
}

/** Problems listed per code before the rest are folded into one summary problem. */
export const MAX_PROBLEMS_PER_CODE = 10;
/** Months named in a `missing_time` message before it says "…". */
const MONTHS_LISTED = 5;

function quoted(cell: string): string {
  const json = JSON.stringify(cell);
  return json.length > 42 ? `${json.slice(0, 40)}…"` : json;
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

function percent(share: number): string {
  return `${Number((share * 100).toFixed(1))}%`;
}

/** A column's numbers, `rowCount` long (NaN where missing or not a number). */
function numbersOf(read: ReadColumns, column: string): Float64Array {
  const numbers = read.numbers(read.header.indexOf(column));
  if (numbers === undefined) throw new RangeError(`column "${column}" was not read as numbers`);
  return numbers.subarray(0, read.rowCount);
}

/** The first finite value of a column that `test` picks, and how many it picks. */
function firstWhere(
  numbers: Float64Array,
  test: (value: number) => boolean,
): { count: number; row: number; value: number } {
  let count = 0;
  let row = -1;
  for (let index = 0; index < numbers.length; index++) {
    const value = numbers[index];
    if (!Number.isFinite(value) || !test(value)) continue;
    if (count++ === 0) row = index;
  }
  return { count, row, value: row < 0 ? Number.NaN : numbers[row] };
}

/** Keeps {@link MAX_PROBLEMS_PER_CODE} problems of each code and folds the rest into one with a count. */
export function capProblems(problems: Problem[], perCode = MAX_PROBLEMS_PER_CODE): Problem[] {
  const kept: Problem[] = [];
  const overflow = new Map<ProblemCode, Problem[]>();
  const seen = new Map<ProblemCode, number>();
  for (const problem of problems) {
    const count = (seen.get(problem.problem) ?? 0) + 1;
    seen.set(problem.problem, count);
    if (count <= perCode) kept.push(problem);
    else overflow.set(problem.problem, [...(overflow.get(problem.problem) ?? []), problem]);
  }
  for (const [code, rest] of overflow) {
    const columns = rest.flatMap((problem) => (problem.column === undefined ? [] : [problem.column]));
    kept.push({
      severity: rest.some((problem) => problem.severity === 'error') ? 'error' : 'warning',
      problem: code,
      count: rest.reduce((sum, problem) => sum + (problem.count ?? 1), 0),
      message: `${plural(rest.length, `more "${code}" problem`)}${columns.length > 0 ? ` in columns ${columns.join(', ')}` : ''}`,
    });
  }
  return kept;
}

/** Who needs a column, for messages ("the target", "a listed feature"), and the spec field naming it. */
const ROLE_TEXT: Record<ColumnRole, { what: string; field: string }> = {
  target: { what: 'the target', field: 'spec.target' },
  time: { what: 'the time column', field: 'spec.time' },
  feature: { what: 'a listed feature', field: 'spec.features' },
  categorical: { what: 'a listed categorical column', field: 'spec.categorical' },
  range: { what: 'a column with a range', field: 'spec.validation.ranges' },
};

function headerProblems(spec: ModelSpec, header: string[]): Problem[] {
  const problems: Problem[] = [];
  const shownHeader = header.length > 12 ? `${header.slice(0, 12).join(', ')}, …` : header.join(', ');
  for (const [column, role] of namedColumns(spec)) {
    if (header.includes(column)) continue;
    const suggestion = suggestName(column, header);
    const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
    problems.push({
      severity: 'error',
      problem: 'missing_column',
      column,
      row: 1,
      message: `column "${column}" (${ROLE_TEXT[role].what}) is not in the header (${shownHeader})${hint}; rename the column in the file or fix ${ROLE_TEXT[role].field}`,
    });
  }
  if (spec.features) {
    const used = namedColumns(spec);
    for (const column of header) {
      if (used.has(column)) continue;
      problems.push({
        severity: 'warning',
        problem: 'unexpected_column',
        column,
        row: 1,
        message: `column "${column}" is not the target, the time or a listed feature; it will be ignored (add it to spec.features to use it)`,
      });
    }
  }
  return problems;
}

interface ColumnPlan {
  numeric: string[];
  text: string[];
}

/**
 * Which used columns must hold numbers: the target, columns with a range, and features that are not
 * categorical. Without `spec.categorical`, a feature counts as categorical when most of its cells are
 * text, so one typo in a numeric column is reported instead of silently turning it into a category.
 */
function planColumns(spec: ModelSpec, header: string[], scans: Map<string, ColumnScan>): ColumnPlan {
  const present = (column: string) => header.includes(column);
  const features = resolveFeatures(spec, header).filter(present);
  const categorical = spec.categorical
    ? spec.categorical.filter(present)
    : features.filter((column) => {
        const scan = scans.get(column);
        return scan !== undefined && scan.text > scan.numbers;
      });
  const text = spec.task === 'forecast' && present(spec.time) ? [spec.time, ...categorical] : categorical;
  const wantsNumbers = [spec.target, ...Object.keys(spec.validation.ranges), ...features];
  const numeric = [...new Set(wantsNumbers)].filter((column) => present(column) && !text.includes(column));
  return { numeric, text };
}

function typeProblems(read: ReadColumns, column: string, scan: ColumnScan, isFeature: boolean): Problem[] {
  const problems: Problem[] = [];
  if (scan.text > 0) {
    const line = read.lineOf(scan.firstTextRow);
    const cell = scan.firstTextCell;
    const others = scan.text > 1 ? ` (${plural(scan.text, 'value')} in this column are not numbers)` : '';
    const categoryHint = isFeature ? ', or list the column in spec.categorical if it is a category' : '';
    problems.push({
      severity: 'error',
      problem: 'not_numeric',
      column,
      row: line,
      count: scan.text,
      message: `column "${column}" line ${line}: ${quoted(cell)} is not a number${others}; fix or remove the row${scan.text > 1 ? 's' : ''}${categoryHint}`,
    });
  }
  if (scan.infinite > 0) {
    const line = read.lineOf(scan.firstInfiniteRow);
    const cell = scan.firstInfiniteCell;
    problems.push({
      severity: 'error',
      problem: 'not_finite',
      column,
      row: line,
      count: scan.infinite,
      message: `column "${column}" line ${line}: ${quoted(cell)} is not a finite number (${plural(scan.infinite, 'such value')}); replace it with a real value, or leave the cell empty if it is unknown`,
    });
  }
  return problems;
}

function missingProblem(
  spec: ModelSpec,
  read: ReadColumns,
  column: string,
  scan: ColumnScan,
  role: 'target' | 'time' | 'feature',
): Problem | undefined {
  if (scan.missing === 0) return undefined;
  const line = read.lineOf(scan.firstMissingRow);
  const base = {
    severity: 'error' as const,
    problem: 'missing_values' as const,
    column,
    row: line,
    count: scan.missing,
  };
  if (role !== 'feature') {
    const what = role === 'target' ? 'target' : 'month';
    return {
      ...base,
      message: `column "${column}" (the ${role}) is empty on line ${line} (${plural(scan.missing, 'row')} without a ${what}); every row needs a ${what}: fill it in or remove the row`,
    };
  }
  const share = scan.missing / read.rowCount;
  if (share <= spec.validation.maxMissing) return undefined;
  return {
    ...base,
    message: `column "${column}" has ${plural(scan.missing, 'missing value')} (${percent(share)} of ${read.rowCount} rows, first on line ${line}), more than validation.maxMissing allows (${percent(spec.validation.maxMissing)}); fill them in, remove the rows or raise validation.maxMissing`,
  };
}

function rangeProblem(
  read: ReadColumns,
  column: string,
  range: { min?: number; max?: number },
): Problem | undefined {
  const outside = firstWhere(
    numbersOf(read, column),
    (value) =>
      (range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max),
  );
  if (outside.count === 0) return undefined;
  const line = read.lineOf(outside.row);
  const allowed = `[${range.min ?? '-∞'}, ${range.max ?? '∞'}]`;
  const others = outside.count > 1 ? ` (${plural(outside.count, 'value')} out of range)` : '';
  return {
    severity: 'error',
    problem: 'out_of_range',
    column,
    row: line,
    count: outside.count,
    message: `column "${column}" line ${line}: ${outside.value} is outside the allowed range ${allowed}${others}; fix the value or widen validation.ranges`,
  };
}

function timeProblems(read: ReadColumns, column: string): Problem[] {
  const problems: Problem[] = [];
  const cells = read.texts(read.header.indexOf(column));
  const months: { month: number; rowIndex: number }[] = [];
  const badRows: number[] = [];
  cells.forEach((cell, rowIndex) => {
    if (cell === '') return;
    if (MONTH_PATTERN.test(cell)) months.push({ month: monthIndex(cell), rowIndex });
    else badRows.push(rowIndex);
  });
  if (badRows.length > 0) {
    const line = read.lineOf(badRows[0]);
    const others = badRows.length > 1 ? ` (${plural(badRows.length, 'such value')})` : '';
    problems.push({
      severity: 'error',
      problem: 'bad_time_format',
      column,
      row: line,
      count: badRows.length,
      message: `column "${column}" line ${line}: ${quoted(cells[badRows[0]])} is not a YYYY-MM month${others}; write months like 1949-05`,
    });
  }

  const firstRowOfMonth = new Map<number, number>();
  const duplicates: { month: number; rowIndex: number; firstRowIndex: number }[] = [];
  for (const { month, rowIndex } of months) {
    const firstRowIndex = firstRowOfMonth.get(month);
    if (firstRowIndex === undefined) firstRowOfMonth.set(month, rowIndex);
    else duplicates.push({ month, rowIndex, firstRowIndex });
  }
  if (duplicates.length > 0) {
    const { month, rowIndex, firstRowIndex } = duplicates[0];
    const line = read.lineOf(rowIndex);
    const others = duplicates.length > 1 ? ` (${plural(duplicates.length, 'duplicate month')})` : '';
    problems.push({
      severity: 'error',
      problem: 'duplicate_time',
      column,
      row: line,
      count: duplicates.length,
      message: `column "${column}" line ${line}: ${monthLabel(month)} already appears on line ${read.lineOf(firstRowIndex)}${others}; keep one row per month`,
    });
  }

  const descents = months.flatMap((current, position) =>
    position > 0 && current.month < months[position - 1].month
      ? [{ current, previous: months[position - 1] }]
      : [],
  );
  if (descents.length > 0) {
    const { current, previous } = descents[0];
    const line = read.lineOf(current.rowIndex);
    const others = descents.length > 1 ? ` (${plural(descents.length, 'row')} out of order)` : '';
    problems.push({
      severity: 'error',
      problem: 'time_not_sorted',
      column,
      row: line,
      count: descents.length,
      message: `column "${column}" line ${line}: ${monthLabel(current.month)} comes after ${monthLabel(previous.month)} on line ${read.lineOf(previous.rowIndex)}${others}; sort the rows by month`,
    });
  }

  const distinct = [...firstRowOfMonth.keys()].sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let position = 1; position < distinct.length; position++) {
    for (let month = distinct[position - 1] + 1; month < distinct[position]; month++) gaps.push(month);
  }
  if (gaps.length > 0) {
    const listed = gaps.slice(0, MONTHS_LISTED).map(monthLabel).join(', ');
    const more = gaps.length > MONTHS_LISTED ? ', …' : '';
    const span = `between ${monthLabel(distinct[0])} and ${monthLabel(distinct[distinct.length - 1])}`;
    problems.push({
      severity: 'error',
      problem: 'missing_time',
      column,
      count: gaps.length,
      message: `column "${column}": ${monthLabel(gaps[0])} is missing (${plural(gaps.length, 'month')} missing ${span}: ${listed}${more}); add the missing months`,
    });
  }
  return problems;
}

function positiveProblem(read: ReadColumns, column: string, transform: string): Problem | undefined {
  const bad = firstWhere(numbersOf(read, column), (value) => value <= 0);
  if (bad.count === 0) return undefined;
  const line = read.lineOf(bad.row);
  const others = bad.count > 1 ? ` (${plural(bad.count, 'such value')})` : '';
  return {
    severity: 'error',
    problem: 'not_positive',
    column,
    row: line,
    count: bad.count,
    message: `column "${column}" line ${line}: ${bad.value} is not positive, but featurize.transform "${transform}" takes its logarithm${others}; fix the values or use transform "auto" or "none"`,
  };
}

function classProblems(
  read: ReadColumns,
  column: string,
  allowed: number[] | undefined,
  laterDrop: boolean,
): Problem[] {
  const problems: Problem[] = [];
  const labels = numbersOf(read, column);
  if (allowed !== undefined) {
    const unknown = firstWhere(labels, (value) => !allowed.includes(value));
    if (unknown.count > 0) {
      const line = read.lineOf(unknown.row);
      const others = unknown.count > 1 ? ` (${plural(unknown.count, 'such value')})` : '';
      problems.push({
        severity: 'error',
        problem: 'unknown_class',
        column,
        row: line,
        count: unknown.count,
        message: `column "${column}" line ${line}: ${unknown.value} is not one of the classes ${allowed.join(', ')} (validation.classes)${others}; fix the label or add the class to validation.classes`,
      });
    }
  }
  const first = firstWhere(labels, () => true);
  if (!laterDrop && first.count > 0 && firstWhere(labels, (value) => value !== first.value).count === 0) {
    problems.push({
      severity: 'error',
      problem: 'single_class',
      column,
      count: 1,
      message: `column "${column}" holds only class ${first.value} (${plural(first.count, 'row')}); a classifier needs at least 2 classes in the data`,
    });
  }
  return problems;
}

function checkRows(
  spec: ModelSpec,
  read: ReadColumns,
  laterDrop: boolean,
): { problems: Problem[]; plan: ColumnPlan } {
  const { header } = read;
  const present = (column: string) => header.includes(column);
  const scans = new Map(header.map((column, index) => [column, read.scans[index]]));
  const plan = planColumns(spec, header, scans);
  const problems: Problem[] = [];
  const features = new Set(resolveFeatures(spec, header));

  for (const column of plan.numeric) {
    problems.push(...typeProblems(read, column, scans.get(column)!, features.has(column)));
  }
  const roles: [string, 'target' | 'time' | 'feature'][] = [
    [spec.target, 'target'],
    ...(spec.task === 'forecast' ? [[spec.time, 'time'] as [string, 'time']] : []),
    ...[...features].map((column): [string, 'feature'] => [column, 'feature']),
  ];
  for (const [column, role] of roles) {
    if (!present(column)) continue;
    const problem = missingProblem(spec, read, column, scans.get(column)!, role);
    if (problem) problems.push(problem);
  }
  for (const [column, range] of Object.entries(spec.validation.ranges)) {
    if (!plan.numeric.includes(column)) continue;
    const problem = rangeProblem(read, column, range);
    if (problem) problems.push(problem);
  }
  const minRows = laterDrop ? 1 : spec.validation.minRows;
  if (read.rowCount < minRows) {
    problems.push({
      severity: 'error',
      problem: 'too_few_rows',
      count: read.rowCount,
      message: laterDrop
        ? 'the file has no data rows; send at least one'
        : `the file has ${plural(read.rowCount, 'data row')}; the spec needs at least ${minRows} (validation.minRows); send more rows or lower validation.minRows`,
    });
  }
  if (spec.task === 'forecast') {
    if (present(spec.time)) problems.push(...timeProblems(read, spec.time));
    const transform = spec.featurize.transform;
    if (present(spec.target) && LOG_TRANSFORMS.includes(transform)) {
      const problem = positiveProblem(read, spec.target, transform);
      if (problem) problems.push(problem);
    }
  }
  if (spec.task === 'classification' && present(spec.target)) {
    problems.push(...classProblems(read, spec.target, spec.validation.classes, laterDrop));
  }
  return { problems, plan };
}

/** Size guards of {@link validateDrop}, and the input's size when known (to size the columns once). */
export interface ValidateOptions extends CsvLimits {
  expectedBytes?: number;
  /** The reader frees each chunk of the drop once read ({@link ReadOptions.releaseChunks}). @default false */
  releaseChunks?: boolean;
  /**
   * The drop adds rows to a model that already has data. What is about the data a model trains on —
   * `validation.minRows` and at least two classes — is then the merged dataset's to meet, not the drop's:
   * the drop needs one row and may hold one class (a day without a positive is data, not an error).
   * @default false
   */
  laterDrop?: boolean;
}

/**
 * How the reader keeps each column: the time and listed categorical columns as text, the target as
 * numbers, the rest as both until their first rows show which they are.
 */
function readModes(spec: ModelSpec): (name: string) => ReadMode {
  const text = new Set([...(spec.task === 'forecast' ? [spec.time] : []), ...(spec.categorical ?? [])]);
  return (name) => (text.has(name) ? 'text' : name === spec.target ? 'numeric' : 'auto');
}

/**
 * The table of a drop that passed: the planned numeric columns as numbers, the planned text columns as
 * text, and any other column numeric when it holds at least one number and nothing but finite numbers
 * and blanks (as `toTable` infers it), text otherwise.
 */
function tableOf(read: ReadColumns, plan: ColumnPlan): Table {
  const numeric = new Set(plan.numeric);
  const text = new Set(plan.text);
  const columns = read.header.map((name, index): Column => {
    const scan = read.scans[index];
    const numbers = read.numbers(index);
    const isNumeric =
      numeric.has(name) || (!text.has(name) && scan.text === 0 && scan.infinite === 0 && scan.numbers > 0);
    if (isNumeric && numbers) return { name, kind: 'numeric', values: numbers.subarray(0, read.rowCount) };
    return { name, kind: 'text', values: read.texts(index) };
  });
  return { columns, rowCount: read.rowCount };
}

/** The size guards a spec sets for its drops (`validation.maxBytes`, `validation.maxRows`). */
export function specLimits(spec: ModelSpec): Required<CsvLimits> {
  return { maxBytes: spec.validation.maxBytes, maxRows: spec.validation.maxRows };
}

/** A byte count for people: `1.5 MB`, `256 MB`, `12 KB`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : Number(value.toFixed(1))} ${units[unit]}`;
}

/** A limit's CsvError worded with the spec field that sets the limit, so the reader knows what to raise. */
function limitMessage(error: CsvError): string {
  if (error.code === 'too_many_rows') {
    return `${error.message}, or raise validation.maxRows in the model's spec`;
  }
  if (error.code === 'file_too_large') {
    return `${error.message}, or raise validation.maxBytes in the model's spec`;
  }
  return error.message;
}

/**
 * The problem with a drop of `bytes` bytes under `spec`, judged from its size alone (before reading it):
 * `file_too_large` naming `validation.maxBytes` when it is over, else undefined.
 * @example dropSizeProblem(300 * 2 ** 20, spec)?.message
 * // 'the drop is 300 MB, over the 256 MB validation.maxBytes allows; …'
 */
export function dropSizeProblem(bytes: number, spec: ModelSpec): Problem | undefined {
  const { maxBytes } = spec.validation;
  if (bytes <= maxBytes) return undefined;
  return {
    severity: 'error',
    problem: 'file_too_large',
    count: bytes,
    message: `the drop is ${formatBytes(bytes)} (${bytes} bytes), over the ${formatBytes(maxBytes)} validation.maxBytes allows (${maxBytes} bytes); split it into smaller drops, or raise validation.maxBytes in the model's spec (driftline specs add) if the validate function has the memory for it`,
  };
}

/**
 * Checks a data drop against its spec: the file parses; the header has the target, the time column
 * (forecasts), every listed feature, categorical and ranged column (`missing_column`), and nothing the
 * spec does not use when it lists its features (`unexpected_column`, a warning); numbers where
 * numbers belong (`not_numeric`, `not_finite`); missing values (`missing_values`: never in the target
 * or time, at most `validation.maxMissing` per feature); `validation.ranges` (`out_of_range`);
 * `validation.minRows` (`too_few_rows`; one row for a `laterDrop`); for forecasts a sorted, gap-free run of distinct `YYYY-MM`
 * months (`bad_time_format`, `duplicate_time`, `time_not_sorted`, `missing_time`) and positive values
 * when a log transform is forced (`not_positive`); for classifiers labels from `validation.classes`
 * (`unknown_class`) and at least two classes (`single_class`, not for a `laterDrop`). Each problem names the column, the
 * first line and how many values it covers; at most {@link MAX_PROBLEMS_PER_CODE} are listed per code.
 * @param csvInput The drop: text, bytes or a stream of chunks (e.g. an S3 body).
 * @param limits Size guards handed to {@link parseCsv} (default the spec's {@link specLimits}); exceeding
 *   them is a problem naming the spec field that sets them, not a throw.
 * @returns `ok` when there is no error-level problem, and then the parsed `table` with the target,
 *   numeric features and ranged columns numeric, and the time and categorical columns text; when the
 *   spec lists `features`, only the columns it uses ({@link usedColumns}).
 * @throws only for failures that are not about the data, such as a stream that breaks while reading.
 */
export async function validateDrop(
  csvInput: CsvInput,
  spec: ModelSpec,
  options: ValidateOptions = specLimits(spec),
): Promise<ValidationReport> {
  let read: ReadColumns;
  try {
    read = await readColumns(csvInput, { ...options, modeOf: readModes(spec) });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    return {
      ok: false,
      rowCount: 0,
      columns: [],
      problems: [{ severity: 'error', problem: error.code, row: error.line, message: limitMessage(error) }],
    };
  }
  const { problems: rowProblems, plan } = checkRows(spec, read, options.laterDrop ?? false);
  const problems = capProblems([...headerProblems(spec, read.header), ...rowProblems]);
  const ok = problems.every((problem) => problem.severity !== 'error');
  const report: ValidationReport = { ok, rowCount: read.rowCount, columns: read.header, problems };
  // A column the spec does not use is left out, as its `unexpected_column` warning says.
  if (ok) report.table = usedColumns(spec, tableOf(read, plan));
  return report;
}
