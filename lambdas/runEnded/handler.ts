/**
 * Receives Step Functions' "Execution Status Change" events for executions that stopped without
 * succeeding. A run that timed out, was aborted, or failed where no Catch could record it (an execution
 * timeout, `States.DataLimitExceeded`) is still `running` in the registry: this marks it failed with the
 * reason, and releases the model's run lease it may hold, so the next run does not wait for the lease to
 * expire. A run `recordFailure` already recorded is left as it is (events are delivered at least once).
 */
import { requiredEnv } from '../shared/config.ts';
import {
  type ExecutionStatusChange,
  executionStatusChangeSchema,
  stepInput,
  triggerEventSchema,
} from '../shared/contract.ts';
import { logger, metrics, withObservability } from '../shared/observability.ts';
import { boundText, modelOfEvent } from '../shared/pipeline.ts';
import { Registry } from '../shared/registry.ts';

const registry = new Registry({ runs: requiredEnv('RUNS_TABLE') });

const WHY: Record<string, string> = {
  TIMED_OUT: 'the execution ran past its timeout',
  ABORTED: 'the execution was stopped',
  FAILED: 'the execution failed',
};

/** The model of the execution's trigger event, or undefined when the input names none. */
function modelOfInput(input: string | null | undefined): string | undefined {
  try {
    return modelOfEvent(triggerEventSchema.parse(JSON.parse(input ?? '')));
  } catch {
    return undefined;
  }
}

export async function runEnded(event: ExecutionStatusChange) {
  const { name: runId, status, startDate, input, error, cause } = event.detail;
  if (status === 'RUNNING' || status === 'SUCCEEDED') return { recorded: false };
  const model = modelOfInput(input);
  logger.appendKeys({ model, runId });
  if (!model) {
    logger.warn('stopped execution names no model; nothing to record', { status });
    return { recorded: false };
  }
  // The run is keyed by the execution's start time, as the Context Object gives it to the steps. The local
  // interpreter (aws-local-stepfunctions) stamps its own Context StartTime, which can be a few milliseconds
  // after the execution's startDate, so a run missed under the exact key is looked for by its id among the
  // model's latest runs before one is recorded (never a second record of the same run).
  const exact = await registry.getRun(model, new Date(startDate).toISOString(), runId);
  const run = exact ?? (await registry.listRuns(model, 50)).find((candidate) => candidate.runId === runId);
  const startedAt = run?.startedAt ?? new Date(startDate).toISOString();
  let recorded = false;
  if (run === undefined || run.status === 'running') {
    const errorName = error ?? (status === 'TIMED_OUT' ? 'States.Timeout' : 'States.Aborted');
    const reason = boundText(
      `${run?.step ?? 'the run'} did not finish: ${WHY[status]} (${errorName})${cause ? `: ${cause}` : ''}`,
    );
    await registry.updateRun(model, startedAt, runId, {
      model,
      runId,
      startedAt,
      trigger: run?.trigger ?? 'drop',
      status: 'failed',
      outcome: 'failed',
      failure: { error: errorName, reason },
      finishedAt: new Date(event.detail.stopDate ?? Date.now()).toISOString(),
    });
    metrics.addDimension('model', model);
    metrics.addMetric('RunsFailed', 'Count', 1);
    logger.warn('run ended without recording its outcome; recorded as failed', { status, reason });
    recorded = true;
  }
  const released = await registry.releaseLease(model, runId);
  return { recorded, released };
}

export const handler = withObservability(runEnded).use(stepInput('runEnded', executionStatusChangeSchema));
