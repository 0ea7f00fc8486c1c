/**
 * Joins the final forests' shards — the judged candidate and its refit on every row — scores the judged
 * one and the production champion on the very same holdout rows (after checking the champion trained on
 * none of them), applies the spec's promotion rule (margin and absolute bars), and writes the refit
 * candidate's artifact (checksummed) and the judged one's holdout predictions (for the report).
 */
import { type Featurizer, featurizerConfiguration } from '#core/features.ts';
import { deserializeForest, mergeForests } from '#core/forest/index.ts';
import { loadModel, packModel, sha256Hex } from '#core/model.ts';
import { pairedBootstrap } from '#core/paired-bootstrap.ts';
import { decidePromotion } from '#core/promotion.ts';
import { HOLDOUT, rowsWithRole, storedRowHashes } from '#core/splits.ts';
import {
  decodeFeatureSet,
  holdoutOverlap,
  holdoutPredictions,
  modelHoldoutPredictions,
  scorePredictions,
} from '#core/training.ts';
import { codeVersion, requiredEnv } from '../shared/config.ts';
import { type EvaluateInput, type Evaluation, evaluateInputSchema } from '../shared/contract.ts';
import { InvalidDataError } from '../shared/errors.ts';
import { logger, metrics } from '../shared/observability.ts';
import { featuresKey, loadStoredTable } from '../shared/pipeline.ts';
import { Registry } from '../shared/registry.ts';
import { pipelineStep, type RunStepContext } from '../shared/run-step.ts';
import { getBytes, keys, putBytes, putJson } from '../shared/storage.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE'), runs: requiredEnv('RUNS_TABLE') });

/** What the registry shows of a featurizer (the full one lives in the artifact). */
function featurizerSummary(featurizer: Featurizer, variant: string): Record<string, unknown> {
  return featurizer.kind === 'forecast'
    ? {
        kind: 'forecast',
        variant,
        transform: featurizer.transform,
        lags: featurizer.lags,
        historyLength: featurizer.historyLength,
      }
    : { kind: 'tabular', variant, features: featurizer.featureNames.length, classes: featurizer.classes };
}

export async function evaluate(input: EvaluateInput, { spec }: RunStepContext): Promise<Evaluation> {
  const { run, merge, features, selection, shards } = input;
  const best = selection.best;
  const set = decodeFeatureSet(await getBytes(run.bucket, featuresKey(features.prefix, best.variant)));
  const refitSet = decodeFeatureSet(
    await getBytes(run.bucket, featuresKey(features.prefix, best.variant, true)),
  );
  const join = async (refit: boolean) => {
    const parts = await Promise.all(
      shards
        .filter((shard) => Boolean(shard.refit) === refit)
        .sort((a, b) => a.index - b.index)
        .map(async (shard) => deserializeForest(await getBytes(run.bucket, shard.key))),
    );
    return parts.length === 1 ? parts[0] : mergeForests(parts);
  };
  // The judged model (fitted on the training rows) is scored on the holdout; the model the version
  // serves is the same candidate refit on every row, holdout included, so it has seen the newest data.
  const forest = await join(false);
  const served = await join(true);
  const candidatePredictions = holdoutPredictions(set, forest);
  const candidateMetrics = scorePredictions(candidatePredictions);

  // The champion the holdout was drawn against (featurize kept its training rows out of the holdout),
  // even if production moved since: register's conditional promotion then refuses the stale comparison.
  let champion: Evaluation['champion'];
  let championOverlap = 0;
  // The champion's own configuration refit on newer rows: the holdout can only show it no worse.
  let refresh = false;
  if (features.championVersion !== undefined) {
    const record = await registry.getVersion(run.model, features.championVersion);
    if (record) {
      // Rows are known by the hashes merge stored with each dataset, as featurize knew them.
      const stored = await loadStoredTable(run.bucket, merge.datasetKey);
      const table = stored.table;
      const seen = new Set(
        storedRowHashes(spec, await loadStoredTable(run.bucket, record.lineage.dataset.key)),
      );
      championOverlap = holdoutOverlap(set, storedRowHashes(spec, stored), seen);
      if (championOverlap > 0) {
        throw new InvalidDataError(
          `${championOverlap} holdout rows are rows version ${record.version} trained on; the comparison would flatter it`,
        );
      }
      const model = loadModel(await getBytes(run.bucket, record.artifact.key), record.artifact.sha256);
      const championPredictions = modelHoldoutPredictions(set, table, model);
      champion = {
        version: record.version,
        metrics: scorePredictions(championPredictions),
        // Seeded by the spec: a retried evaluate draws the same resamples and decides the same way. A metric
        // this holdout leaves undefined (AUC without rows of every class) has nothing to compare.
        ...(candidateMetrics[spec.metric] === undefined
          ? {}
          : {
              comparison: pairedBootstrap(candidatePredictions, championPredictions, {
                metric: spec.metric,
                confidence: spec.promotion.confidence,
                resamples: spec.promotion.resamples,
                seed: spec.seed,
              }),
            }),
      };
      refresh =
        model.forest.engine === forest.engine &&
        JSON.stringify(model.forest.params) === JSON.stringify(forest.params) &&
        featurizerConfiguration(model.featurizer) === featurizerConfiguration(set.featurizer);
    }
  }
  const decision = decidePromotion({
    metric: spec.metric,
    margin: spec.promotion.margin,
    bars: spec.promotion.bars,
    candidate: candidateMetrics,
    champion: champion?.metrics,
    paired: champion?.comparison,
    refresh,
  });

  const holdoutRows = features.rows.holdout;
  const trainRows = features.rows.train;
  const artifact = packModel({
    meta: {
      model: run.model,
      task: spec.task,
      engine: served.engine,
      params: served.params,
      seed: served.seed,
      signature: {
        target: spec.target,
        features: refitSet.featurizer.featureNames,
        historyLength:
          refitSet.featurizer.kind === 'forecast' ? refitSet.featurizer.historyLength : undefined,
        classes: refitSet.featurizer.kind === 'tabular' ? refitSet.featurizer.classes : undefined,
      },
      data: {
        datasetKey: merge.datasetKey,
        sha256: merge.sha256,
        rows: merge.rows,
        trainRows,
        holdoutRows,
        refitRows: refitSet.matrix.rowCount,
      },
      metrics: candidateMetrics,
      codeVersion: codeVersion(),
      createdAt: new Date().toISOString(),
    },
    featurizer: refitSet.featurizer,
    forest: served,
  });
  const artifactKey = keys.model(run.model, run.runId);
  await putBytes(run.bucket, artifactKey, artifact, 'application/octet-stream');

  const positions = rowsWithRole(set.roles, HOLDOUT);
  const holdoutKey = keys.run(run.model, run.runId, 'holdout.json');
  await putJson(run.bucket, holdoutKey, {
    rows: Array.from(positions, (p) => set.matrix.rows[p]),
    actual: Array.from(positions, (p) => set.matrix.actual[p]),
    predicted: Array.from(candidatePredictions.predicted),
    classes: forest.classes,
  });

  metrics.addDimension('model', run.model);
  metrics.addMetric('CandidateScore', 'None', candidateMetrics[spec.metric] ?? Number.NaN);
  logger.info('candidate evaluated', {
    metrics: candidateMetrics,
    champion,
    promote: decision.promote,
    reason: decision.reason,
  });
  return {
    promote: decision.promote,
    reason: decision.reason,
    metric: spec.metric,
    candidate: {
      metrics: candidateMetrics,
      params: { ...forest.params },
      engine: forest.engine,
      seed: forest.seed,
      artifact: { key: artifactKey, sha256: sha256Hex(artifact), bytes: artifact.length },
      featurizer: featurizerSummary(refitSet.featurizer, best.variant),
      refitRows: refitSet.matrix.rowCount,
    },
    champion,
    rows: { train: trainRows, holdout: holdoutRows },
    holdout: { ...set.holdout, championOverlap },
    holdoutKey,
  };
}

export const handler = pipelineStep({ name: 'evaluate', input: evaluateInputSchema, registry }, evaluate);
