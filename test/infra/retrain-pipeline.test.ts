import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import type { App } from 'aws-cdk-lib';
import { Capture, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '#core/spec.ts';
import { shardCount } from '#core/training.ts';
import {
  type AslDefinition,
  PIPELINE_FUNCTION_KEYS as PIPELINE_FUNCTIONS,
  placeholderFor,
} from '../../infra/retrain-definition.ts';
import {
  LEASED_FROM_STATE,
  MAP_ITEM_LIMITS,
  runLeaseTiming,
  worstCaseSeconds,
} from '../../infra/retrain-pipeline.ts';
import {
  allows,
  arnOf,
  functionLogicalId,
  logicalIdOf,
  statementsOfRole,
  synthDriftline,
} from './support.ts';

/** The errors a Lambda task must retry: Lambda's own transient failures and the handlers' TransientError. */
const TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'TransientError',
];
interface AslState {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  MaxConcurrency?: number;
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number; BackoffRate?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  ItemProcessor?: { States: Record<string, AslState> };
}

/** Every state, nested ones included, with the Map state it runs inside (if any). */
function allStates(
  states: Record<string, AslState>,
  insideMap?: AslState,
): { name: string; state: AslState; insideMap?: AslState }[] {
  return Object.entries(states).flatMap(([name, state]) => [
    { name, state, insideMap },
    ...(state.ItemProcessor ? allStates(state.ItemProcessor.States, state) : []),
  ]);
}

const catchesToRecordFailure = (state: AslState) =>
  (state.Catch ?? []).some(
    (handler) => handler.ErrorEquals.includes('States.ALL') && handler.Next === 'RecordFailure',
  );

describe('RetrainPipeline', () => {
  const { stack, template } = synthDriftline();
  const resources = template.toJSON().Resources;
  const machineId = logicalIdOf(stack.pipeline.stateMachine);
  const machine = resources[machineId];
  const functionNameOf = (logicalId: string): string => resources[logicalId].Metadata['driftline:name'];
  const substitutions = machine.Properties.DefinitionSubstitutions as Record<
    string,
    { 'Fn::GetAtt': [string, 'Arn'] }
  >;

  // The definition exactly as deployed: the file asset the template points at, with the template's
  // substitutions applied (each function ARN rendered as a concrete ARN named after the function).
  const assetFile = join(
    (stack.node.root as App).outdir,
    `asset.${machine.Properties.DefinitionS3Location.Key}`,
  );
  const rawDefinition = readFileSync(assetFile, 'utf8');
  const definition = JSON.parse(
    rawDefinition.replace(/\$\{(\w+)\}/g, (_, placeholder: string) => {
      const [logicalId] = substitutions[placeholder]['Fn::GetAtt'];
      return `arn:aws:lambda:eu-west-1:123456789012:function:${functionNameOf(logicalId)}`;
    }),
  ) as { States: Record<string, AslState> };
  const states = allStates(definition.States);
  const tasks = states.filter(({ state }) => state.Type === 'Task');

  it('deploys the ASL file of statemachines/ unchanged', () => {
    // Assess
    expect(rawDefinition).toBe(readFileSync('statemachines/retrain.asl.json', 'utf8'));
  });

  it('fills every placeholder with the ARN of the function of the same name', () => {
    // Prepare
    const placeholders = new Set([...rawDefinition.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]));
    // Assess
    expect([...placeholders].sort()).toEqual(Object.keys(substitutions).sort());
    for (const [placeholder, arn] of Object.entries(substitutions)) {
      expect(placeholderFor(functionNameOf(arn['Fn::GetAtt'][0]))).toBe(placeholder);
    }
    expect(
      Object.keys(substitutions)
        .map((key) => functionNameOf(substitutions[key]['Fn::GetAtt'][0]))
        .sort(),
    ).toEqual([...PIPELINE_FUNCTIONS].sort());
  });

  it('is a valid Amazon States Language definition', () => {
    // Act
    const result = aslValidator(definition);
    // Assess
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('retries every task on the transient errors, with backoff', () => {
    // Assess
    expect(tasks.length).toBeGreaterThanOrEqual(PIPELINE_FUNCTIONS.length);
    for (const { name, state } of tasks) {
      const retry = state.Retry?.find((rule) =>
        TRANSIENT_ERRORS.every((error) => rule.ErrorEquals.includes(error)),
      );
      expect(retry, `${name} retries ${TRANSIENT_ERRORS.join(', ')}`).toBeDefined();
      expect(retry?.MaxAttempts, name).toBeGreaterThanOrEqual(2);
      expect(retry?.BackoffRate, name).toBeGreaterThanOrEqual(1);
    }
  });

  it('retries Lambda throttling on every task with backoff, at least 6 times, before any other retrier', () => {
    for (const { name, state } of tasks) {
      const first = state.Retry?.[0] as
        | { ErrorEquals: string[]; MaxAttempts?: number; BackoffRate?: number; IntervalSeconds?: number }
        | undefined;
      expect(first?.ErrorEquals, name).toEqual(['Lambda.TooManyRequestsException']);
      expect(first?.MaxAttempts, name).toBeGreaterThanOrEqual(6);
      expect(first?.BackoffRate, name).toBeGreaterThan(1);
      expect(first?.IntervalSeconds, name).toBeGreaterThanOrEqual(1);
    }
  });

  it('lets an execution run its worst-case path after a day of queueing for the run lease', () => {
    // Prepare
    const asl = definition as unknown as AslDefinition;
    // Act
    const worst = worstCaseSeconds(asl, LEASED_FROM_STATE);
    const { leaseSeconds, waitSeconds } = runLeaseTiming(asl);
    console.log(
      `worst-case run ${worst} s (${(worst / 3600).toFixed(1)} h), lease wait ${waitSeconds} s, execution timeout ${asl.TimeoutSeconds} s`,
    );
    // Assess
    expect(leaseSeconds).toBe(worst);
    expect(waitSeconds).toBeGreaterThanOrEqual(24 * 3600);
    expect(asl.TimeoutSeconds).toBeGreaterThanOrEqual(worst + waitSeconds);
    const admit = resources[functionLogicalId(template, 'admit')].Properties.Environment.Variables;
    expect(admit).toMatchObject({
      RUN_LEASE_SECONDS: String(leaseSeconds),
      RUN_LEASE_WAIT_SECONDS: String(waitSeconds),
    });
  });

  it('bounds each Map by the most items it can get: the spec allows 200 trials, the final fit 8 shards', () => {
    // Assess
    const spec = { name: 'm', task: 'classification', target: 'y' };
    expect(() =>
      parseSpec({ ...spec, search: { trials: MAP_ITEM_LIMITS.SearchHyperparameters } }),
    ).not.toThrow();
    expect(() =>
      parseSpec({ ...spec, search: { trials: MAP_ITEM_LIMITS.SearchHyperparameters + 1 } }),
    ).toThrow();
    expect(shardCount(10_000_000, 2_000)).toBe(MAP_ITEM_LIMITS.FitFinalModel);
  });

  it('sends every failure to RecordFailure, from the task itself or from its Map state', () => {
    // Assess
    for (const { name, state, insideMap } of tasks.filter((task) => task.name !== 'RecordFailure')) {
      const caught =
        catchesToRecordFailure(state) || (insideMap !== undefined && catchesToRecordFailure(insideMap));
      expect(caught, `${name} ends in RecordFailure on error`).toBe(true);
    }
  });

  it('never retries the errors retrying cannot help: a bad drop, an input outside the contract', () => {
    // Assess: no retrier names them or catches everything; the Catch above records them instead.
    for (const { name, state } of tasks) {
      for (const rule of state.Retry ?? []) {
        for (const error of ['StepInputError', 'InvalidDataError', 'States.ALL', 'States.TaskFailed']) {
          expect(rule.ErrorEquals, `${name} retries ${error}`).not.toContain(error);
        }
      }
    }
  });

  it('bounds the fan-out of every Map state', () => {
    // Prepare
    const maps = states.filter(({ state }) => state.Type === 'Map');
    // Assess
    expect(maps.map(({ name }) => name)).toEqual(['SearchHyperparameters', 'FitFinalModel']);
    for (const { name, state } of maps) {
      expect(Number.isInteger(state.MaxConcurrency) && (state.MaxConcurrency ?? 0) > 0, name).toBe(true);
    }
  });

  it('gives every task a timeout no shorter than its Lambda timeout, training and evaluation included', () => {
    // Prepare
    const lambdaTimeoutOf = (functionName: string): number =>
      resources[functionLogicalId(template, functionName)].Properties.Timeout;
    // Assess
    for (const { name, state } of tasks) {
      const fnName = state.Resource?.split(':function:')[1] ?? '';
      expect(state.TimeoutSeconds, name).toBeGreaterThanOrEqual(lambdaTimeoutOf(fnName));
    }
    const trainingAndEvaluation = tasks.filter(({ name }) =>
      ['TrainCandidate', 'TrainShard', 'Evaluate'].includes(name),
    );
    expect(trainingAndEvaluation.map(({ state }) => state.TimeoutSeconds)).toEqual([900, 900, 900]);
  });

  it('may invoke exactly the ten pipeline functions', () => {
    // Prepare
    const statements = statementsOfRole(template, machine.Properties.RoleArn['Fn::GetAtt'][0]);
    const all = Object.entries(template.findResources('AWS::Lambda::Function')).filter(
      ([, resource]) => resource.Metadata?.['driftline:name'] !== undefined,
    );
    // Act
    const invocable = all
      .filter(([id]) => allows(statements, 'lambda:InvokeFunction', arnOf(id)))
      .map(([, resource]) => resource.Metadata['driftline:name']);
    // Assess
    expect(invocable.sort()).toEqual([...PIPELINE_FUNCTIONS].sort());
  });

  it('logs every execution event without payloads, and traces with X-Ray', () => {
    // Assess
    expect(machine.Properties.LoggingConfiguration).toMatchObject({
      Level: 'ALL',
      IncludeExecutionData: false,
    });
    expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    const logGroupId =
      machine.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn[
        'Fn::GetAtt'
      ][0];
    expect(resources[logGroupId].Properties.LogGroupName).toBe('/aws/vendedlogs/states/Driftline-retrain');
  });

  it('starts a run for objects created under incoming/ of the data bucket, with retries and a dead-letter queue', () => {
    // Prepare
    const bucketId = logicalIdOf(stack.data.bucket);
    const queueId = logicalIdOf(stack.pipeline.deadLetterQueue);
    const targetRole = new Capture();
    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [{ Ref: bucketId }] }, object: { key: [{ prefix: 'incoming/' }] } },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: machineId },
          RoleArn: { 'Fn::GetAtt': [targetRole, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21600 },
        }),
      ],
    });
    expect(
      allows(statementsOfRole(template, targetRole.asString()), 'states:StartExecution', `<${machineId}>`),
    ).toBe(true);
  });

  it('sends executions that stopped without succeeding to runEnded, with retries and the dead-letter queue', () => {
    // Prepare
    const queueId = logicalIdOf(stack.pipeline.deadLetterQueue);
    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [{ Ref: machineId }], status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionLogicalId(template, 'runEnded'), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21600 },
        }),
      ],
    });
  });

  it('keeps undeliverable trigger events in an encrypted, TLS-only queue that EventBridge may write to', () => {
    // Prepare
    const queueId = logicalIdOf(stack.pipeline.deadLetterQueue);
    // Assess
    expect(resources[queueId].Properties.SqsManagedSseEnabled).toBe(true);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
          }),
        ]),
      },
    });
  });

  it('schedules retraining for models whose spec has a schedule, and only those', () => {
    // Prepare
    const scheduled = template.findResources('AWS::Events::Rule', {
      Properties: { ScheduleExpression: Match.anyValue() },
    });
    const retrainSchedules = Object.values(scheduled).filter((rule) =>
      rule.Properties.Targets.some((target: { Arn: unknown }) =>
        JSON.stringify(target.Arn).includes(machineId),
      ),
    );
    // Assess
    expect(retrainSchedules).toHaveLength(1);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(7 days)',
      Targets: [
        Match.objectLike({
          Arn: { Ref: machineId },
          Input: JSON.stringify({ source: 'driftline.schedule', detail: { model: 'air-passengers' } }),
        }),
      ],
    });
  });
});
