/**
 * runEnded against the emulators: a stopped execution whose run `recordFailure` already recorded is left
 * as it is, even when the status-change event's start time is a few milliseconds off the run's key (the
 * local interpreter stamps its own Context StartTime), and never becomes a second record of the same run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import { lambda, prepareHandlerEnvironment } from '../support/pipeline-steps.ts';

const TABLE = 'driftline-run-ended-registry';
const MODEL = 'air-passengers';
let emulators: TestEmulators;
let registry: Registry;
let runEnded: (event: unknown) => Promise<{ recorded: boolean }>;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({
    bucket: 'driftline-run-ended-data',
    table: TABLE,
    logTable: 'driftline-run-ended-predictions',
  });
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  runEnded = lambda(await import('../../lambdas/runEnded/handler.ts'));
});

afterAll(async () => emulators?.close());

const statusChange = (runId: string, startDate: number, status: string) => ({
  source: 'aws.states',
  detail: {
    executionArn: `arn:aws:states:us-east-1:000000000000:execution:retrain:${runId}`,
    name: runId,
    status,
    startDate,
    stopDate: startDate + 900,
    input: JSON.stringify({ source: 'driftline.retrain', detail: { model: MODEL } }),
    error: 'InvalidDataError',
    cause: 'validate failed',
  },
});

describe('runEnded', () => {
  it('leaves a run recordFailure recorded as it is, though the event starts a few ms off its key', async () => {
    // Prepare: the run as recordFailure left it, keyed by the interpreter's StartTime.
    const startedAt = '2026-12-04T10:00:00.003Z';
    await registry.updateRun(MODEL, startedAt, 'run-a', {
      model: MODEL,
      runId: 'run-a',
      startedAt,
      trigger: 'drop',
      status: 'failed',
      outcome: 'failed',
      failure: { error: 'InvalidDataError', reason: 'validate failed (InvalidDataError): line 2' },
    });
    // Act: the execution's startDate is 3 ms before the run's key.
    const answer = await runEnded(statusChange('run-a', Date.parse('2026-12-04T10:00:00.000Z'), 'FAILED'));
    // Assess
    expect(answer.recorded).toBe(false);
    const runs = (await registry.listRuns(MODEL, 50)).filter((run) => run.runId === 'run-a');
    expect(runs).toHaveLength(1);
    expect(runs[0].failure?.reason).toBe('validate failed (InvalidDataError): line 2');
  });

  it('records a run that no step could record as failed, once', async () => {
    // Act: the same event delivered twice (EventBridge is at least once).
    const event = statusChange('run-b', Date.parse('2026-12-04T11:00:00.000Z'), 'TIMED_OUT');
    const first = await runEnded(event);
    const second = await runEnded(event);
    // Assess
    expect([first.recorded, second.recorded]).toEqual([true, false]);
    const runs = (await registry.listRuns(MODEL, 50)).filter((run) => run.runId === 'run-b');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'failed', startedAt: '2026-12-04T11:00:00.000Z' });
  });

  it('keeps an aborted run failed when a step still in flight writes after it was recorded', async () => {
    // Prepare: admit opened the run; then the execution was stopped and runEnded recorded it. Step
    // Functions does not stop the Lambda in flight (validate here), which writes after: under load,
    // test/e2e/runs.test.ts saw the aborted run end 'running' for good.
    const startedAt = '2026-12-04T12:00:00.000Z';
    const run = { model: MODEL, startedAt, runId: 'run-c', bucket: 'b', trigger: 'drop' } as const;
    await registry.updateRun(MODEL, startedAt, 'run-c', { ...run, status: 'running', step: 'validate' });
    expect((await runEnded(statusChange('run-c', Date.parse(startedAt), 'ABORTED'))).recorded).toBe(true);
    const { markStep } = await import('../../lambdas/shared/pipeline.ts');
    const { RunEndedError } = await import('../../lambdas/shared/errors.ts');
    // Act: what the late steps write: validate opening the run, the next step's mark, register's end
    const opened = await registry.startRun({ ...run, status: 'running', step: 'validate' });
    const marked = await markStep(registry, run as never, 'merge').catch((error: unknown) => error);
    const ended = await registry.updateRun(MODEL, startedAt, 'run-c', { status: 'succeeded', step: 'done' });
    // ...and what may still land on an ended run: a field that says what a step found, the same end again
    const annotated = await registry.updateRun(MODEL, startedAt, 'run-c', { heldSeq: 7 });
    const again = await registry.updateRun(MODEL, startedAt, 'run-c', {
      status: 'failed',
      outcome: 'failed',
    });
    // Assess
    expect(marked).toBeInstanceOf(RunEndedError);
    expect([opened, ended, annotated, again]).toEqual([false, false, true, true]);
    expect(await registry.getRun(MODEL, startedAt, 'run-c')).toMatchObject({
      status: 'failed',
      step: 'validate',
      heldSeq: 7,
      outcome: 'failed',
    });
  });
});
