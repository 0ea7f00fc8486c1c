import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { flattenReference } from '../../infra/nag.ts';
import { fromProjectRoot } from '../../infra/project.ts';
import { functionLogicalId, logicalIdOf, synthDriftline } from './support.ts';

const FUNCTIONS = [
  'admit',
  'validate',
  'drift',
  'merge',
  'featurize',
  'train',
  'select',
  'evaluate',
  'register',
  'recordFailure',
  'runEnded',
  'recover',
  'predict',
  'feedback',
  'models',
  'pages',
  'rollback',
  'promote',
  'registerSpec',
];

describe('DriftlineStack', () => {
  const { stack, template } = synthDriftline();
  const resources = template.toJSON().Resources;

  it('publishes what the CLI needs as outputs', () => {
    // Prepare
    const outputs = template.toJSON().Outputs;
    const value = (key: string) => outputs[key]?.Value;
    // Assess
    expect(value('BucketName')).toEqual({ Ref: logicalIdOf(stack.data.bucket) });
    expect(value('RegistryTableName')).toEqual({ Ref: logicalIdOf(stack.registry.table) });
    expect(value('RunsTableName')).toEqual({ Ref: logicalIdOf(stack.registry.runs) });
    expect(value('PredictionLogTableName')).toEqual({ Ref: logicalIdOf(stack.registry.predictionLog) });
    expect(value('StateMachineArn')).toEqual({ Ref: logicalIdOf(stack.pipeline.stateMachine) });
    expect(value('AlertsTopicArn')).toEqual({ Ref: logicalIdOf(stack.monitoring.alertsTopic) });
    expect(value('RollbackFunctionName')).toEqual({ Ref: functionLogicalId(template, 'rollback') });
    expect(value('PromoteFunctionName')).toEqual({ Ref: functionLogicalId(template, 'promote') });
    expect(value('RegisterSpecFunctionName')).toEqual({ Ref: functionLogicalId(template, 'registerSpec') });
    expect(flattenReference(value('ApiUrl'))).toBe(
      `https://<${logicalIdOf(stack.api.api)}>.execute-api.<AWS::Region>.<AWS::URLSuffix>/<${logicalIdOf(stack.api.api.deploymentStage)}>/`,
    );
  });

  it("lets the CLI's operators start a retrain of the state machine, and nothing more of it", () => {
    // Prepare
    const [operator] = Object.values(template.findResources('AWS::IAM::ManagedPolicy')).filter((policy) =>
      String(policy.Properties.Description).includes('the CLI'),
    );
    const statements = operator.Properties.PolicyDocument.Statement as {
      Action: unknown;
      Resource: unknown;
    }[];
    // Assess
    expect(statements.filter((statement) => String(statement.Action).startsWith('states:'))).toEqual([
      expect.objectContaining({
        Action: 'states:StartExecution',
        Resource: { Ref: logicalIdOf(stack.pipeline.stateMachine) },
      }),
    ]);
  });

  it('has one function per handler folder, each pointing the local runtime at an existing handler file', () => {
    // Prepare
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (resource) => resource.Metadata?.['driftline:name'] !== undefined,
    );
    // Assess
    expect(functions.map((resource) => resource.Metadata['driftline:name']).sort()).toEqual(
      [...FUNCTIONS].sort(),
    );
    for (const { Metadata } of functions) {
      expect(Metadata['driftline:entry']).toBe(`lambdas/${Metadata['driftline:name']}/handler.ts`);
      expect(existsSync(fromProjectRoot(Metadata['driftline:entry']))).toBe(true);
    }
  });

  it('gives train the most memory (vCPUs) and the 15-minute limit, and predict room under API Gateway’s 29 s', () => {
    // Prepare
    const props = (name: string) => resources[functionLogicalId(template, name)].Properties;
    // Assess
    expect(props('train')).toMatchObject({ MemorySize: 3008, Timeout: 900 });
    expect(props('predict').Timeout).toBeLessThan(29);
    const memories = FUNCTIONS.map((name) => props(name).MemorySize as number);
    expect(Math.max(...memories)).toBe(3008);
  });

  it('hard-codes no physical name, so two stacks can share an account and region', () => {
    // Prepare
    const nameProperties: Record<string, string> = {
      'AWS::S3::Bucket': 'BucketName',
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::IAM::Role': 'RoleName',
      'AWS::SNS::Topic': 'TopicName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::StepFunctions::StateMachine': 'StateMachineName',
    };
    // Act
    const named = Object.entries(resources as Record<string, { Type: string; Properties?: object }>).filter(
      ([, resource]) =>
        nameProperties[resource.Type] !== undefined &&
        (resource.Properties as Record<string, unknown> | undefined)?.[nameProperties[resource.Type]] !==
          undefined,
    );
    // Assess
    expect(named.map(([id]) => id)).toEqual([]);
  });

  it('derives every name it does set from the stack name', () => {
    // Prepare
    const alarmNames = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties.AlarmName,
    );
    const dashboardNames = Object.values(template.findResources('AWS::CloudWatch::Dashboard')).map(
      (dashboard) => dashboard.Properties.DashboardName,
    );
    // Assess
    expect(alarmNames.every((name) => name.startsWith('Driftline/'))).toBe(true);
    expect(dashboardNames.every((name) => name.startsWith('Driftline-'))).toBe(true);
  });
});
