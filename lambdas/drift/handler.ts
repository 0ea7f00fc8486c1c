/**
 * Drift gate: compares the drop, pooled with the drops held back since the last drift test, with the
 * baseline the production model learned from (cut to the spec's history window, so a window lowered
 * since the baseline was merged applies at once), on what the model learns from (tabular: its columns;
 * forecasts: the transformed target), column by column (KS / Wasserstein / chi-square / Jensen–Shannon
 * and PSI), writes the full report to the bucket, records each test's verdict and p-value in the run, and
 * returns the verdict the state machine branches on (`drift` → retrain, otherwise the drop is held back
 * for the next retrain). A drop that could never merge (other columns than the model's data; a forecast
 * drop leaving months missing) fails here, before it is held back where it would fail every retrain.
 */

import { detectDrift, firstItems, recordedDrift } from '#core/drift.ts';
import { driftFrames } from '#core/drift-frames.ts';
import {
  columnDifference,
  keepHistory,
  mergeForecast,
  mergeTabular,
  missingMonthsText,
  monthsLeftMissing,
} from '#core/merge.ts';
import { type ForecastSpec, type ModelSpec, usedColumns } from '#core/spec.ts';
import type { Table } from '#core/types.ts';
import { requiredEnv } from '../shared/config.ts';
import { type DriftResult, type RunInput, runInputSchema } from '../shared/contract.ts';
import { InvalidDataError } from '../shared/errors.ts';
import { logger, metrics } from '../shared/observability.ts';
import { loadDropTable, loadHeldBackDrops, loadTable } from '../shared/pipeline.ts';
import { type DropRef, Registry } from '../shared/registry.ts';
import { pipelineStep, type RunStepContext } from '../shared/run-step.ts';
import { keys, putJson } from '../shared/storage.ts';
import { driftPool } from './pool.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE'), runs: requiredEnv('RUNS_TABLE') });

/** The forecast transform the production model learned with (what `auto` specs are judged under). */
async function servedTransform(model: string): Promise<string | undefined> {
  const production = await registry.getPointer(model, 'production');
  if (!production) return undefined;
  const version = await registry.getVersion(model, production.version);
  const transform = version?.featurizer.transform;
  return typeof transform === 'string' ? transform : undefined;
}

/** The pooled drops as one table (forecasts by month, later values winning; tabular rows appended). */
function pooledTable(spec: ModelSpec, tables: Table[]): Table {
  return tables.reduce((merged, table) =>
    spec.task === 'forecast'
      ? mergeForecast(merged, table, spec.time).table
      : mergeTabular(merged, table).table,
  );
}

const quotedNames = (names: string[]) =>
  firstItems(
    names.map((name) => `"${name}"`),
    10,
  );

/**
 * Refuses a drop whose columns are not the baseline's: merging it would fail, in this run or, once the
 * drop were held back, in every retrain after it. The validation gate cannot tell (a spec without
 * `features` takes every column of the drop), so the gate that holds both tables does. Both tables are
 * the columns the spec uses: with `features` listed, a column it ignores is no difference.
 * @throws {InvalidDataError} naming the columns the drop lacks or adds, or holds as another kind.
 */
function requireBaselineColumns(drop: DropRef, baseline: Table, table: Table): void {
  const difference = columnDifference(baseline, table);
  if (!difference) return;
  const kind = (k: string) => (k === 'numeric' ? 'numbers' : 'text');
  const parts = [
    difference.lacks.length > 0 ? `it lacks ${quotedNames(difference.lacks)}` : '',
    difference.adds.length > 0 ? `it adds ${quotedNames(difference.adds)}` : '',
    ...difference.kinds.map(
      ({ name, baseline: was, drop: is }) =>
        `column "${name}" holds ${kind(is)} in it but ${kind(was)} in the model's data`,
    ),
  ].filter((part) => part !== '');
  throw new InvalidDataError(
    `${drop.key} does not have the columns of the model's data: ${parts.join('; ')}. Every drop of a model needs the columns of the data it trains on (${quotedNames(baseline.columns.map((column) => column.name))}); fix the file and upload it again`,
  );
}

/**
 * Refuses a forecast drop that leaves months missing next to the model's data and the drops held back
 * before it (a typo in its years, or a year sent before the one it follows): held back, it would fail
 * every retrain in merge until those months came, and nothing lets a held-back drop go. A drop that
 * fills months an older held-back drop waits for is welcome.
 * @param held the held-back drops' tables, oldest first.
 * @throws {InvalidDataError} naming the drop, the months it leaves missing and what to upload.
 */
function requireAdjoiningMonths(
  spec: ForecastSpec,
  drop: DropRef,
  stored: Table,
  held: Table[],
  table: Table,
) {
  const gaps = monthsLeftMissing(spec.time, [stored, ...held], table);
  if (gaps.length === 0) return;
  throw new InvalidDataError(
    `${drop.key} leaves ${missingMonthsText(gaps)} missing between the model's data and its months; it is not held back, as it would fail every retrain until they came. Check its months, or upload a drop with the missing ones, then upload ${drop.key} again`,
  );
}

export async function drift({ run }: RunInput, { spec }: RunStepContext): Promise<DriftResult> {
  const baseline = await registry.getBaseline(run.model);
  if (!baseline || !run.drop)
    throw new InvalidDataError(`model "${run.model}" has no baseline to compare the drop with`);
  // Held-back drops are read once: the pool is the newest of them; a forecast drop is also checked
  // against those before it.
  const held = await loadHeldBackDrops(registry, run.model, baseline);
  const poolHeld = await driftPool(registry, run.model, held);
  const pool = [...poolHeld.map(({ drop }) => drop), run.drop];
  // Compared on the columns the spec uses: a column it ignores (a baseline or a drop stored with one
  // before drops were stored without) is neither compared nor a difference.
  const [stored, ...tables] = (
    await Promise.all([
      loadTable(run.bucket, baseline.datasetKey),
      ...pool.map((drop) => loadDropTable(run.bucket, drop)),
    ])
  ).map((table) => usedColumns(spec, table));
  requireBaselineColumns(run.drop, stored, tables[tables.length - 1]);
  if (spec.task === 'forecast') {
    // Those held before the pool were judged by an earlier test, but the months must adjoin them too.
    const earlier = await Promise.all(
      held
        .slice(0, held.length - poolHeld.length)
        .map(async ({ drop }) => usedColumns(spec, await loadDropTable(run.bucket, drop))),
    );
    requireAdjoiningMonths(
      spec,
      run.drop,
      stored,
      [...earlier, ...tables.slice(0, -1)],
      tables[tables.length - 1],
    );
  }
  const current = pooledTable(spec, tables);
  const { table: reference, window } = keepHistory(spec, stored);
  const frames = driftFrames(spec, reference, current, await servedTransform(run.model));
  const report = detectDrift(frames.reference, frames.current, frames.options);
  const reportKey = keys.run(run.model, run.runId, 'drift.json');
  const pooled = { drops: pool.map((drop) => drop.key), rows: current.rowCount };
  await putJson(run.bucket, reportKey, {
    ...report,
    reference: baseline.datasetKey,
    // The baseline's newest rows (or months) the spec's history window keeps: what was compared.
    referenceWindow: window,
    referenceRows: reference.rowCount,
    current: run.drop.key,
    pooled,
  });
  // Bounded for a run record and a state, whatever the number of columns; drift.json has every column.
  const recorded = recordedDrift(report);
  const summary: DriftResult = {
    status: report.status,
    share: report.share,
    threshold: report.threshold,
    driftedColumns: recorded.driftedColumns,
    summary: report.summary,
    // Each test's verdict and evidence, so the run record alone says why (the report adds histograms).
    columns: recorded.columns.map(
      ({ column, test, statistic, pValue, verdict, psi, psiNote, referenceRows, currentRows }) => ({
        column,
        test,
        statistic,
        pValue,
        verdict,
        psi,
        psiNote,
        referenceRows,
        currentRows,
      }),
    ),
    omittedColumns: recorded.omittedColumns,
    // The drops judged together: the held-back ones since the last test, then this run's.
    pooled,
    reportKey,
  };
  await registry.updateRun(run.model, run.startedAt, run.runId, { drift: summary });
  metrics.addDimension('model', run.model);
  metrics.addMetric('DriftShare', 'None', report.share);
  metrics.addMetric('DriftDetected', 'Count', report.drifted ? 1 : 0);
  logger.info('drift checked', {
    status: report.status,
    share: report.share,
    drifted: report.driftedColumns,
  });
  return summary;
}

export const handler = pipelineStep({ name: 'drift', input: runInputSchema, registry }, drift);
