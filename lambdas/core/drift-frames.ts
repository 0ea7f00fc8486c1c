/**
 * What drift is measured on, per task. Tabular models: the feature columns and the target as they are.
 * Forecasts: the transformed target the forest learns from (`ln y[t] − ln y[t−12]` under the seasonal
 * log ratio), each current row transformed with the values of the series it continues. Raw levels of a
 * trending series drift in every new year by construction, and their lag columns are 12 copies of the
 * same values, so testing them measures the trend, not a change in what the model has to learn.
 */
import type { DriftOptions } from './drift.ts';
import {
  FeaturizeError,
  type ForecastTransform,
  feasibleTransforms,
  fitForecastFeaturizer,
  forecastMatrix,
  numericValues,
} from './features.ts';
import { mergeForecast } from './merge.ts';
import { type ModelSpec, monthIndex, resolveColumns } from './spec.ts';
import type { Table } from './types.ts';

export interface DriftFrames {
  reference: Table;
  current: Table;
  options: DriftOptions;
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
 * The transform a forecast's drift is judged under: the spec's, or under `auto` the one the production
 * model learned with (`served`), or else the first the series allows (the seasonal log ratio for a
 * positive series, the order `auto` tries them in).
 */
export function driftTransform(
  spec: ModelSpec & { task: 'forecast' },
  reference: Table,
  served?: string,
): ForecastTransform {
  if (spec.featurize.transform !== 'auto') return spec.featurize.transform;
  const feasible = feasibleTransforms(numericValues(reference, spec.target));
  const match = feasible.find((transform) => transform === served);
  return match ?? feasible[0];
}

/** The name of the transformed target's column in a drift report, e.g. `value (seasonal-log-ratio)`. */
export function transformedTargetName(target: string, transform: ForecastTransform): string {
  return transform === 'none' ? target : `${target} (${transform})`;
}

/** The transformed target of the rows of `table` from `from` on (their history may reach before `from`). */
function transformedTarget(
  spec: ModelSpec & { task: 'forecast' },
  table: Table,
  transform: ForecastTransform,
  from: number,
  name: string,
): Table {
  const featurizer = fitForecastFeaturizer(table, {
    target: spec.target,
    time: spec.time,
    lags: spec.lags,
    season: spec.season,
    transform,
    monthOfYear: false,
  });
  const matrix = forecastMatrix(featurizer, table);
  const values = matrix.y.filter((_, i) => matrix.rows[i] >= from);
  return { rowCount: values.length, columns: [{ name, kind: 'numeric', values }] };
}

/**
 * The reference and current tables drift compares for a spec, with the options to compare them by.
 * For forecasts the one compared column is the transformed target under {@link driftTransform}: the
 * reference's own rows that have a full history, and the current drop's months placed after (or among)
 * the reference's, each transformed with the combined series' values before it.
 *
 * @param served - the transform of the production model, used when the spec says `auto`.
 * @throws {RangeError} when the time column is not YYYY-MM or a log transform meets a non-positive value.
 */
export function driftFrames(spec: ModelSpec, reference: Table, current: Table, served?: string): DriftFrames {
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
    const transform = driftTransform(spec, combined, served);
    const name = transformedTargetName(spec.target, transform);
    try {
      return {
        reference: transformedTarget(spec, reference, transform, 0, name),
        current: transformedTarget(spec, combined, transform, from, name),
        // A spec's test or threshold for the target applies to the target as the model sees it.
        options: {
          ...options,
          columns: [name],
          perColumn: spec.drift.columns[spec.target] ? { [name]: spec.drift.columns[spec.target] } : {},
        },
      };
    } catch (error) {
      if (error instanceof FeaturizeError) throw new RangeError(error.message);
      throw error;
    }
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
