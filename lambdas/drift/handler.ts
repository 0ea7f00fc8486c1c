/**
 * Drift gate: compares the drop, pooled with the drops held back since the last drift test, with the
 * baseline the production model learned from (cut to the spec's history window, so a window lowered
 * since the baseline was merged applies at once), on what the model learns from (tabular: its columns;
 * forecasts: the transformed target), column by column (KS / Wasserstein / chi-square / Jensen–Shannon
 * and PSI), writes the full report to the bucket, records each test's verdict and p-value in the run, and
 * returns the verdict the state machine branches on (`drift` → retrain, otherwise the drop is held back
 * for the next retrain).
 */

import { detectDrift, recordedDrift } from '#core/drift.ts';
import { driftFrames } from '#core/drift-frames.ts';
import { keepHistory, mergeForecast, mergeTabular } from '#core/merge.ts';
import type { ModelSpec } from '#core/spec.ts';
import type { Table } from '#core/types.ts';
import { requiredEnv } from '../shared/config.ts';
import { type DriftResult, type RunInput, runInputSchema } from '../shared/contract.ts';
import { InvalidDataError } from '../shared/errors.ts';
import { logger, metrics } from '../shared/observability.ts';
import { loadDropTable, loadTable } from '../shared/pipeline.ts';
import { type DropRef, Registry } from '../shared/registry.ts';
import { pipelineStep, type RunStepContext } from '../shared/run-step.ts';
import { keys, putJson } from '../shared/storage.ts';
import { loadDriftPool } from './pool.ts';

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
async function loadPooled(spec: ModelSpec, bucket: string, drops: DropRef[]): Promise<Table> {
  const tables = await Promise.all(drops.map((drop) => loadDropTable(bucket, drop)));
  return tables.reduce((merged, table) =>
    spec.task === 'forecast'
      ? mergeForecast(merged, table, spec.time).table
      : mergeTabular(merged, table).table,
  );
}

export async function drift({ run }: RunInput, { spec }: RunStepContext): Promise<DriftResult> {
  const baseline = await registry.getBaseline(run.model);
  if (!baseline || !run.drop)
    throw new InvalidDataError(`model "${run.model}" has no baseline to compare the drop with`);
  const pool = [...(await loadDriftPool(registry, run.model, baseline)).map(({ drop }) => drop), run.drop];
  const [stored, current] = await Promise.all([
    loadTable(run.bucket, baseline.datasetKey),
    loadPooled(spec, run.bucket, pool),
  ]);
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
