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
});
