import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { DriftlineFunction } from '../../infra/driftline-function.ts';
import { allows, arnOf, statementsOfFunction, testApp } from './support.ts';

/** A stack with one bucket, two tables, a topic and functions bound to them in each way there is. */
function synthFunctions() {
  const stack = new Stack(testApp(), 'Test');
  const bucket = new Bucket(stack, 'Bucket');
  const registry = new Table(stack, 'Registry', { partitionKey: { name: 'PK', type: AttributeType.STRING } });
  const log = new Table(stack, 'Log', { partitionKey: { name: 'id', type: AttributeType.STRING } });
  const topic = new Topic(stack, 'Topic');
  new DriftlineFunction(stack, 'drift', { name: 'drift', memorySize: 1024, timeout: Duration.minutes(2) })
    .bindBucket(bucket, { read: ['incoming/*', 'datasets/*'], write: ['runs/*'] })
    .bindTable(registry, ['GetItem', 'Query'], 'REGISTRY_TABLE');
  new DriftlineFunction(stack, 'train', {
    name: 'train',
    memorySize: 3008,
    timeout: Duration.minutes(15),
    workerScripts: [
      {
        entry: 'lambdas/core/forest/worker.ts',
        outFile: 'forest-worker.mjs',
        envName: 'FOREST_WORKER_SCRIPT',
      },
    ],
  });
  new DriftlineFunction(stack, 'predict', {
    name: 'predict',
    memorySize: 1769,
    timeout: Duration.seconds(20),
  })
    .bindTable(registry, ['GetItem', 'UpdateItem'], 'REGISTRY_TABLE')
    .bindTable(log, ['PutItem'], 'PREDICTION_LOG_TABLE')
    .bindTopic(topic, 'ALERTS_TOPIC_ARN');
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);
  return {
    template: Template.fromStack(stack),
    ids: { bucket: id(bucket), registry: id(registry), log: id(log), topic: id(topic) },
  };
}

describe('DriftlineFunction', () => {
  const { template, ids } = synthFunctions();
  const functions = template.findResources('AWS::Lambda::Function');
  const byName = (name: string) =>
    Object.values(functions).find((resource) => resource.Metadata['driftline:name'] === name)!;

  it('runs Node.js 22 on arm64 with active tracing and the given memory and timeout', () => {
    // Assess
    expect(byName('train').Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      MemorySize: 3008,
      Timeout: 900,
      Handler: 'index.handler',
    });
  });

  it('sets the Powertools service, metrics namespace, code version, source maps and heap sizes', () => {
    // Assess
    const variables = byName('drift').Properties.Environment.Variables;
    expect(variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'driftline',
      POWERTOOLS_METRICS_NAMESPACE: 'Driftline',
      // 1024 MB: Lambda's own split, a young generation of 102 MB (two 51 MB semi-spaces) and 922 MB old.
      NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=51 --max-old-space-size=922',
    });
    expect(variables.CODE_VERSION).toMatch(/^0\.1\.0(\+[0-9a-f]{7,})?$/);
  });

  it("gives predict the heap Lambda's runtime gives 1769 MB, which bench:handler runs under", () => {
    // Assess
    expect(byName('predict').Properties.Environment.Variables.NODE_OPTIONS).toBe(
      '--enable-source-maps --max-semi-space-size=88 --max-old-space-size=1593',
    );
  });

  it('records the handler source and name for the local runtime', () => {
    // Assess
    expect(byName('predict').Metadata).toMatchObject({
      'driftline:entry': 'lambdas/predict/handler.ts',
      'driftline:name': 'predict',
    });
  });

  it('logs to its own log group, with a retention, that only it may write to', () => {
    // Prepare
    const logGroupId = byName('drift').Properties.LoggingConfig.LogGroup.Ref;
    const statements = statementsOfFunction(template, 'drift');
    // Assess
    expect(template.toJSON().Resources[logGroupId].Properties.RetentionInDays).toBe(30);
    expect(allows(statements, 'logs:PutLogEvents', arnOf(logGroupId))).toBe(true);
    expect(allows(statements, 'logs:PutLogEvents', '<SomeOtherLogGroup.Arn>')).toBe(false);
  });

  it('uses a role of its own: no AWS managed policy, X-Ray through the shared tracing policy', () => {
    // Prepare
    const roleId = byName('drift').Properties.Role['Fn::GetAtt'][0];
    const role = template.toJSON().Resources[roleId];
    const [xrayPolicy] = Object.entries(template.findResources('AWS::IAM::ManagedPolicy'));
    // Assess
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
    expect(role.Properties.ManagedPolicyArns).toEqual([{ Ref: xrayPolicy[0] }]);
    expect(xrayPolicy[1].Properties.PolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' },
    ]);
  });

  it('bundles a worker script next to the handler and tells the function where it is', () => {
    // Assess
    const train = byName('train');
    expect(train.Properties.Environment.Variables.FOREST_WORKER_SCRIPT).toBe('/var/task/forest-worker.mjs');
    expect(train.Metadata['driftline:localPaths']).toEqual({
      FOREST_WORKER_SCRIPT: 'lambdas/core/forest/worker.ts',
    });
  });

  it('bindBucket sets DATA_BUCKET and grants reads and writes under the given prefixes only', () => {
    // Prepare
    const statements = statementsOfFunction(template, 'drift');
    const objects = (prefix: string) => `${arnOf(ids.bucket)}/${prefix}/some/key.csv`;
    // Assess
    expect(byName('drift').Properties.Environment.Variables.DATA_BUCKET).toEqual({ Ref: ids.bucket });
    expect(allows(statements, 's3:GetObject', objects('incoming'))).toBe(true);
    expect(allows(statements, 's3:GetObject', objects('datasets'))).toBe(true);
    expect(allows(statements, 's3:GetObject', objects('models'))).toBe(false);
    expect(allows(statements, 's3:PutObject', objects('runs'))).toBe(true);
    expect(allows(statements, 's3:PutObject', objects('incoming'))).toBe(false);
    expect(allows(statements, 's3:DeleteObject', objects('runs'))).toBe(false);
    expect(allows(statements, 's3:ListBucket', arnOf(ids.bucket))).toBe(true);
  });

  it('bindTable sets the variable and grants exactly the listed actions', () => {
    // Prepare
    const drift = statementsOfFunction(template, 'drift');
    const predict = statementsOfFunction(template, 'predict');
    const registry = arnOf(ids.registry);
    const log = arnOf(ids.log);
    // Assess
    expect(byName('drift').Properties.Environment.Variables.REGISTRY_TABLE).toEqual({ Ref: ids.registry });
    expect(byName('predict').Properties.Environment.Variables.PREDICTION_LOG_TABLE).toEqual({ Ref: ids.log });
    expect(['dynamodb:GetItem', 'dynamodb:Query'].map((action) => allows(drift, action, registry))).toEqual([
      true,
      true,
    ]);
    expect(
      ['dynamodb:PutItem', 'dynamodb:UpdateItem'].map((action) => allows(drift, action, registry)),
    ).toEqual([false, false]);
    expect(
      ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:Query'].map((action) =>
        allows(predict, action, registry),
      ),
    ).toEqual([true, true, false, false]);
    expect(
      ['dynamodb:Scan', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'].map((action) =>
        allows(drift, action, registry),
      ),
    ).toEqual([false, false, false]);
    expect(
      ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem'].map((a) => allows(predict, a, log)),
    ).toEqual([true, false, false]);
  });

  it('bindTopic sets the variable and grants sns:Publish on that topic', () => {
    // Assess
    expect(byName('predict').Properties.Environment.Variables.ALERTS_TOPIC_ARN).toEqual({ Ref: ids.topic });
    expect(allows(statementsOfFunction(template, 'predict'), 'sns:Publish', `<${ids.topic}>`)).toBe(true);
    expect(allows(statementsOfFunction(template, 'drift'), 'sns:Publish', `<${ids.topic}>`)).toBe(false);
  });
});
