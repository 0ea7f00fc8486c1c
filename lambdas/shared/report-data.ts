/**
 * Gathers what the pages show from the registry and the run artifacts in the bucket: the model list for
 * the index, and for a report the versions, pointers, runs and audit, the latest drift report and the
 * production version's holdout predictions (with the months of a forecast's holdout steps).
 */

import type { ModelReportData, ModelSummary, ReportDrift, ReportHoldout } from '#core/report/types.ts';
import { type ModelSpec, parseSpec } from '#core/spec.ts';
import { NotFoundError } from './errors.ts';
import { logger } from './observability.ts';
import { loadTable } from './pipeline.ts';
import { liveSummary, type PredictionLog } from './prediction-log.ts';
import type { ModelVersion, Registry, RunRecord } from './registry.ts';
import { getJson, keys } from './storage.ts';

/** Where the pages read from. */
export interface PageSources {
  registry: Registry;
  bucket: string;
  predictionLog: PredictionLog;
}

/**
 * The primary metric measured on labelled live traffic, per version, where the live aggregate measures
 * the same thing: MAPE (mean absolute percentage error) or accuracy (1 − misclassification rate).
 */
async function liveMetrics(
  sources: PageSources,
  spec: ModelSpec,
  versions: ModelVersion[],
): Promise<Record<number, number>> {
  if (spec.metric !== 'mape' && spec.metric !== 'accuracy') return {};
  const summaries = await Promise.all(
    versions.map((version) => liveSummary(sources.predictionLog, spec.name, version.version)),
  );
  const live: Record<number, number> = {};
  summaries.forEach((summary, index) => {
    if (summary)
      live[versions[index].version] = spec.metric === 'mape' ? summary.meanError : 1 - summary.meanError;
  });
  return live;
}

/** Runs a report lists (and searches for the latest drift report). */
const REPORT_RUNS = 20;

/** What the evaluate step writes to `runs/<model>/<runId>/holdout.json`. */
interface HoldoutFile {
  rows: number[];
  actual: number[];
  predicted: number[];
  classes: number[];
}

/**
 * An artifact that may be missing (a run that failed before writing it, a bucket lifecycle rule): the
 * page shows the section as unavailable instead of failing.
 */
async function optionalJson<T>(bucket: string, key: string): Promise<T | undefined> {
  try {
    return await getJson<T>(bucket, key);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    logger.warn('report artifact missing', { key });
    return undefined;
  }
}

async function modelSpec(sources: PageSources, name: string): Promise<ModelSpec> {
  const stored = await sources.registry.getSpec(name);
  if (stored === undefined) throw new NotFoundError(`There is no model named "${name}".`);
  return parseSpec(stored);
}

async function latestDrift(sources: PageSources, runs: RunRecord[]): Promise<ReportDrift | undefined> {
  const run = runs.find((candidate) => typeof candidate.drift?.reportKey === 'string');
  if (!run) return undefined;
  const report = await optionalJson<ReportDrift['report']>(sources.bucket, String(run.drift!.reportKey));
  return report ? { runId: run.runId, startedAt: run.startedAt, report } : undefined;
}

/**
 * The month of each holdout row of a forecast, from the dataset the version trained on. Labels are a
 * nicety: when the dataset can't be read the chart falls back to step numbers.
 */
async function holdoutMonths(
  sources: PageSources,
  spec: ModelSpec,
  version: ModelVersion,
  rows: number[],
): Promise<string[] | undefined> {
  if (spec.task !== 'forecast') return undefined;
  try {
    const table = await loadTable(sources.bucket, version.lineage.dataset.key);
    const time = table.columns.find((column) => column.name === spec.time);
    if (!time) return undefined;
    return rows.map((row) => String(time.values[row]));
  } catch (error) {
    logger.warn('holdout months unavailable', { key: version.lineage.dataset.key, error: error as Error });
    return undefined;
  }
}

/** Class labels of a classifier version: the featurizer's labels (the holdout file holds class indices). */
function classLabels(version: ModelVersion, file: HoldoutFile): number[] {
  const labels = version.featurizer.classes;
  return Array.isArray(labels) && labels.every((label) => typeof label === 'number') ? labels : file.classes;
}

async function productionHoldout(
  sources: PageSources,
  spec: ModelSpec,
  version: ModelVersion,
): Promise<ReportHoldout | undefined> {
  const file = await optionalJson<HoldoutFile>(
    sources.bucket,
    keys.run(version.model, version.runId, 'holdout.json'),
  );
  if (!file) return undefined;
  return {
    version: version.version,
    actual: file.actual,
    predicted: file.predicted,
    classes: classLabels(version, file),
    labels: await holdoutMonths(sources, spec, version, file.rows),
  };
}

/**
 * Everything the report of `name` shows.
 * @throws NotFoundError when no model of that name is registered.
 */
export async function loadModelReport(
  sources: PageSources,
  name: string,
  generatedAt: string,
): Promise<ModelReportData> {
  const spec = await modelSpec(sources, name);
  const { registry } = sources;
  const [pointers, versions, runs, audit] = await Promise.all([
    registry.getPointers(name),
    registry.listVersions(name),
    registry.listRuns(name, REPORT_RUNS),
    registry.listAudit(name),
  ]);
  const production = versions.find((version) => version.version === pointers.production?.version);
  const [drift, holdout, live] = await Promise.all([
    latestDrift(sources, runs),
    production ? productionHoldout(sources, spec, production) : undefined,
    liveMetrics(sources, spec, versions),
  ]);
  return {
    name,
    spec: { task: spec.task, target: spec.target, metric: spec.metric, description: spec.description },
    production: pointers.production,
    candidate: pointers.canary,
    versions,
    runs,
    audit,
    drift,
    holdout,
    liveMetrics: live,
    generatedAt,
  };
}

async function modelSummary(sources: PageSources, name: string): Promise<ModelSummary> {
  const { registry } = sources;
  const [spec, pointers, versions, runs] = await Promise.all([
    modelSpec(sources, name),
    registry.getPointers(name),
    registry.listVersions(name),
    registry.listRuns(name, 1),
  ]);
  const production = versions.find((version) => version.version === pointers.production?.version);
  const candidate = pointers.canary;
  return {
    name,
    task: spec.task,
    metric: spec.metric,
    description: spec.description,
    productionVersion: production?.version,
    productionScore: production?.metrics[spec.metric],
    candidate: candidate ? { version: candidate.version, mode: candidate.mode ?? 'canary' } : undefined,
    versionCount: versions.length,
    lastRun: runs[0],
  };
}

/** One summary per registered model, by name. */
export async function loadModelSummaries(sources: PageSources): Promise<ModelSummary[]> {
  const names = await sources.registry.listModels();
  return Promise.all(names.map((name) => modelSummary(sources, name)));
}
