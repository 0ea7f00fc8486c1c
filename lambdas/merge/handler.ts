/**
 * Merges the baseline, the drops held back without drift, and the new drop into the dataset this run
 * trains on (forecasts by month, new values winning; tabular rows appended without exact duplicates),
 * keeps the newest rows or months the spec's `history` window allows, and records its lineage. The
 * list of merged drops goes to a manifest next to the dataset, linked to the baseline's: the chain of
 * manifests lists every drop ever merged, whether its rows are still in the window or not. What this
 * step hands on is a key and a count, the same size however many drops were held back. A forecast with
 * missing months inside the window can't be featurized, so it fails here, by name.
 */
import { firstItems } from '#core/drift.ts';
import { type DatasetHistory, inputsAfter, mergeHistory, missingMonthsText, sha256 } from '#core/merge.ts';
import { rowHashes } from '#core/splits.ts';
import { encodeTableParts } from '#core/table-file.ts';
import type { Table } from '#core/types.ts';
import { requiredEnv } from '../shared/config.ts';
import { type MergeResult, type RunInput, runInputSchema } from '../shared/contract.ts';
import { InvalidDataError } from '../shared/errors.ts';
import { type DropsManifest, lineageFrom } from '../shared/lineage.ts';
import { logger } from '../shared/observability.ts';
import { loadDropTable, loadHeldBackDrops, loadTable } from '../shared/pipeline.ts';
import { Registry } from '../shared/registry.ts';
import { pipelineStep, type RunStepContext } from '../shared/run-step.ts';
import { getJson, keys, putJson, putParts } from '../shared/storage.ts';

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

/**
 * Drops merged into a model's datasets up to `baseline`: the count its manifest keeps. A manifest
 * written before the count was kept is followed back to the first dataset, counting.
 */
async function dropsMergedUpTo(bucket: string, model: string, baseline?: { runId: string }) {
  let counted = 0;
  for await (const manifest of lineageFrom(model, baseline?.runId, (key) => getJson(bucket, key))) {
    if (manifest.history) return counted + manifest.history.totalDrops;
    counted += manifest.drops.length;
  }
  return counted;
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

  const merged = mergeHistory(spec, inputs);
  const { gaps } = merged;
  if (gaps.length > 0) {
    // The held-back drops stay held for the next run; this run's drop does not (no failed run's drop is
    // kept), so it has to come again once the months before it have.
    const again = run.drop
      ? `, then upload ${run.drop.key} again: a failed run's drop is not kept for later runs`
      : '';
    // Named, so a held-back drop that waits for them (held before the drift gate refused such drops) is
    // found: every retrain fails the same way until the months come.
    const waiting =
      spec.task === 'forecast'
        ? inputsAfter(
            spec.time,
            held.map(({ drop }, i) => ({ name: drop.key, table: tables[i] })),
            gaps[0],
          )
        : [];
    const heldNote =
      waiting.length > 0 ? `; held-back drops waiting for them: ${firstItems(waiting, 5)}` : '';
    throw new InvalidDataError(
      `the merged series misses ${missingMonthsText(gaps)}${heldNote}; upload a drop with those months${again}`,
    );
  }
  // Sent from the columns' own memory: the dataset is never copied into one file-sized buffer.
  const { table } = merged;
  const stored = encodeTableParts({ table, rowHashes: rowHashes(spec, table) });
  const datasetKey = keys.dataset(run.model, run.runId);
  const heldThrough = held.at(-1)?.seq ?? baseline?.heldThrough ?? 0;
  const history: DatasetHistory = {
    window: merged.window,
    rowsMerged: merged.rowsMerged,
    outOfWindow: merged.outOfWindow,
    totalDrops: (await dropsMergedUpTo(run.bucket, run.model, baseline)) + drops.length,
  };
  const manifest: DropsManifest = {
    runId: run.runId,
    baseline: baseline && { runId: baseline.runId, datasetKey: baseline.datasetKey },
    drops,
    heldThrough,
    history,
  };
  const manifestKey = keys.datasetDrops(run.model, run.runId);
  await putJson(run.bucket, manifestKey, manifest);
  await putParts(run.bucket, datasetKey, stored, 'application/octet-stream');
  const result: MergeResult = {
    datasetKey,
    sha256: sha256(stored.parts),
    rows: table.rowCount,
    drops: { key: manifestKey, count: drops.length },
    baselineRunId: baseline?.runId,
    heldThrough,
    inputs: inputs.length,
    overlapping: merged.overlapping,
    duplicatesRemoved: merged.duplicatesRemoved,
    history,
  };
  // The run record says what the run trained on (`driftline runs`), the same on every attempt.
  await registry.updateRun(run.model, run.startedAt, run.runId, {
    dataset: { key: datasetKey, rows: result.rows, drops: result.drops, history },
  });
  logger.info('datasets merged', {
    rows: result.rows,
    inputs: inputs.length,
    drops: drops.length,
    outOfWindow: history.outOfWindow,
  });
  return result;
}

export const handler = pipelineStep(
  { name: 'merge', input: runInputSchema, registry, metrics: false },
  merge,
);
