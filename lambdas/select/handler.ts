/**
 * Picks the hyperparameter candidate by selection score (rolling origin, out of bag or k-fold inside the
 * training rows; warm-start candidates win ties; a forecast keeps its preferred variant unless another is
 * significantly better, `chooseCandidate`), records every trial, and plans the final fits —
 * the judged model on the training rows and its refit on every row — as tree shards for the next Map.
 */

import { chooseCandidate, shardCount } from '#core/training.ts';
import { requiredEnv } from '../shared/config.ts';
import { type SelectInput, type Selection, type ShardPlan, selectInputSchema } from '../shared/contract.ts';
import { logger } from '../shared/observability.ts';
import { Registry } from '../shared/registry.ts';
import { pipelineStep } from '../shared/run-step.ts';
import { keys, putJson } from '../shared/storage.ts';

const registry = new Registry({ runs: requiredEnv('RUNS_TABLE') });

/** Trees per forest when neither the spec nor the search says. */
const DEFAULT_TREES = 100;

export async function select({ run, features, trials }: SelectInput): Promise<Selection> {
  const best = chooseCandidate(trials, features.metric);
  const nTrees = Number(best.params.nTrees ?? DEFAULT_TREES);
  // Shards of the judged model (training rows), then of the refit the promoted model serves (every row).
  const plan = (rows: number, refit: boolean) => {
    const count = features.engine === 'fast' ? shardCount(rows, nTrees) : 1;
    return Array.from({ length: count }, (_, part) => ({
      variant: best.variant,
      params: { ...best.params, nTrees },
      seed: features.seed,
      treeStart: Math.floor((part * nTrees) / count),
      treeCount: Math.floor(((part + 1) * nTrees) / count) - Math.floor((part * nTrees) / count),
      refit,
    }));
  };
  const shards: ShardPlan[] = [
    ...plan(features.rows.train, false),
    ...plan(features.rows.train + features.rows.holdout, true),
  ].map((shard, index) => ({ index, ...shard }));
  const count = shards.length;
  const trialsKey = keys.run(run.model, run.runId, 'trials.json');
  await putJson(run.bucket, trialsKey, trials);
  logger.info('best candidate', { id: best.id, variant: best.variant, score: best.score, shards: count });
  return { best, shards, trialsKey };
}

export const handler = pipelineStep(
  { name: 'select', input: selectInputSchema, registry, metrics: false },
  select,
);
