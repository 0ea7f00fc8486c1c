/**
 * Builds the feature matrices of the merged dataset (one per featurizer variant), splits rows into
 * training and holdout (never a row the production model trained on), writes them to the bucket, and
 * plans the hyperparameter candidates — warm-started from the production model's parameters — that the
 * next Map state trains in parallel.
 */
import { selectionDirection, selectionMetric } from '#core/selection.ts';
import { storedRowHashes } from '#core/splits.ts';
import {
  buildFeatureSets,
  encodeFeatureSet,
  planCandidates,
  refitFeatureSet,
  roleCounts,
} from '#core/training.ts';
import { requiredEnv } from '../shared/config.ts';
import {
  type Features,
  type FeaturesRef,
  type FeaturizeInput,
  featurizeInputSchema,
} from '../shared/contract.ts';
import { InvalidDataError } from '../shared/errors.ts';
import { logger } from '../shared/observability.ts';
import { featuresKey, loadStoredTable } from '../shared/pipeline.ts';
import { Registry } from '../shared/registry.ts';
import { pipelineStep, type RunStepContext } from '../shared/run-step.ts';
import { keys, putBytes } from '../shared/storage.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE'), runs: requiredEnv('RUNS_TABLE') });

export async function featurize({ run, merge }: FeaturizeInput, { spec }: RunStepContext): Promise<Features> {
  const stored = await loadStoredTable(run.bucket, merge.datasetKey);
  const { table } = stored;
  // The champion is judged on rows it never trained on: every row of the dataset it was fitted on is
  // kept out of this run's holdout (a superset of its training rows, so the guarantee holds for any
  // model the registry serves). Rows are known by the hashes merge stored with each dataset.
  const production = await registry.getPointer(run.model, 'production');
  const champion = production ? await registry.getVersion(run.model, production.version) : undefined;
  const seen = champion
    ? new Set(storedRowHashes(spec, await loadStoredTable(run.bucket, champion.lineage.dataset.key)))
    : undefined;
  let featureSets: ReturnType<typeof buildFeatureSets>;
  try {
    featureSets = buildFeatureSets(spec, table, { hashes: storedRowHashes(spec, stored), seen });
  } catch (error) {
    throw new InvalidDataError(
      `the merged dataset (${table.rowCount} rows) can't be trained on: ${(error as Error).message}`,
    );
  }
  const prefix = keys.run(run.model, run.runId, 'features/');
  // Each variant twice: split for judging, and whole for the refit of the chosen model after the decision.
  await Promise.all(
    featureSets.flatMap((set) => [
      putBytes(
        run.bucket,
        featuresKey(prefix, set.variant),
        encodeFeatureSet(set),
        'application/octet-stream',
      ),
      putBytes(
        run.bucket,
        featuresKey(prefix, set.variant, true),
        encodeFeatureSet(refitFeatureSet(spec, table, set)),
        'application/octet-stream',
      ),
    ]),
  );

  const warmStart = champion
    ? {
        variant: String(champion.featurizer.variant ?? ''),
        params: champion.params as Record<string, unknown>,
      }
    : undefined;
  const variants = featureSets.map((set) => set.variant);
  const candidates = planCandidates(spec, variants, warmStart);
  const ref: FeaturesRef = {
    prefix,
    variants,
    metric: selectionMetric(spec.task, spec.metric),
    direction: selectionDirection(spec.task, spec.metric),
    rows: roleCounts(featureSets[0].roles),
    engine: spec.engine,
    seed: spec.seed,
    championVersion: champion?.version,
  };
  logger.info('features built', {
    variants,
    rows: ref.rows,
    holdout: featureSets[0].holdout,
    championVersion: champion?.version,
    candidates: candidates.length,
    warmStart: Boolean(warmStart),
  });
  return { ref, candidates };
}

export const handler = pipelineStep(
  { name: 'featurize', input: featurizeInputSchema, registry, metrics: false },
  featurize,
);
