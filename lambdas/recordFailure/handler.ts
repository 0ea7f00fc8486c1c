/**
 * Catch-all of the state machine: marks the run failed with a reason a person can act on (bounded: the
 * first lines and how much was left out) and releases the model's run lease so the next run can start.
 * Production and the drop are left as they are; the state machine then fails with the same error and
 * reason.
 */
import { requiredEnv } from '../shared/config.ts';
import { logger, metrics, withObservability } from '../shared/observability.ts';
import { boundText, modelOfEvent, type RunContext, type TriggerEvent } from '../shared/pipeline.ts';
import { Registry } from '../shared/registry.ts';

const registry = new Registry(requiredEnv('REGISTRY_TABLE'));

export interface RecordFailureInput {
  /** The state when the error was caught: the run (once validate succeeded) or the triggering event. */
  input: {
    run?: RunContext;
    event?: { source?: string; detail?: { model?: string; object?: { key?: string } } };
    source?: string;
    detail?: { model?: string; object?: { key?: string } };
    error?: { Error?: string; Cause?: string };
  };
  runId: string;
  startedAt: string;
}

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

function modelOf(input: RecordFailureInput['input']): string | undefined {
  if (input.run) return input.run.model;
  const event = (input.event ?? input) as TriggerEvent;
  try {
    return modelOfEvent(event);
  } catch {
    return undefined;
  }
}

export async function recordFailure({ input, runId, startedAt }: RecordFailureInput) {
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

export const handler = withObservability(recordFailure);
