/**
 * Drift gate: compares the drop with the baseline the production model learned from, on what the model
 * learns from (tabular: its columns; forecasts: the transformed target), column by column (KS /
 * Wasserstein / chi-square / Jensen–Shannon and PSI), writes the full report to the bucket, records each
 * test's verdict and p-value in the run, and returns the verdict the state machine branches on (`drift` →
 * retrain, otherwise the drop is held back for the next retrain).
 */

import { detectDrift } from '#core/drift.ts';
import { driftFrames } from '#core/drift-frames.ts';
import { requiredEnv } from '../shared/config.ts';
import { InvalidDataError } from '../shared/errors.ts';
import { logger, metrics, withObservability } from '../shared/observability.ts';
import { loadSpec, loadTable, markStep, type RunContext } from '../shared/pipeline.ts';
import { Registry } from '../shared/registry.ts';
import { keys, putJson } from '../shared/storage.ts';

const registry = new Registry(requiredEnv('REGISTRY_TABLE'));

/** The forecast transform the production model learned with (what `auto` specs are judged under). */
async function servedTransform(model: string): Promise<string | undefined> {
  const production = await registry.getPointer(model, 'production');
  if (!production) return undefined;
  const version = await registry.getVersion(model, production.version);
  const transform = version?.featurizer.transform;
  return typeof transform === 'string' ? transform : undefined;
}

export async function drift({ run }: { run: RunContext }) {
  logger.appendKeys({ model: run.model, runId: run.runId });
  await markStep(registry, run, 'drift');
  const spec = await loadSpec(registry, run.model);
  const baseline = await registry.getBaseline(run.model);
  if (!baseline || !run.drop)
    throw new InvalidDataError(`model "${run.model}" has no baseline to compare the drop with`);
  const [reference, current] = await Promise.all([
    loadTable(run.bucket, baseline.datasetKey, spec),
    loadTable(run.drop.bucket, run.drop.key, spec, true),
  ]);
  const frames = driftFrames(spec, reference, current, await servedTransform(run.model));
  const report = detectDrift(frames.reference, frames.current, frames.options);
  const reportKey = keys.run(run.model, run.runId, 'drift.json');
  await putJson(run.bucket, reportKey, { ...report, reference: baseline.datasetKey, current: run.drop.key });
  const summary = {
    status: report.status,
    share: report.share,
    threshold: report.threshold,
    driftedColumns: report.driftedColumns,
    summary: report.summary,
    // Each test's verdict and evidence, so the run record alone says why (the report adds histograms).
    columns: report.columns.map(
      ({ column, test, statistic, pValue, verdict, referenceRows, currentRows }) => ({
        column,
        test,
        statistic,
        pValue,
        verdict,
        referenceRows,
        currentRows,
      }),
    ),
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

export const handler = withObservability(drift);
