/**
 * A model's data lineage: the manifest the merge step writes next to each dataset
 * (`datasets/<model>/<run>.drops.json`) lists the drops that run merged and names the baseline dataset it
 * extended. Walked back from a dataset to the model's first, the manifests list every drop ever merged
 * into it, those whose rows the history window has since left out included.
 */
import type { DatasetHistory } from '../core/merge.ts';
import type { DropRef } from './registry.ts';
import { keys } from './storage.ts';

/** The lineage manifest a merge writes to {@link keys.datasetDrops}. */
export interface DropsManifest {
  runId: string;
  /** The baseline dataset merged into (absent for a model's first dataset). */
  baseline?: { runId: string; datasetKey: string };
  /** Every drop merged, held-back ones first, then the run's own. */
  drops: DropRef[];
  heldThrough: number;
  /**
   * The window the dataset was cut to, what it left out, and how many drops its lineage holds in all
   * (absent on manifests written before datasets had a history window).
   */
  history?: DatasetHistory;
}

/**
 * The manifests of a model's datasets from the one run `runId` wrote back to the first, newest first,
 * read one at a time (a caller that has what it needs stops early).
 * @param read fetches a manifest by key: the handlers' `getJson`, or the CLI's own S3 client.
 * @throws {Error} when a manifest names a baseline already walked (a corrupt chain would never end).
 * @example for await (const manifest of lineageFrom('air', baseline.runId, (key) => getJson(bucket, key))) …
 */
export async function* lineageFrom(
  model: string,
  runId: string | undefined,
  read: (key: string) => Promise<DropsManifest>,
): AsyncGenerator<DropsManifest> {
  const seen = new Set<string>();
  for (let next = runId; next !== undefined; ) {
    if (seen.has(next)) throw new Error(`the lineage of "${model}" loops back to run ${next}`);
    seen.add(next);
    const manifest = await read(keys.datasetDrops(model, next));
    yield manifest;
    next = manifest.baseline?.runId;
  }
}
