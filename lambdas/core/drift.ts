/**
 * Data drift between a reference table and a current drop, column by column and for the dataset, in the
 * manner of Evidently's data drift preset: a statistical test per column chosen by its type and size, a
 * verdict per column, and dataset drift when the share of drifted columns reaches a threshold.
 *
 * Differences from Evidently, kept on purpose:
 * - binary categorical columns use chi-square too (Evidently switches to a two-proportion Z-test);
 * - PSI and the numeric Jensen–Shannon distance use 10 bins cut at reference quantiles (Evidently: bins of
 *   equal width over both samples);
 * - KS drift is p < alpha (Evidently: p ≤ alpha); distance tests drift at statistic ≥ threshold, as Evidently.
 * The output is plain JSON: no typed arrays, and null wherever a number would not be finite.
 */
import { chiSquareTest } from './stats/chi-square-test.ts';
import { jensenShannonDistance } from './stats/jensen-shannon-distance.ts';
import { ksStatisticSorted, ksTwoSampleSorted } from './stats/ks-two-sample.ts';
import {
  binSharesSorted,
  populationStabilityIndex,
  quantileBinEdges,
} from './stats/population-stability-index.ts';
import { sortFloat64 } from './stats/sort-float64.ts';
import { totalVariationDistance } from './stats/total-variation-distance.ts';
import { normedWassersteinDistanceSorted } from './stats/wasserstein-distance.ts';
import type { Column, Table } from './types.ts';

/** The tests a column can be compared with. `ks` and `chisquare` give p-values, the others distances. */
export type DriftTest = 'ks' | 'wasserstein' | 'chisquare' | 'jensenshannon' | 'psi';

/** How a column is compared: as a numeric distribution or as category frequencies. */
export type ColumnKind = 'numeric' | 'categorical';

export type DriftVerdict = 'drift' | 'no_drift' | 'insufficient_data';

export type DriftSeverity = 'high' | 'medium' | 'low';

/** A column's test chosen by hand instead of automatically. */
export interface ColumnTestOverride {
  /** The test to run; `ks` / `wasserstein` treat a numeric column as numeric, `chisquare` as categorical. */
  test?: DriftTest;
  /** Threshold of that test: a p-value level for `ks` / `chisquare`, a distance for the others. */
  threshold?: number;
}

export interface DriftOptions {
  /** Columns to compare. @default every column present in both tables, in reference order */
  columns?: string[];
  /** Numeric columns to compare as categories (their values become category labels). */
  categorical?: string[];
  /** p-value below which KS and chi-square report drift. @default 0.05 */
  alpha?: number;
  /** Normed Wasserstein distance at or above which a column drifted. @default 0.1 */
  wassersteinThreshold?: number;
  /** Jensen–Shannon distance at or above which a column drifted. @default 0.1 */
  jensenShannonThreshold?: number;
  /** PSI at or above which a column drifted when PSI is its test (0.1 for high-stakes models). @default 0.2 */
  psiThreshold?: number;
  /** Share of drifted columns at or above which the dataset drifted. @default 0.5 */
  share?: number;
  /** Fewest non-missing values each sample needs; below, the column is `insufficient_data`. @default 10 */
  minRows?: number;
  /** Per-column test and threshold, replacing the automatic choice. */
  perColumn?: Record<string, ColumnTestOverride>;
}

/**
 * Small histograms of both samples for a report page. Numeric columns: the PSI bins, with `edges` their
 * boundaries (the outer ones clipped to the data range) and `categories` empty. Categorical columns:
 * `categories` sorted, `edges` empty. `reference` and `current` hold shares per bin or category.
 */
export interface DriftDistribution {
  edges: number[];
  categories: string[];
  reference: number[];
  current: number[];
}

/** The drift report of one column. */
export interface ColumnDrift {
  column: string;
  kind: ColumnKind;
  test: DriftTest;
  /** KS D, chi-square χ², or the distance; null when not computed or not finite (a category new in current). */
  statistic: number | null;
  /** p-value of KS and chi-square; null for distance tests. */
  pValue: number | null;
  threshold: number;
  drifted: boolean;
  verdict: DriftVerdict;
  /** From KS D (numeric) or the total variation distance (categorical): > 0.2 high, > 0.1 medium. */
  severity: DriftSeverity;
  /**
   * Population Stability Index over the PSI bins or categories; null when data were insufficient or the
   * samples too small for it to mean anything (see `psiNote`).
   */
  psi: number | null;
  /** Why `psi` is not reported, when it is not (e.g. too few values per bin). */
  psiNote?: string;
  /** Non-missing values in the reference sample. */
  referenceRows: number;
  /** Non-missing values in the current sample. */
  currentRows: number;
  /** One sentence saying why. */
  reason: string;
  /** Null when data were insufficient. */
  distribution: DriftDistribution | null;
}

/** The drift report of a dataset. */
export interface DatasetDrift {
  /** `insufficient_data` when no compared column had enough data. */
  status: DriftVerdict;
  drifted: boolean;
  /** Drifted columns over columns with enough data (0 when there are none). */
  share: number;
  /** The share threshold applied. */
  threshold: number;
  driftedColumns: string[];
  columns: ColumnDrift[];
  summary: string;
}

/** Defaults of `DriftOptions`. */
export const DRIFT_DEFAULTS = {
  alpha: 0.05,
  wassersteinThreshold: 0.1,
  jensenShannonThreshold: 0.1,
  psiThreshold: 0.2,
  share: 0.5,
  minRows: 10,
} as const;

/** Evidently picks KS / chi-square up to this many reference rows, Wasserstein / Jensen–Shannon above. */
const SMALL_REFERENCE_ROWS = 1000;
/** Evidently treats a numeric column with at most this many distinct values as categorical. */
const MAX_CATEGORICAL_DISTINCT = 5;
/**
 * Fewest values a PSI bin (or category) must expect in each sample for PSI to be reported: the usual
 * rule for chi-square-type statistics (Cochran 1954, "every expected count ≥ 5"). PSI is such a statistic
 * (a symmetrised chi-square divergence); below the rule its sampling noise swamps any shift. With the 10
 * quantile bins this asks for at least 50 values in each sample: two samples of 25 from one distribution
 * give PSI 2.9 (seeded example in the tests) while KS finds nothing (p = 0.996).
 */
export const PSI_MIN_EXPECTED_PER_BIN = 5;
/** Severity cut-offs on KS D or the total variation distance. */
const HIGH_SEVERITY = 0.2;
const MEDIUM_SEVERITY = 0.1;

const TEST_NAMES: readonly DriftTest[] = ['ks', 'wasserstein', 'chisquare', 'jensenshannon', 'psi'];

type Settings = Required<Omit<DriftOptions, 'columns' | 'categorical' | 'perColumn'>>;

/** A column's non-missing values. */
type Sample = { kind: 'numeric'; values: Float64Array } | { kind: 'text'; values: string[] };

/** What a test found, before it is worded. */
interface Measurement {
  statistic: number;
  pValue: number | null;
  severityStatistic: number;
  psi: number;
  distribution: DriftDistribution;
  /** A category absent from the reference appeared in the current data. */
  newCategory: boolean;
}

function isPValueTest(test: DriftTest): boolean {
  return test === 'ks' || test === 'chisquare';
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** Two significant digits, without trailing zeros: 0.00031, 0.41, 1.2e-9. */
function formatNumber(value: number): string {
  return String(Number(value.toPrecision(2)));
}

/** A probability-like setting: strictly between 0 and 1, or up to 1 inclusive. */
function requireFraction(name: string, value: number, oneAllowed: boolean): void {
  if (!(value > 0 && (oneAllowed ? value <= 1 : value < 1))) {
    throw new RangeError(`${name} must be in (0, 1${oneAllowed ? ']' : ')'}, got ${value}`);
  }
}

function requirePositive(name: string, value: number): void {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a positive finite number, got ${value}`);
  }
}

function resolveSettings(options: DriftOptions): Settings {
  const settings: Settings = {
    alpha: options.alpha ?? DRIFT_DEFAULTS.alpha,
    wassersteinThreshold: options.wassersteinThreshold ?? DRIFT_DEFAULTS.wassersteinThreshold,
    jensenShannonThreshold: options.jensenShannonThreshold ?? DRIFT_DEFAULTS.jensenShannonThreshold,
    psiThreshold: options.psiThreshold ?? DRIFT_DEFAULTS.psiThreshold,
    share: options.share ?? DRIFT_DEFAULTS.share,
    minRows: options.minRows ?? DRIFT_DEFAULTS.minRows,
  };
  requireFraction('alpha', settings.alpha, false);
  requirePositive('wassersteinThreshold', settings.wassersteinThreshold);
  requirePositive('jensenShannonThreshold', settings.jensenShannonThreshold);
  requirePositive('psiThreshold', settings.psiThreshold);
  requireFraction('share', settings.share, true);
  if (!Number.isInteger(settings.minRows) || settings.minRows < 1) {
    throw new RangeError(`minRows must be an integer >= 1, got ${settings.minRows}`);
  }
  return settings;
}

function defaultThreshold(test: DriftTest, settings: Settings): number {
  switch (test) {
    case 'ks':
    case 'chisquare':
      return settings.alpha;
    case 'wasserstein':
      return settings.wassersteinThreshold;
    case 'jensenshannon':
      return settings.jensenShannonThreshold;
    case 'psi':
      return settings.psiThreshold;
  }
}

/** A threshold chosen for a column: a p-value level in (0, 1) or a positive distance. */
function checkedThreshold(column: string, test: DriftTest, threshold: number): number {
  const name = `perColumn.${column}.threshold`;
  if (isPValueTest(test)) requireFraction(name, threshold, false);
  else requirePositive(name, threshold);
  return threshold;
}

/** NaN and ±Infinity (numeric) or '' (text) are missing and dropped, as Evidently drops NaN and infinities. */
function nonMissing(column: Column): Sample {
  if (column.kind === 'numeric') {
    // A fresh array, which the numeric measures sort in place.
    const values = column.values;
    let finite = 0;
    for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite++;
    const kept = new Float64Array(finite);
    let at = 0;
    for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) kept[at++] = values[i];
    return { kind: 'numeric', values: kept };
  }
  return { kind: 'text', values: column.values.filter((value) => value !== '') };
}

/** Whether both samples together hold at most `limit` distinct values; stops at the first one over. */
function fewDistinct(reference: Sample, current: Sample, limit: number): boolean {
  const distinct = new Set<number | string>();
  for (const sample of [reference, current]) {
    for (const value of sample.values) {
      distinct.add(value);
      if (distinct.size > limit) return false;
    }
  }
  return true;
}

function resolveKind(
  column: string,
  reference: Sample,
  current: Sample,
  forcedCategorical: boolean,
  test: DriftTest | undefined,
): ColumnKind {
  const numericTest = test === 'ks' || test === 'wasserstein';
  if (reference.kind === 'text' || forcedCategorical) {
    if (numericTest) {
      throw new RangeError(`test "${test}" needs numeric values, but column "${column}" is categorical`);
    }
    return 'categorical';
  }
  if (numericTest) return 'numeric';
  if (test === 'chisquare') return 'categorical';
  return fewDistinct(reference, current, MAX_CATEGORICAL_DISTINCT) ? 'categorical' : 'numeric';
}

function defaultTest(kind: ColumnKind, referenceRows: number): DriftTest {
  const small = referenceRows <= SMALL_REFERENCE_ROWS;
  if (kind === 'numeric') return small ? 'ks' : 'wasserstein';
  return small ? 'chisquare' : 'jensenshannon';
}

function severityOf(statistic: number): DriftSeverity {
  if (statistic > HIGH_SEVERITY) return 'high';
  if (statistic > MEDIUM_SEVERITY) return 'medium';
  return 'low';
}

/**
 * Every numeric statistic from one sort of each sample (the samples are private copies, sorted in place):
 * the quantile edges, both samples' bin shares, KS and the Wasserstein distance all read the sorted arrays.
 */
function measureNumeric(reference: Float64Array, current: Float64Array, test: DriftTest): Measurement {
  const sortedReference = sortFloat64(reference);
  const sortedCurrent = sortFloat64(current);
  const edges = quantileBinEdges(sortedReference);
  const referenceShares = binSharesSorted(sortedReference, edges);
  const currentShares = binSharesSorted(sortedCurrent, edges);
  const psi = populationStabilityIndex(referenceShares, currentShares);
  const ks = test === 'ks' ? ksTwoSampleSorted(sortedReference, sortedCurrent) : null;
  const severityStatistic = ks?.statistic ?? ksStatisticSorted(sortedReference, sortedCurrent);
  let statistic: number;
  if (ks) statistic = ks.statistic;
  else if (test === 'wasserstein')
    statistic = normedWassersteinDistanceSorted(sortedReference, sortedCurrent);
  else if (test === 'jensenshannon') statistic = jensenShannonDistance(referenceShares, currentShares);
  else statistic = psi;

  const low = Math.min(sortedReference[0], sortedCurrent[0]);
  const high = Math.max(sortedReference[sortedReference.length - 1], sortedCurrent[sortedCurrent.length - 1]);
  const displayEdges = edges.map((edge) => Math.min(high, Math.max(low, edge)));
  return {
    statistic,
    pValue: ks ? ks.pValue : null,
    severityStatistic,
    psi,
    distribution: { edges: displayEdges, categories: [], reference: referenceShares, current: currentShares },
    newCategory: false,
  };
}

function categoryLabels(sample: Sample): string[] {
  return sample.kind === 'numeric' ? Array.from(sample.values, String) : sample.values;
}

function countCategories(labels: string[], categories: string[]): number[] {
  const counts = new Map(categories.map((category) => [category, 0]));
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return categories.map((category) => counts.get(category) ?? 0);
}

function measureCategorical(reference: Sample, current: Sample, test: DriftTest): Measurement {
  const referenceLabels = categoryLabels(reference);
  const currentLabels = categoryLabels(current);
  const categories = [...new Set([...referenceLabels, ...currentLabels])];
  if (reference.kind === 'numeric') categories.sort((a, b) => Number(a) - Number(b));
  else categories.sort();
  const referenceCounts = countCategories(referenceLabels, categories);
  const currentCounts = countCategories(currentLabels, categories);
  const referenceShares = referenceCounts.map((count) => count / referenceLabels.length);
  const currentShares = currentCounts.map((count) => count / currentLabels.length);
  const psi = populationStabilityIndex(referenceShares, currentShares);

  let statistic: number;
  let pValue: number | null = null;
  if (test === 'chisquare') {
    // Evidently: expected = reference counts scaled to the current size. A single category in both
    // samples leaves nothing to test (0 degrees of freedom): the samples agree.
    if (categories.length < 2) {
      statistic = 0;
      pValue = 1;
    } else {
      const scale = currentLabels.length / referenceLabels.length;
      const result = chiSquareTest(
        currentCounts,
        referenceCounts.map((count) => count * scale),
      );
      statistic = result.statistic;
      pValue = result.pValue;
    }
  } else if (test === 'jensenshannon') {
    statistic = jensenShannonDistance(referenceCounts, currentCounts);
  } else {
    statistic = psi;
  }
  return {
    statistic,
    pValue,
    severityStatistic: totalVariationDistance(referenceShares, currentShares),
    psi,
    distribution: { edges: [], categories, reference: referenceShares, current: currentShares },
    newCategory: referenceCounts.some((count) => count === 0),
  };
}

const TEST_LABELS: Record<DriftTest, string> = {
  ks: 'KS',
  chisquare: 'chi-square',
  wasserstein: 'normed Wasserstein',
  jensenshannon: 'Jensen-Shannon',
  psi: 'PSI',
};

function explain(
  kind: ColumnKind,
  test: DriftTest,
  threshold: number,
  drifted: boolean,
  found: Measurement,
): string {
  const severity = severityOf(found.severityStatistic);
  const severityLabel =
    kind === 'numeric'
      ? `${test === 'ks' ? 'D' : 'KS D'}=${formatNumber(found.severityStatistic)}, ${severity}`
      : `TVD=${formatNumber(found.severityStatistic)}, ${severity}`;
  const measured =
    found.pValue === null
      ? `${TEST_LABELS[test]} ${formatNumber(found.statistic)} ${drifted ? '>=' : '<'} ${threshold}`
      : `${TEST_LABELS[test]} p=${formatNumber(found.pValue)} ${drifted ? '<' : '>='} ${threshold}`;
  let finding: string;
  if (!drifted) finding = 'no significant shift';
  else if (found.newCategory) finding = 'categories unseen in the reference appeared';
  else finding = kind === 'numeric' ? 'distribution shifted' : 'category frequencies changed';
  return `${measured}: ${finding} (${severityLabel})`;
}

interface ColumnRequest {
  name: string;
  reference: Column;
  current: Column;
  forcedCategorical: boolean;
  override: ColumnTestOverride;
}

/**
 * Why PSI is not reported for these samples, or undefined when it is: each bin (or category) present in
 * the reference must expect at least {@link PSI_MIN_EXPECTED_PER_BIN} values in each sample.
 */
function psiUnsupported(
  referenceShares: readonly number[],
  referenceRows: number,
  currentRows: number,
): string | undefined {
  const smallest = Math.min(...referenceShares.filter((share) => share > 0));
  const expected = Math.min(referenceRows, currentRows) * smallest;
  if (expected >= PSI_MIN_EXPECTED_PER_BIN) return undefined;
  return `not reported: its sparsest bin expects ${formatNumber(expected)} values (${Math.min(referenceRows, currentRows)} × ${formatNumber(smallest * 100)}%), below ${PSI_MIN_EXPECTED_PER_BIN} (Cochran's rule for chi-square-type statistics)`;
}

function compareColumn(request: ColumnRequest, settings: Settings): ColumnDrift {
  const { name, override } = request;
  if (request.reference.kind !== request.current.kind) {
    throw new RangeError(
      `column "${name}" is ${request.reference.kind} in the reference but ${request.current.kind} in the current data`,
    );
  }
  const reference = nonMissing(request.reference);
  const current = nonMissing(request.current);
  const kind = resolveKind(name, reference, current, request.forcedCategorical, override.test);
  const test = override.test ?? defaultTest(kind, reference.values.length);
  const threshold =
    override.threshold === undefined
      ? defaultThreshold(test, settings)
      : checkedThreshold(name, test, override.threshold);
  const referenceRows = reference.values.length;
  const currentRows = current.values.length;

  if (referenceRows < settings.minRows || currentRows < settings.minRows) {
    return {
      column: name,
      kind,
      test,
      statistic: null,
      pValue: null,
      threshold,
      drifted: false,
      verdict: 'insufficient_data',
      severity: 'low',
      psi: null,
      referenceRows,
      currentRows,
      reason: `only ${referenceRows} reference and ${currentRows} current values (need at least ${settings.minRows} in each)`,
      distribution: null,
    };
  }

  const found =
    kind === 'numeric' && reference.kind === 'numeric' && current.kind === 'numeric'
      ? measureNumeric(reference.values, current.values, test)
      : measureCategorical(reference, current, test);
  const psiNote = psiUnsupported(found.distribution.reference, referenceRows, currentRows);
  if (psiNote !== undefined && test === 'psi') {
    return {
      column: name,
      kind,
      test,
      statistic: null,
      pValue: null,
      threshold,
      drifted: false,
      verdict: 'insufficient_data',
      severity: severityOf(found.severityStatistic),
      psi: null,
      psiNote,
      referenceRows,
      currentRows,
      reason: `PSI ${psiNote}`,
      distribution: found.distribution,
    };
  }
  const drifted = found.pValue === null ? found.statistic >= threshold : found.pValue < threshold;
  return {
    column: name,
    kind,
    test,
    statistic: finiteOrNull(found.statistic),
    pValue: found.pValue,
    threshold,
    drifted,
    verdict: drifted ? 'drift' : 'no_drift',
    severity: severityOf(found.severityStatistic),
    psi: psiNote === undefined ? finiteOrNull(found.psi) : null,
    ...(psiNote === undefined ? {} : { psiNote }),
    referenceRows,
    currentRows,
    reason: explain(kind, test, threshold, drifted, found),
    distribution: found.distribution,
  };
}

function columnsByName(table: Table): Map<string, Column> {
  return new Map(table.columns.map((column) => [column.name, column]));
}

function requireShared(option: string, names: Iterable<string>, shared: Set<string>): void {
  for (const name of names) {
    if (!shared.has(name))
      throw new RangeError(`${option} names column "${name}", which is not in both tables`);
  }
}

/** Drifted columns a summary names; the rest are counted (a wide drop must not make the reason huge). */
const SUMMARY_NAMES = 10;
/** Columns a run record keeps the evidence of (drifted first); the full report is in the run's drift.json. */
export const RECORDED_COLUMNS = 100;

/**
 * The first `limit` items joined, and how many were left out.
 * @example firstItems(['a', 'b', 'c'], 2) // 'a, b and 1 more'
 */
export function firstItems(items: readonly string[], limit: number): string {
  const shown = items.slice(0, limit).join(', ');
  return items.length > limit ? `${shown} and ${items.length - limit} more` : shown;
}

/**
 * What a run record and the state machine keep of a drift report, bounded whatever the number of columns:
 * the evidence of at most {@link RECORDED_COLUMNS} columns, the drifted ones first, and the names of at
 * most that many drifted columns, with how many of each were left out.
 */
export function recordedDrift(report: DatasetDrift, limit = RECORDED_COLUMNS) {
  const ordered = [
    ...report.columns.filter((column) => column.drifted),
    ...report.columns.filter((column) => !column.drifted),
  ];
  return {
    driftedColumns: report.driftedColumns.slice(0, limit),
    columns: ordered.slice(0, limit),
    omittedColumns: Math.max(0, ordered.length - limit),
  };
}

function summarize(
  columns: ColumnDrift[],
  driftedColumns: string[],
  evaluated: number,
  settings: Settings,
): string {
  const skipped = columns.length - evaluated;
  const skippedNote =
    skipped > 0 ? ` ${skipped} column${skipped === 1 ? '' : 's'} skipped for too little data.` : '';
  if (evaluated === 0) {
    return `Insufficient data: every compared column has fewer than ${settings.minRows} values in a sample.`;
  }
  const share = driftedColumns.length / evaluated;
  const percent = `${Math.round(share * 100)}%`;
  const limit = `${Math.round(settings.share * 100)}%`;
  const counted = `${driftedColumns.length} of ${evaluated} column${evaluated === 1 ? '' : 's'} drifted`;
  const drifted = share >= settings.share;
  const names = driftedColumns.length > 0 ? `: ${firstItems(driftedColumns, SUMMARY_NAMES)}` : '';
  return drifted
    ? `Dataset drift: ${counted} (${percent} >= ${limit})${names}.${skippedNote}`
    : `No dataset drift: ${counted} (${percent} < ${limit})${names}.${skippedNote}`;
}

/**
 * Compares each column of `current` with the same column of `reference` and decides whether the dataset
 * drifted.
 *
 * Per column (missing values dropped first): text columns, columns listed in `categorical`, and numeric
 * columns with at most 5 distinct values over both samples are categorical; other numeric columns are
 * numeric. The test, unless `perColumn` names one, follows Evidently's defaults: with at most 1000
 * reference values, KS (numeric) or chi-square (categorical, expected = reference shares × current count);
 * above, the normed Wasserstein distance or the Jensen–Shannon distance. p-value tests drift at
 * p < threshold, distances at ≥ threshold. Every column also gets its PSI and a severity from KS D
 * (numeric) or the total variation distance (categorical): > 0.2 high, > 0.1 medium, else low.
 * A column with fewer than `minRows` values in either sample is `insufficient_data` and never drifts.
 *
 * The dataset drifted when drifted columns / columns with enough data ≥ `share`; it is
 * `insufficient_data` when no column had enough data.
 *
 * @param reference - the baseline table
 * @param current - the new drop
 * @param options - see `DriftOptions`; all optional
 * @returns a JSON-serializable report
 * @throws {RangeError} for invalid options, columns missing from a table, a column whose type differs
 *   between the tables, or a numeric test requested for a categorical column
 * @example
 * const report = detectDrift(reference, current, { columns: ['value'] });
 * report.status; // 'drift' | 'no_drift' | 'insufficient_data'
 */
export function detectDrift(reference: Table, current: Table, options: DriftOptions = {}): DatasetDrift {
  const settings = resolveSettings(options);
  const referenceColumns = columnsByName(reference);
  const currentColumns = columnsByName(current);
  const shared = new Set([...referenceColumns.keys()].filter((name) => currentColumns.has(name)));
  const perColumn = options.perColumn ?? {};
  requireShared('columns', options.columns ?? [], shared);
  requireShared('categorical', options.categorical ?? [], shared);
  requireShared('perColumn', Object.keys(perColumn), shared);
  for (const [name, { test }] of Object.entries(perColumn)) {
    if (test !== undefined && !TEST_NAMES.includes(test)) {
      throw new RangeError(`perColumn.${name}.test must be one of ${TEST_NAMES.join(', ')}, got ${test}`);
    }
  }
  const names = options.columns ?? [...shared];
  if (names.length === 0) throw new RangeError('no column to compare: the tables share no column name');
  const categorical = new Set(options.categorical ?? []);

  const columns = names.map((name) =>
    compareColumn(
      {
        name,
        reference: referenceColumns.get(name)!,
        current: currentColumns.get(name)!,
        forcedCategorical: categorical.has(name),
        override: perColumn[name] ?? {},
      },
      settings,
    ),
  );
  const evaluated = columns.filter((column) => column.verdict !== 'insufficient_data').length;
  const driftedColumns = columns.filter((column) => column.drifted).map((column) => column.column);
  const share = evaluated === 0 ? 0 : driftedColumns.length / evaluated;
  const drifted = evaluated > 0 && share >= settings.share;
  return {
    status: evaluated === 0 ? 'insufficient_data' : drifted ? 'drift' : 'no_drift',
    drifted,
    share,
    threshold: settings.share,
    driftedColumns,
    columns,
    summary: summarize(columns, driftedColumns, evaluated, settings),
  };
}
