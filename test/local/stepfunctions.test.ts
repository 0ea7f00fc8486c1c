import { describe, expect, it } from 'vitest';
import type { InvokeResult } from '../../local/functions.ts';
import type { LogSink } from '../../local/log.ts';
import {
  type InvokeFn,
  StepFunctions,
  StepFunctionsError,
  UnsupportedDefinitionError,
  walkStates,
  withTaskTimeouts,
} from '../../local/stepfunctions.ts';
import type { LocalStateMachine } from '../../local/template.ts';

const arn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
const machineArn = 'arn:aws:states:us-east-1:000000000000:stateMachine:Test-Machine';

function machine(definition: Record<string, unknown>): LocalStateMachine {
  return { logicalId: 'Machine', name: 'Test-Machine', arn: machineArn, label: 'pipeline', definition };
}

const ok = (payload: unknown): InvokeResult => ({
  ok: true,
  payload: JSON.stringify(payload),
  requestId: 'r',
  functionName: 'f',
  durationMs: 1,
  coldStart: false,
  logs: [],
  maxMemoryUsedMb: 1,
});
const failed = (errorType: string, errorMessage: string): InvokeResult => ({
  ok: false,
  error: { errorType, errorMessage, trace: [`${errorType}: ${errorMessage}`] },
  requestId: 'r',
  functionName: 'f',
  durationMs: 1,
  coldStart: false,
  logs: [],
  maxMemoryUsedMb: 1,
});

function recordingLog(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, line: (source, text) => lines.push(`[${source}] ${text}`) };
}

const definition = {
  StartAt: 'Validate',
  States: {
    Validate: {
      Type: 'Task',
      Resource: arn('validate'),
      Parameters: { 'event.$': '$', 'runId.$': '$$.Execution.Name', 'machine.$': '$$.StateMachine.Name' },
      Retry: [{ ErrorEquals: ['TransientError'], IntervalSeconds: 3600, MaxAttempts: 2 }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }],
      Next: 'Fan',
    },
    Fan: {
      Type: 'Map',
      ItemsPath: '$.items',
      ItemProcessor: {
        StartAt: 'Square',
        States: { Square: { Type: 'Task', Resource: arn('square'), End: true } },
      },
      ResultPath: '$.squares',
      Next: 'Done',
    },
    Done: { Type: 'Succeed' },
    RecordFailure: { Type: 'Task', Resource: arn('record'), ResultPath: '$.failure', Next: 'Failed' },
    Failed: { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.failure.reason' },
  },
};

describe('walkStates', () => {
  it('visits nested states of Map item processors and Parallel branches', () => {
    const names = walkStates({
      States: {
        A: { Type: 'Map', ItemProcessor: { States: { B: { Type: 'Task' } } } },
        P: {
          Type: 'Parallel',
          Branches: [{ States: { C: { Type: 'Pass' } } }, { States: { D: { Type: 'Pass' } } }],
        },
      },
    }).map((s) => s.name);
    expect(names).toEqual(['A', 'B', 'P', 'C', 'D']);
  });
});

describe('withTaskTimeouts', () => {
  it('lets a Task without TimeoutSeconds wait for its function, as on AWS, and keeps explicit timeouts', () => {
    // The interpreter would give such a task 60 s; a 15-minute training Lambda must not be cut short.
    const copy = withTaskTimeouts(definition) as typeof definition;
    const task = (name: keyof typeof definition.States) => copy.States[name] as { TimeoutSeconds?: number };

    expect(task('Validate').TimeoutSeconds).toBeGreaterThan(20 * 24 * 3600);
    expect(
      (copy.States.Fan.ItemProcessor.States.Square as { TimeoutSeconds?: number }).TimeoutSeconds,
    ).toBeGreaterThan(60);
    expect(withTaskTimeouts({ States: { T: { Type: 'Task', TimeoutSeconds: 5 } } })).toEqual({
      States: { T: { Type: 'Task', TimeoutSeconds: 5 } },
    });
    expect((definition.States.Validate as { TimeoutSeconds?: number }).TimeoutSeconds).toBeUndefined();
  });
});

describe('StepFunctions', () => {
  it('binds every Task (also inside a Map) to its function and passes a real Context Object', async () => {
    // Prepare
    const calls: { fn: string; payload: unknown }[] = [];
    const invoke: InvokeFn = async (fn, payload) => {
      calls.push({ fn, payload });
      if (fn === arn('validate')) return ok({ items: [2, 3] });
      return ok((payload as number) ** 2);
    };
    const sfn = new StepFunctions({ machines: [machine(definition)], invoke, log: recordingLog() });

    // Act
    const started = sfn.start({ drop: 'v1.csv' }, { name: 'run-1' });
    const done = await sfn.wait('run-1');

    // Assess
    expect(started.executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:Test-Machine:run-1');
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toEqual({ items: [2, 3], squares: [4, 9] });
    expect(calls[0]).toEqual({
      fn: arn('validate'),
      payload: { event: { drop: 'v1.csv' }, runId: 'run-1', machine: 'Test-Machine' },
    });
    expect(calls.filter((c) => c.fn === arn('square')).map((c) => c.payload)).toEqual([2, 3]);
    expect(done.history.map((e) => e.type)).toContain('MapIterationSucceeded');
  });

  it('names a task error after the error type, so Retry and Catch match it, with the payload as cause', async () => {
    // Prepare: a transient failure, then a business failure.
    const attempts: string[] = [];
    const invoke: InvokeFn = async (fn, payload) => {
      if (fn === arn('validate')) {
        attempts.push('validate');
        return attempts.length === 1
          ? failed('TransientError', 'throttled')
          : failed('InvalidDataError', 'no rows');
      }
      const { error } = payload as { error: { Error: string; Cause: string } };
      return ok({
        reason: (JSON.parse(error.Cause) as { errorMessage: string }).errorMessage,
        seen: error.Error,
      });
    };
    const log = recordingLog();
    const sfn = new StepFunctions({ machines: [machine(definition)], invoke, log, retryIntervalMs: 5 });

    // Act: an unshortened retry would wait an hour, far past this test's timeout; no clock is read here.
    const done = await sfn.wait(sfn.start({}).name);

    // Assess: retried once (an hour shortened to 5 ms), then caught and failed with the handler's message.
    expect(attempts).toHaveLength(2);
    expect(done).toMatchObject({ status: 'FAILED', error: 'InvalidDataError', cause: 'no rows' });
    expect(done.output).toBeUndefined();
    const prefix = `[pipeline ${done.name.slice(0, 8)}]`;
    expect(log.lines).toEqual([
      `${prefix} started`,
      `${prefix} → Validate`,
      `${prefix} ✗ Validate TransientError: throttled`,
      `${prefix} ↻ Validate retry 1`,
      `${prefix} ✗ Validate InvalidDataError: no rows`,
      `${prefix} ⤷ Validate caught → RecordFailure`,
      `${prefix} → RecordFailure`,
      expect.stringMatching(new RegExp(`^\\${prefix} ✓ RecordFailure \\d+ ms$`)),
      `${prefix} ✗ Failed InvalidDataError: no rows`,
      expect.stringMatching(new RegExp(`^\\${prefix} FAILED in \\d+ ms InvalidDataError: no rows$`)),
    ]);
  });

  it('supports the lambda:invoke integration with its result shape', async () => {
    const sfn = new StepFunctions({
      machines: [
        machine({
          StartAt: 'Call',
          States: {
            Call: {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke',
              Parameters: { FunctionName: arn('f'), 'Payload.$': '$' },
              OutputPath: '$.Payload',
              End: true,
            },
          },
        }),
      ],
      invoke: async (_, payload) => ok({ echoed: payload }),
      log: recordingLog(),
    });

    const done = await sfn.wait(sfn.start({ a: 1 }).name);

    expect(done.output).toEqual({ echoed: { a: 1 } });
  });

  it('fails a state whose result exceeds the 256 KB state limit', async () => {
    const sfn = new StepFunctions({
      machines: [
        machine({ StartAt: 'Big', States: { Big: { Type: 'Task', Resource: arn('big'), End: true } } }),
      ],
      invoke: async () => ok('x'.repeat(300 * 1024)),
      log: recordingLog(),
    });

    const done = await sfn.wait(sfn.start({}).name);

    expect(done).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
  });

  it('keeps an execution table: list, describe, duplicate names, waiting for a start', async () => {
    const sfn = new StepFunctions({
      machines: [machine({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } })],
      invoke: async () => ok(null),
      log: recordingLog(),
    });

    const next = sfn.waitForStart((e) => e.name === 'second');
    sfn.start({ n: 1 }, { name: 'first' });
    sfn.start({ n: 2 }, { name: 'second' });
    await sfn.wait('first');
    await sfn.wait('second');

    expect((await next).input).toEqual({ n: 2 });
    expect(
      sfn
        .list({ status: 'SUCCEEDED' })
        .map((e) => e.name)
        .sort(),
    ).toEqual(['first', 'second']);
    expect(sfn.describe('first').stopDate).toBeInstanceOf(Date);
    expect(() => sfn.start({}, { name: 'first' })).toThrow(StepFunctionsError);
    expect(() => sfn.describe('nope')).toThrow('Execution does not exist');
    expect(() => sfn.start({}, { name: 'bad name' })).toThrow('not a valid execution name');
  });

  it('refuses definitions with tasks other than Lambda', () => {
    const sns = machine({
      StartAt: 'Notify',
      States: { Notify: { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', End: true } },
    });
    expect(
      () => new StepFunctions({ machines: [sns], invoke: async () => ok(null), log: recordingLog() }),
    ).toThrow(UnsupportedDefinitionError);
  });
});
