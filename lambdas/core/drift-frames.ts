/**
 * What drift is measured on, per task. Tabular models: the feature columns and the target as they are.
 * Forecasts: the target and its lag features (`lag_1` … `lag_L`), the current rows' lags taken from the
 * series they continue — so drift is judged on what the model would actually see.
 */
import type { DriftOptions } from './drift.ts';
import { numericValues } from './features.ts';
import { mergeForecast } from './merge.ts';
import { type ModelSpec, monthIndex, resolveColumns } from './spec.ts';
import type { Column, Table } from './types.ts';

export interface DriftFrames {
  reference: Table;
  current: Table;
  options: DriftOptions;
}

/** The target and its lags for the rows `from` … end of a time-sorted series, lags reaching back before `from`. */
function lagTable(values: Float64Array, lags: number, from: number, target: string): Table {
  const start = Math.max(from, 0);
  const rowCount = Math.max(0, values.length - start);
  const columns: Column[] = [{ name: target, kind: 'numeric', values: values.slice(start) }];
  for (let lag = 1; lag <= lags; lag++) {
    const lagged = new Float64Array(rowCount);
    for (let i = 0; i < rowCount; i++) {
      const source = start + i - lag;
      lagged[i] = source >= 0 ? values[source] : Number.NaN;
    }
    columns.push({ name: `lag_${lag}`, kind: 'numeric', values: lagged });
  }
  return { columns, rowCount };
}

/** The spec's drift settings as options of `detectDrift`. */
export function driftOptions(spec: ModelSpec): DriftOptions {
  const { alpha, share, psiThreshold, wassersteinThreshold, jensenShannonThreshold, minRows, columns } =
    spec.drift;
  return {
    alpha,
    share,
    psiThreshold,
    wassersteinThreshold,
    jensenShannonThreshold,
    minRows,
    perColumn: columns,
  };
}

/**
 * The reference and current tables drift compares for a spec, with the options to compare them by.
 * For forecasts the current drop's months are placed after (or among) the reference's, and each row's
 * lags are read from the combined series; a reference row without a full set of lags keeps NaN lags
 * (missing values are left out of each test).
 */
export function driftFrames(spec: ModelSpec, reference: Table, current: Table): DriftFrames {
  const options = driftOptions(spec);
  if (spec.task === 'forecast') {
    const combined = mergeForecast(reference, current, spec.time).table;
    const timeColumn = combined.columns.find((column) => column.name === spec.time);
    const currentColumn = current.columns.find((column) => column.name === spec.time);
    if (timeColumn?.kind !== 'text' || currentColumn?.kind !== 'text') {
      throw new RangeError(`column "${spec.time}" must hold YYYY-MM months`);
    }
    const firstCurrent = Math.min(...currentColumn.values.map(monthIndex));
    const from = timeColumn.values.findIndex((month) => monthIndex(month) >= firstCurrent);
    const values = numericValues(combined, spec.target);
    const referenceValues = numericValues(reference, spec.target);
    return {
      reference: lagTable(referenceValues, spec.lags, 0, spec.target),
      current: lagTable(values, spec.lags, from, spec.target),
      options: {
        ...options,
        columns: [spec.target, ...Array.from({ length: spec.lags }, (_, k) => `lag_${k + 1}`)],
      },
    };
  }
  const { features, categorical } = resolveColumns(spec, reference);
  return { reference, current, options: { ...options, columns: [...features, spec.target], categorical } };
}

/** `YYYY-MM`, `YYYY-MM-DD` and ISO timestamps: a time key, not a feature. */
const TIME_LIKE = /^\d{4}-\d{2}(-\d{2}([T ][\d:.]+Z?)?)?$/;

/**
 * Columns worth testing for drift when no spec says: every column present in both tables except time
 * keys and identifiers (text columns whose values are dates, or all distinct). Their "distribution" only
 * says that new rows have new keys, which every later drop has.
 */
export function inferDriftColumns(
  reference: Table,
  current: Table,
): { columns: string[]; skipped: { column: string; reason: string }[] } {
  const columns: string[] = [];
  const skipped: { column: string; reason: string }[] = [];
  for (const column of reference.columns) {
    const other = current.columns.find((candidate) => candidate.name === column.name);
    if (!other) continue;
    if (column.kind === 'text' && other.kind === 'text') {
      const present = (values: string[]) => values.filter((value) => value !== '');
      const [mine, theirs] = [present(column.values), present(other.values)];
      const distinct = (values: string[]) => values.length > 1 && new Set(values).size === values.length;
      if (mine.length + theirs.length > 0 && [...mine, ...theirs].every((value) => TIME_LIKE.test(value))) {
        skipped.push({ column: column.name, reason: 'a time column: new data has new times by nature' });
        continue;
      }
      if (distinct(mine) && distinct(theirs)) {
        skipped.push({ column: column.name, reason: 'an identifier: every value is distinct' });
        continue;
      }
    }
    columns.push(column.name);
  }
  return { columns, skipped };
}
