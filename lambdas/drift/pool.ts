/**
 * The drift pool: the drops held back since the last drift test, judged together with the new drop. A
 * monthly feed sends drops far smaller than the drift guard's minimum (`drift.minRows`); tested one by one
 * each would be `insufficient_data` for ever, and nothing would retrain on drift. Pooled, a stream of small
 * drops is tested once its combined size passes the guard, and a pool that was tested is not tested again
 * (a new pool starts after it), so no drop is judged twice.
 */
import type { DropRef, HeldBackDrop, Registry, RunRecord } from '../shared/registry.ts';

/** A drift verdict that came from a test (rather than from too little data). */
function tested(run: RunRecord | undefined): boolean {
  const status = run?.drift?.status;
  return status === 'drift' || status === 'no_drift';
}

const sameDrop = (a: DropRef, b: DropRef) => a.bucket === b.bucket && a.key === b.key && a.etag === b.etag;

/**
 * The held-back drops not yet judged by a drift test, oldest first: of `held` (every held-back drop, oldest
 * first, as `loadHeldBackDrops` reads them), those held after the last one whose own run tested (its pool
 * ended with it).
 */
export async function driftPool(
  registry: Registry,
  model: string,
  held: HeldBackDrop[],
): Promise<HeldBackDrop[]> {
  if (held.length === 0) return [];
  // The runs that held these drops are among the latest: one per drop, plus retries and failed runs.
  const runs = await registry.listRuns(model, 2 * held.length + 50);
  const runOf = (entry: HeldBackDrop) => runs.find((run) => run.drop && sameDrop(run.drop, entry.drop));
  let start = 0;
  held.forEach((entry, index) => {
    if (tested(runOf(entry))) start = index + 1;
  });
  return held.slice(start);
}
