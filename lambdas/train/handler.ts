/**
 * Fits trees — one Lambda per Map item. `candidate`: a hyperparameter candidate scored inside the training
 * rows (rolling origin, out of bag or k-fold; never the holdout). `shard`: a slice of the final forest's
 * trees — of the judged model (training rows) or of its refit (every row) — written to the bucket and
 * merged later by `evaluate`.
 */

import { serializeForest } from '#core/forest/index.ts';
import { decodeFeatureSet, fitFinal, scoreCandidate } from '#core/training.ts';
import { requiredEnv } from '../shared/config.ts';
import {
  type FeaturesRef,
  type RunContext,
  type ShardResult,
  type TrainInput,
  type TrialResult,
  trainInputSchema,
} from '../shared/contract.ts';
import { forestWorkerScript } from '../shared/forest-worker.ts';
import { logger } from '../shared/observability.ts';
import { featuresKey } from '../shared/pipeline.ts';
import { Registry } from '../shared/registry.ts';
import { pipelineStep } from '../shared/run-step.ts';
import { getBytes, keys, putBytes } from '../shared/storage.ts';

async function featureSet(run: RunContext, features: FeaturesRef, variant: string, refit = false) {
  return decodeFeatureSet(await getBytes(run.bucket, featuresKey(features.prefix, variant, refit)));
}

export async function train(input: TrainInput): Promise<TrialResult | ShardResult> {
  const { run, features } = input;
  const settings = {
    engine: features.engine,
    seed: features.seed,
    workerScript: forestWorkerScript(),
  };
  if (input.mode === 'candidate') {
    const { candidate } = input;
    const set = await featureSet(run, features, candidate.variant);
    const scored = await scoreCandidate(set, candidate, features.metric, settings);
    logger.info('candidate scored', { id: candidate.id, variant: candidate.variant, score: scored.score });
    return { ...candidate, ...scored };
  }
  const { shard } = input;
  const started = performance.now();
  const set = await featureSet(run, features, shard.variant, shard.refit);
  const forest = await fitFinal(set, shard.params, settings, shard);
  const key = keys.run(run.model, run.runId, `shards/${shard.index}.bin`);
  await putBytes(run.bucket, key, serializeForest(forest), 'application/octet-stream');
  const seconds = (performance.now() - started) / 1000;
  logger.info('shard fitted', { index: shard.index, trees: forest.nTrees, seconds });
  return { index: shard.index, refit: shard.refit, key, trees: forest.nTrees, seconds };
}

export const handler = pipelineStep(
  {
    name: 'train',
    input: trainInputSchema,
    registry: new Registry({ runs: requiredEnv('RUNS_TABLE') }),
    // The search Map scores candidates; the final fit's Map fits the chosen one's trees.
    step: (input) => (input.mode === 'candidate' ? 'search' : 'fit'),
    metrics: false,
  },
  train,
);
