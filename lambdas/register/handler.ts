/**
 * Last step of every successful run: records what the run decided. A promoted candidate becomes the new
 * production version (a conditional write: production must still be the champion it was compared with);
 * a candidate that did not beat the champion is kept as a `rejected` version for the record; a drop
 * without drift is held back for the next retrain. The baseline moves to the merged dataset either way
 * (only if it is still the baseline the run merged from). Its last write releases the model's run lease.
 */

import { renderModelReport } from '#core/report/model-report.ts';
import type { ModelSpec } from '#core/spec.ts';
import { codeVersion, requiredEnv } from '../shared/config.ts';
import {
  type RegisterInput,
  type Registration,
  type RunContext,
  registerInputSchema,
} from '../shared/contract.ts';
import { ConflictError } from '../shared/errors.ts';
import { logger, metrics } from '../shared/observability.ts';
import { PredictionLog } from '../shared/prediction-log.ts';
import { Registry, type RunOutcome } from '../shared/registry.ts';
import { loadModelReport } from '../shared/report-data.ts';
import { pipelineStep, type RunStepContext } from '../shared/run-step.ts';
import { keys, putBytes } from '../shared/storage.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE'), runs: requiredEnv('RUNS_TABLE') });
const reportSources = {
  registry,
  bucket: requiredEnv('DATA_BUCKET'),
  predictionLog: new PredictionLog(requiredEnv('PREDICTION_LOG_TABLE')),
};

/**
 * Writes the model's report page to `reports/<model>/index.html` (for `driftline report` on AWS). A report
 * that can't be written is logged, never a failed run: the run's decision is already recorded.
 */
async function publishReport(model: string): Promise<void> {
  try {
    const data = await loadModelReport(reportSources, model, new Date().toISOString());
    await putBytes(
      reportSources.bucket,
      keys.report(model),
      renderModelReport(data),
      'text/html; charset=utf-8',
    );
  } catch (error) {
    logger.warn('could not write the report page', { error: error as Error });
  }
}

type Rollout = ModelSpec['rollout'];

function rolloutDescription(rollout: Rollout): string {
  return rollout.mode === 'canary'
    ? `serving ${Math.round(rollout.canaryWeight * 100)}% of requests as a canary for ${rollout.bakeMinutes} min before full promotion`
    : `predicting in shadow (not answering) for ${rollout.bakeMinutes} min before promotion`;
}

/**
 * Starts a canary or shadow bake of the new version, conditional on production still being the champion
 * it was judged against. A candidate still baking is replaced (and ends `superseded`): the newer one
 * learned from more data.
 */
async function startRollout(
  run: RunContext,
  version: number,
  champion: number | undefined,
  rollout: Rollout,
  reason: string,
): Promise<RunOutcome> {
  const mode = rollout.mode as 'canary' | 'shadow';
  await registry.startCandidate(run.model, version, {
    mode,
    weight: rollout.canaryWeight,
    bakeUntil: new Date(Date.now() + rollout.bakeMinutes * 60_000).toISOString(),
    champion,
    reason: `${reason}; ${rolloutDescription(rollout)}`,
    actor: `pipeline run ${run.runId}`,
  });
  return mode;
}

/**
 * What an earlier attempt of this run already decided for its version, from the audit trail (the record
 * of a lifecycle change is written with the change itself): so a retry reports the promotion that took
 * effect even if production has moved on since.
 */
async function decisionOfRun(
  model: string,
  version: number,
  actor: string,
  rollout: Rollout,
): Promise<{ outcome: RunOutcome; decision: string } | undefined> {
  const entry = (await registry.listAudit(model)).find(
    (record) => record.actor === actor && (record.toVersion === version || record.fromVersion === version),
  );
  switch (entry?.action) {
    case 'promote':
      return { outcome: 'promoted', decision: entry.reason };
    case 'candidate_start':
      return { outcome: rollout.mode === 'shadow' ? 'shadow' : 'canary', decision: entry.reason };
    case 'supersede':
      return { outcome: 'superseded', decision: entry.reason };
    default:
      return undefined;
  }
}

/**
 * Records how the run ended. A run already recorded as ended another way (its execution was stopped while
 * this step was in flight) keeps that end; what this step did stays in the registry and the audit trail.
 */
async function recordEnd(run: RunContext, fields: Parameters<Registry['updateRun']>[3]): Promise<void> {
  if (!(await registry.updateRun(run.model, run.startedAt, run.runId, fields))) {
    logger.warn('the run had already ended; its record keeps that end', { outcome: fields.outcome });
  }
}

/** Ends a run that registers no version (no drift, or nothing new to train on): production unchanged. */
async function endWithoutVersion(
  run: RunContext,
  outcome: 'no_drift' | 'up_to_date',
  decision: string,
  finishedAt: string,
): Promise<Registration> {
  await recordEnd(run, { status: 'succeeded', outcome, step: 'done', decision, finishedAt });
  await registry.releaseLease(run.model, run.runId);
  await publishReport(run.model);
  return { outcome, decision };
}

export async function register(input: RegisterInput, { spec }: RunStepContext): Promise<Registration> {
  const { run } = input;
  const finishedAt = new Date().toISOString();
  const elapsed = Date.parse(finishedAt) - Date.parse(run.startedAt);
  metrics.addDimension('model', run.model);
  metrics.addMetric('RunSeconds', 'Seconds', elapsed / 1000);

  if (input.outcome === 'no_drift') {
    const baseline = await registry.getBaseline(run.model);
    if (baseline && run.drop) await registry.holdBackDrop(run, run.drop);
    const decision = `${input.drift.summary}; production unchanged${run.drop ? ', the drop is kept for the next retrain' : ''}`;
    logger.info('no drift: run recorded', { status: input.drift.status });
    return endWithoutVersion(run, 'no_drift', decision, finishedAt);
  }
  if (input.outcome === 'up_to_date') {
    logger.info('nothing new: run recorded');
    return endWithoutVersion(run, 'up_to_date', `${input.reason}; production unchanged`, finishedAt);
  }

  const { merge, evaluation, trials } = input;
  // A retried register (Step Functions retries, a Lambda that died) finds the version its run created.
  const { version: record, created } = await registry.createVersion({
    model: run.model,
    stage: input.outcome === 'promote' ? 'staging' : 'rejected',
    runId: run.runId,
    createdAt: finishedAt,
    reason: evaluation.reason,
    metric: evaluation.metric,
    metrics: evaluation.candidate.metrics,
    championMetrics: evaluation.champion?.metrics,
    championVersion: evaluation.champion?.version,
    ...(evaluation.champion?.comparison ? { comparison: evaluation.champion.comparison } : {}),
    params: evaluation.candidate.params,
    engine: evaluation.candidate.engine,
    seed: evaluation.candidate.seed,
    codeVersion: codeVersion(),
    artifact: evaluation.candidate.artifact,
    featurizer: evaluation.candidate.featurizer,
    lineage: {
      drops: merge.drops,
      drop: run.drop,
      dataset: { key: merge.datasetKey, sha256: merge.sha256, rows: merge.rows },
      history: merge.history,
      trainRows: evaluation.rows.train,
      holdoutRows: evaluation.rows.holdout,
      holdout: evaluation.holdout,
      refitRows: evaluation.candidate.refitRows,
    },
  });
  const { version } = record;
  if (!created) logger.info('register retried: reusing the version of this run', { version });
  await registry.setBaseline(
    run.model,
    {
      datasetKey: merge.datasetKey,
      sha256: merge.sha256,
      rows: merge.rows,
      runId: run.runId,
      updatedAt: finishedAt,
      heldThrough: merge.heldThrough,
    },
    merge.baselineRunId,
  );

  let outcome: RunOutcome = 'kept';
  let decision = evaluation.reason;
  if (input.outcome === 'promote') {
    const { rollout } = spec;
    const actor = `pipeline run ${run.runId}`;
    const earlier = created ? undefined : await decisionOfRun(run.model, version, actor, rollout);
    if (earlier) {
      ({ outcome, decision } = earlier);
    } else {
      try {
        if (rollout.mode !== 'direct' && evaluation.champion) {
          outcome = await startRollout(run, version, evaluation.champion.version, rollout, evaluation.reason);
          decision = `${evaluation.reason}; ${rolloutDescription(rollout)}`;
        } else {
          await registry.promote(run.model, version, {
            expected: evaluation.champion?.version,
            reason: evaluation.reason,
            actor,
          });
          outcome = 'promoted';
        }
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        // Production changed while this run trained (a rollback, a manual or a racing promotion): the
        // comparison is stale, so the candidate ends superseded; the next run is judged against the new one.
        decision = `${evaluation.reason}; superseded because ${error.message}; a person can still promote it with "driftline promote ${run.model} ${version}"`;
        await registry.supersede(run.model, version, { reason: decision, actor });
        outcome = 'superseded';
      }
    }
  }
  await recordEnd(run, {
    status: 'succeeded',
    outcome,
    step: 'done',
    version,
    decision,
    // Per-row validation losses only served the choice (select); the record keeps each trial's scores.
    trials: trials.map(({ losses: _, ...trial }) => trial),
    holdout: evaluation.holdout,
    ...(evaluation.champion?.comparison ? { comparison: evaluation.champion.comparison } : {}),
    finishedAt,
  });
  await registry.releaseLease(run.model, run.runId);
  const counted = { kept: 'VersionsRejected', superseded: 'VersionsSuperseded' } as Record<string, string>;
  metrics.addMetric(counted[outcome] ?? 'VersionsPromoted', 'Count', 1);
  logger.info('version registered', { version, outcome, reason: decision });
  await publishReport(run.model);
  return { outcome, version, decision };
}

export const handler = pipelineStep({ name: 'register', input: registerInputSchema, registry }, register);
