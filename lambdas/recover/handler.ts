/**
 * Recovery without a person, on a schedule (and locally when the runtime starts): runs whose execution no
 * longer runs are marked `interrupted` with the reason, their drops are kept where the run put them or
 * handed to a new run, and drops under `incoming/` that no run claimed (their event was lost) get a run
 * (`shared/recovery.ts`). A candidate an interrupted run left in `staging` is superseded by the bake
 * schedule (the `promote` function, which may write what serves; this function may not).
 */
import * as z from 'zod';
import { requiredEnv } from '../shared/config.ts';
import { emitMetrics, logger, withObservability } from '../shared/observability.ts';
import { listDrops, type Recovered, Recovery, stepFunctionsExecutions } from '../shared/recovery.ts';
import { Registry } from '../shared/registry.ts';

const registry = new Registry({
  registry: requiredEnv('REGISTRY_TABLE'),
  runs: requiredEnv('RUNS_TABLE'),
});
const bucket = requiredEnv('DATA_BUCKET');
const recovery = new Recovery(registry, bucket, stepFunctionsExecutions(requiredEnv('STATE_MACHINE_ARN')));

/**
 * On the schedule, a drop younger than this may still have its event on the way (EventBridge delivers in
 * seconds, retries for hours): it is left to its event. Starting it anyway would be harmless (its claim
 * decides), only noisy. At start-up nothing is on the way.
 */
const SCHEDULED_GRACE_MS = 120_000;

const recoverEvent = z.looseObject({ trigger: z.enum(['start', 'schedule']).default('schedule') });
export type RecoverEvent = z.input<typeof recoverEvent>;
export type { Recovered };

/** Recovers every registered model at time `now` (injected by tests). */
export async function recover(event: RecoverEvent = {}, now = new Date()): Promise<Recovered> {
  const { trigger } = recoverEvent.parse(event ?? {});
  const cutoff = now.getTime() - (trigger === 'start' ? 0 : SCHEDULED_GRACE_MS);
  const recovered: Recovered = { interrupted: [], started: [] };
  const drops = await listDrops(bucket);
  for (const model of await registry.listModels()) {
    const settled = (drops.get(model) ?? []).filter(
      (object) => (object.LastModified?.getTime() ?? 0) <= cutoff,
    );
    const { interrupted, started } = await recovery.recoverModel(model, settled, now);
    recovered.interrupted.push(...interrupted);
    recovered.started.push(...started);
    if (interrupted.length + started.length > 0) {
      logger.info('recovered', { model, interrupted, started });
      emitMetrics({ model }, [['model']], {
        RunsInterrupted: { unit: 'Count', value: interrupted.length },
        DropsRestarted: { unit: 'Count', value: started.length },
      });
    }
  }
  return recovered;
}

export const handler = withObservability((event: RecoverEvent) => recover(event), { metrics: false });
