import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { INVOKE_ON_START_METADATA, STATE_MACHINE_ENV } from '../../infra/recovery.ts';
import { allows, functionLogicalId, logicalIdOf, statementsOfFunction, synthDriftline } from './support.ts';

describe('Recovery', () => {
  const { stack, template } = synthDriftline();
  const recoverId = functionLogicalId(template, 'recover');
  const machineId = logicalIdOf(stack.pipeline.stateMachine);
  const statements = statementsOfFunction(template, 'recover');
  const machineName = `<${machineId}.Name>`;

  it('runs the recover function every 5 minutes with a schedule trigger', () => {
    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [recoverId, 'Arn'] },
          Input: JSON.stringify({ trigger: 'schedule' }),
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 2 }),
        }),
      ],
    });
  });

  it('names the state machine to the function and asks the local runtime to run it at start', () => {
    // Assess
    const fn = template.toJSON().Resources[recoverId];
    expect(fn.Properties.Environment.Variables[STATE_MACHINE_ENV]).toEqual({ Ref: machineId });
    expect(fn.Metadata[INVOKE_ON_START_METADATA]).toEqual({ trigger: 'start' });
  });

  it('may start executions of the retraining machine and describe its executions only', () => {
    // Prepare
    const execution = (machine: string) =>
      `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${machine}:run-1`;
    // Assess
    expect(allows(statements, 'states:StartExecution', `<${machineId}>`)).toBe(true);
    expect(allows(statements, 'states:DescribeExecution', execution(machineName))).toBe(true);
    expect(allows(statements, 'states:DescribeExecution', execution('OtherMachine'))).toBe(false);
    expect(allows(statements, 'states:StopExecution', execution(machineName))).toBe(false);
    expect(allows(statements, 'states:StartExecution', '<OtherMachine>')).toBe(false);
  });
});
