/**
 * Merges the baseline, the drops held back without drift, and the new drop into the dataset this run
 * trains on (forecasts by month, new values winning; tabular rows appended without exact duplicates),
 * and records its lineage. The list of merged drops goes to a manifest next to the dataset: what this
 * step hands on is a key and a count, the same size however many drops were held back. A forecast with
 * missing months can't be featurized, so it fails here, by name.
 */
import { mergeForecast, mergeInOrder, mergeTabular, type PairwiseMerge, sha256 } from '#core/merge.ts';
import { rowHashes } from '#core/splits.ts';
import { encodeTableParts } from '#core/table-file.ts';
import type { Table } from '#core/types.ts';
import { requiredEnv } from '../shared/config.ts';
import { type MergeResult, type RunInput, runInputSchema } from '../shared/contract.ts';
import { InvalidDataError } from '../shared/errors.ts';
import { logger } from '../shared/observability.ts';
import { loadDropTable, loadHeldBackDrops, loadTable } from '../shared/pipeline.ts';
import { type DropRef, Registry } from '../shared/registry.ts';
import { pipelineStep, type RunStepContext } from '../shared/run-step.ts';
import { keys, putJson, putParts } from '../shared/storage.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE'), runs: requiredEnv('RUNS_TABLE') });
/** Drops read from S3 at once: thousands of held-back drops load in parallel, not one by one. */
const LOAD_CONCURRENCY = 16;

/** `load` of every item, at most `limit` at a time, results in item order. */
async function mapInOrder<T, R>(items: T[], limit: number, load: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await load(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The lineage manifest a merge writes to {@link keys.datasetDrops}. */
export interface DropsManifest {
  runId: string;
  /** The baseline dataset merged into (absent for a model's first dataset). */
  baseline?: { runId: string; datasetKey: string };
  /** Every drop merged, held-back ones first, then the run's own. */
  drops: DropRef[];
  heldThrough: number;
}

export async function merge({ run }: RunInput, { spec }: RunStepContext): Promise<MergeResult> {
  const baseline = await registry.getBaseline(run.model);
  const held = await loadHeldBackDrops(registry, run.model, baseline);
  const drops = [...held.map((entry) => entry.drop), ...(run.drop ? [run.drop] : [])];
  const inputs: { name: string; table: Table }[] = [];
  if (baseline)
    inputs.push({ name: baseline.datasetKey, table: await loadTable(run.bucket, baseline.datasetKey) });
  const tables = await mapInOrder(drops, LOAD_CONCURRENCY, (drop) => loadDropTable(run.bucket, drop));
  inputs.push(...drops.map((drop, i) => ({ name: drop.key, table: tables[i] })));
  if (inputs.length === 0) throw new InvalidDataError(`model "${run.model}" has no data to train on`);

  const pairwise: PairwiseMerge =
    spec.task === 'forecast'
      ? (left, right, options) => mergeForecast(left, right, spec.time, options)
      : mergeTabular;
  const { table: merged, lineage } = mergeInOrder(inputs, pairwise);
  const gaps = lineage.at(-1)?.gaps ?? [];
  if (gaps.length > 0) {
    throw new InvalidDataError(
      `the merged series misses ${gaps.length} month(s) (${gaps.slice(0, 3).join(', ')}${gaps.length > 3 ? ', …' : ''}); upload a drop with those months`,
    );
  }
  // Sent from the columns' own memory: the dataset is never copied into one file-sized buffer.
  const stored = encodeTableParts({ table: merged, rowHashes: rowHashes(spec, merged) });
  const datasetKey = keys.dataset(run.model, run.runId);
  const heldThrough = held.at(-1)?.seq ?? baseline?.heldThrough ?? 0;
  const manifest: DropsManifest = {
    runId: run.runId,
    baseline: baseline && { runId: baseline.runId, datasetKey: baseline.datasetKey },
    drops,
    heldThrough,
  };
  const manifestKey = keys.datasetDrops(run.model, run.runId);
  await putJson(run.bucket, manifestKey, manifest);
  await putParts(run.bucket, datasetKey, stored, 'application/octet-stream');
  const result: MergeResult = {
    datasetKey,
    sha256: sha256(stored.parts),
    rows: merged.rowCount,
    drops: { key: manifestKey, count: drops.length },
    baselineRunId: baseline?.runId,
    heldThrough,
    inputs: inputs.length,
    overlapping: lineage.reduce((sum, entry) => sum + entry.overlapping, 0),
    duplicatesRemoved: lineage.reduce((sum, entry) => sum + entry.duplicatesRemoved, 0),
  };
  logger.info('datasets merged', { rows: result.rows, inputs: inputs.length, drops: drops.length });
  return result;
}

export const handler = pipelineStep(
  { name: 'merge', input: runInputSchema, registry, metrics: false },
  merge,
);
