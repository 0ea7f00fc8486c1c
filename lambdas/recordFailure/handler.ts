/**
 * Catch-all of the state machine: marks the run failed with a reason a person can act on (bounded: the
 * first lines and how much was left out) and releases the model's run lease so the next run can start.
 * Production and the drop are left as they are; the state machine then fails with the same error and
 * reason.
 */
import { requiredEnv } from '../shared/config.ts';
import {
  type Failure,
  type RecordFailureInput,
  recordFailureInputSchema,
  stepInput,
  triggerEventSchema,
} from '../shared/contract.ts';
import { logger, metrics, withObservability } from '../shared/observability.ts';
import { boundText, modelOfEvent } from '../shared/pipeline.ts';
import { Registry } from '../shared/registry.ts';

const registry = new Registry({ runs: requiredEnv('RUNS_TABLE') });

/** Step Functions wraps a Lambda error's message in a JSON `Cause`; unwrap it to the message itself. */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no cause was reported';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

/** The run's model: from the run once validate opened it, else from the trigger event (if it names one). */
function modelOf(input: RecordFailureInput['input']): string | undefined {
  if (input.run) return input.run.model;
  const event = triggerEventSchema.safeParse(input.event ?? input);
  if (!event.success) return undefined;
  try {
    return modelOfEvent(event.data);
  } catch {
    return undefined;
  }
}

export async function recordFailure({ input, runId, startedAt }: RecordFailureInput): Promise<Failure> {
  const error = input.error?.Error ?? 'Error';
  const message = causeMessage(input.error?.Cause);
  const model = modelOf(input);
  const run = model ? await registry.getRun(model, startedAt, runId) : undefined;
  const step = run?.step ?? 'validate';
  const reason = boundText(`${step} failed (${error}): ${message}`);
  if (model) {
    await registry.updateRun(model, startedAt, runId, {
      model,
      runId,
      startedAt,
      trigger: run?.trigger ?? 'drop',
      status: 'failed',
      outcome: 'failed',
      failure: { error, reason },
      finishedAt: new Date().toISOString(),
    });
    await registry.releaseLease(model, runId);
    metrics.addDimension('model', model);
  }
  metrics.addMetric('RunsFailed', 'Count', 1);
  logger.warn('run failed', { model, runId, error, reason });
  return { error, reason };
}

export const handler = withObservability(recordFailure).use(
  stepInput('recordFailure', recordFailureInputSchema),
);
