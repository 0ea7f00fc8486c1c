import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import {
  apiGatewayId,
  type CfnTemplate,
  generatedName,
  IntrinsicError,
  TemplateResolver,
} from '../../local/intrinsics.ts';
import {
  type AppBuilder,
  loadStack,
  readLocalStack,
  repoRoot,
  type SynthesizedStack,
  TemplateError,
} from '../../local/template.ts';

const lambdaUri = (fn: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':apigateway:',
      { Ref: 'AWS::Region' },
      ':lambda:path/2015-03-31/functions/',
      { 'Fn::GetAtt': [fn, 'Arn'] },
      '/invocations',
    ],
  ],
});

/** A hand-written template in the shape CDK synthesizes, with every intrinsic the runtime resolves. */
function fixtureTemplate(): CfnTemplate {
  return {
    Parameters: {
      BootstrapVersion: {
        Type: 'AWS::SSM::Parameter::Value<String>',
        Default: '/cdk-bootstrap/hnb659fds/version',
      },
      Env: { Type: 'String', Default: 'dev' },
    },
    Conditions: {
      IsProd: { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] },
      NotProd: { 'Fn::Not': [{ Condition: 'IsProd' }] },
    },
    Mappings: { Sizes: { dev: { memory: 256 } } },
    Resources: {
      DataBucketE6B0FAA8: {
        Type: 'AWS::S3::Bucket',
        Properties: { VersioningConfiguration: { Status: 'Enabled' } },
      },
      NamedBucket: {
        Type: 'AWS::S3::Bucket',
        Properties: { BucketName: { 'Fn::Join': ['-', ['named', { Ref: 'AWS::AccountId' }]] } },
      },
      DataNotifications: {
        Type: 'Custom::S3BucketNotifications',
        Properties: {
          ServiceToken: { 'Fn::GetAtt': ['NotificationsHandler', 'Arn'] },
          BucketName: { Ref: 'DataBucketE6B0FAA8' },
          NotificationConfiguration: { EventBridgeConfiguration: {} },
        },
      },
      NotificationsHandler: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Handler: 'index.handler',
          Runtime: 'python3.12',
          Code: { ZipFile: 'def handler(): pass' },
        },
      },
      RegistryTable1111AAAA: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          KeySchema: [
            { AttributeName: 'PK', KeyType: 'HASH' },
            { AttributeName: 'SK', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'PK', AttributeType: 'S' },
            { AttributeName: 'SK', AttributeType: 'S' },
            { AttributeName: 'GSI1', AttributeType: 'S' },
          ],
          GlobalSecondaryIndexes: [
            {
              IndexName: 'byStage',
              KeySchema: [{ AttributeName: 'GSI1', KeyType: 'HASH' }],
              Projection: { ProjectionType: 'ALL' },
            },
          ],
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
          BillingMode: 'PAY_PER_REQUEST',
        },
      },
      PredictFnRoleAAAA1111: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {},
          ManagedPolicyArns: [
            {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
                ],
              ],
            },
          ],
        },
      },
      PredictFnRoleDefaultPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'PredictFnRoleDefaultPolicy',
          Roles: [{ Ref: 'PredictFnRoleAAAA1111' }],
          PolicyDocument: {
            Statement: [
              {
                Effect: 'Allow',
                Action: ['dynamodb:GetItem', 'dynamodb:Query'],
                Resource: [
                  { 'Fn::GetAtt': ['RegistryTable1111AAAA', 'Arn'] },
                  { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['RegistryTable1111AAAA', 'Arn'] }, '/index/*']] },
                ],
              },
              {
                Effect: 'Allow',
                Action: 's3:GetObject',
                Resource: {
                  'Fn::Join': ['', [{ 'Fn::GetAtt': ['DataBucketE6B0FAA8', 'Arn'] }, '/models/*']],
                },
              },
            ],
          },
        },
      },
      PredictFn12345678: {
        Type: 'AWS::Lambda::Function',
        Metadata: {
          'driftline:entry': 'test/local/fixtures/handlers.ts',
          'driftline:name': 'predict',
          'driftline:localPaths': { WORKER_SCRIPT: 'lambdas/core/forest/worker.ts' },
        },
        Properties: {
          Role: { 'Fn::GetAtt': ['PredictFnRoleAAAA1111', 'Arn'] },
          Handler: 'index.echo',
          Runtime: 'nodejs22.x',
          Timeout: 20,
          MemorySize: { 'Fn::FindInMap': ['Sizes', { Ref: 'Env' }, 'memory'] },
          Environment: {
            Variables: {
              TABLE: { Ref: 'RegistryTable1111AAAA' },
              BUCKET_ARN: { 'Fn::GetAtt': ['DataBucketE6B0FAA8', 'Arn'] },
              MODE: { 'Fn::If': ['IsProd', 'strict', 'lenient'] },
              PROD_ONLY: { 'Fn::If': ['IsProd', 'x', { Ref: 'AWS::NoValue' }] },
              FIRST_AZ: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
              HOST: { 'Fn::Select': [2, { 'Fn::Split': ['/', 'https://example.com/path'] }] },
              GREETING: {
                'Fn::Sub': [
                  // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation ${} syntax, not a JS template
                  '${Greeting} from ${AWS::StackName} in ${AWS::Region}: ${!Literal} ${PredictFn12345678.Arn}',
                  { Greeting: 'hello' },
                ],
              },
              TOPIC: { Ref: 'AlertsTopic' },
              MACHINE: { Ref: 'MachineAAAA0000' },
            },
          },
        },
      },
      MachineAAAA0000: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: {
          DefinitionString: {
            'Fn::Join': [
              '',
              [
                '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"',
                { 'Fn::GetAtt': ['PredictFn12345678', 'Arn'] },
                // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation ${} syntax, not a JS template
                '","Next":"B"},"B":{"Type":"Task","Resource":"${Other}","End":true}}}',
              ],
            ],
          },
          DefinitionSubstitutions: { Other: { 'Fn::GetAtt': ['PredictFn12345678', 'Arn'] } },
        },
      },
      DropRule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventPattern: { source: ['aws.s3'], detail: { bucket: { name: [{ Ref: 'DataBucketE6B0FAA8' }] } } },
          State: 'ENABLED',
          Targets: [
            {
              Arn: { Ref: 'MachineAAAA0000' },
              Id: 'Target0',
              InputTransformer: {
                InputPathsMap: { key: '$.detail.object.key' },
                InputTemplate: '{"key":<key>}',
              },
            },
          ],
        },
      },
      NightlyRule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          ScheduleExpression: 'rate(1 day)',
          State: 'DISABLED',
          Targets: [{ Arn: { 'Fn::GetAtt': ['PredictFn12345678', 'Arn'] }, Id: 'T', Input: '{"a":1}' }],
        },
      },
      ProdOnlyRule: {
        Type: 'AWS::Events::Rule',
        Condition: 'IsProd',
        Properties: { ScheduleExpression: 'rate(1 hour)' },
      },
      Api1234ABCD: {
        Type: 'AWS::ApiGateway::RestApi',
        Properties: { Name: 'api', BinaryMediaTypes: ['image~1png'] },
      },
      ApiModels: {
        Type: 'AWS::ApiGateway::Resource',
        Properties: {
          ParentId: { 'Fn::GetAtt': ['Api1234ABCD', 'RootResourceId'] },
          PathPart: 'models',
          RestApiId: { Ref: 'Api1234ABCD' },
        },
      },
      ApiModelName: {
        Type: 'AWS::ApiGateway::Resource',
        Properties: { ParentId: { Ref: 'ApiModels' }, PathPart: '{name}', RestApiId: { Ref: 'Api1234ABCD' } },
      },
      ApiPredict: {
        Type: 'AWS::ApiGateway::Method',
        Properties: {
          HttpMethod: 'POST',
          ResourceId: { Ref: 'ApiModelName' },
          RestApiId: { Ref: 'Api1234ABCD' },
          ApiKeyRequired: true,
          RequestParameters: { 'method.request.path.name': true },
          RequestModels: { 'application/json': { Ref: 'ApiModel' } },
          RequestValidatorId: { Ref: 'ApiValidator' },
          Integration: {
            Type: 'AWS_PROXY',
            IntegrationHttpMethod: 'POST',
            Uri: lambdaUri('PredictFn12345678'),
            TimeoutInMillis: 5000,
          },
        },
      },
      ApiRootGet: {
        Type: 'AWS::ApiGateway::Method',
        Properties: {
          HttpMethod: 'GET',
          ResourceId: { 'Fn::GetAtt': ['Api1234ABCD', 'RootResourceId'] },
          RestApiId: { Ref: 'Api1234ABCD' },
          Integration: {
            Type: 'MOCK',
            IntegrationResponses: [
              { StatusCode: '204', ResponseParameters: { 'method.response.header.X-Mock': "'yes'" } },
            ],
          },
        },
      },
      ApiModel: {
        Type: 'AWS::ApiGateway::Model',
        Properties: {
          RestApiId: { Ref: 'Api1234ABCD' },
          ContentType: 'application/json',
          Name: 'PredictRequest',
          Schema: { type: 'object', required: ['instances'] },
        },
      },
      ApiValidator: {
        Type: 'AWS::ApiGateway::RequestValidator',
        Properties: {
          RestApiId: { Ref: 'Api1234ABCD' },
          ValidateRequestBody: true,
          ValidateRequestParameters: true,
        },
      },
      ApiKey: { Type: 'AWS::ApiGateway::ApiKey', Properties: { Value: 'secret-key', Enabled: true } },
      ApiStage: {
        Type: 'AWS::ApiGateway::Stage',
        Properties: { RestApiId: { Ref: 'Api1234ABCD' }, StageName: 'v1' },
      },
      AlertsTopic: { Type: 'AWS::SNS::Topic' },
      AlertsSubscription: {
        Type: 'AWS::SNS::Subscription',
        Properties: {
          TopicArn: { Ref: 'AlertsTopic' },
          Protocol: 'lambda',
          Endpoint: { 'Fn::GetAtt': ['PredictFn12345678', 'Arn'] },
        },
      },
      LatencyAlarm: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmName: { 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, '/rollback/latency']] },
          Namespace: 'Driftline',
          MetricName: 'PredictLatency',
          Dimensions: [{ Name: 'model', Value: 'air' }],
          ExtendedStatistic: 'p99',
          Period: 60,
          EvaluationPeriods: 5,
          DatapointsToAlarm: 3,
          Threshold: 1000,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: 'notBreaching',
          AlarmActions: [{ Ref: 'AlertsTopic' }],
        },
      },
    },
    Outputs: {
      BucketName: { Value: { Ref: 'DataBucketE6B0FAA8' } },
      ApiUrl: {
        Value: {
          'Fn::Join': [
            '',
            [
              'https://',
              { Ref: 'Api1234ABCD' },
              '.execute-api.',
              { Ref: 'AWS::Region' },
              '.',
              { Ref: 'AWS::URLSuffix' },
              '/',
              { Ref: 'ApiStage' },
              '/',
            ],
          ],
        },
      },
      Imported: { Value: { 'Fn::ImportValue': 'SharedVpc' } },
      ProdOnly: { Value: 'x', Condition: 'IsProd' },
    },
  };
}

const deployment = { stackName: 'Fixture', region: 'eu-west-1', apiUrl: 'http://127.0.0.1:4321/' };
const fnArn = 'arn:aws:lambda:eu-west-1:000000000000:function:Fixture-PredictFn12345678';

describe('TemplateResolver', () => {
  const resolver = new TemplateResolver(fixtureTemplate(), deployment);

  it('gives resources stable local names and ARNs in account 000000000000', () => {
    expect(resolver.resolve({ Ref: 'DataBucketE6B0FAA8' })).toBe('fixture-databuckete6b0faa8');
    expect(resolver.resolve({ Ref: 'NamedBucket' })).toBe('named-000000000000');
    expect(resolver.resolve({ 'Fn::GetAtt': ['DataBucketE6B0FAA8', 'Arn'] })).toBe(
      'arn:aws:s3:::fixture-databuckete6b0faa8',
    );
    expect(resolver.resolve({ Ref: 'RegistryTable1111AAAA' })).toBe('Fixture-RegistryTable1111AAAA');
    expect(resolver.resolve({ 'Fn::GetAtt': ['RegistryTable1111AAAA', 'Arn'] })).toBe(
      'arn:aws:dynamodb:eu-west-1:000000000000:table/Fixture-RegistryTable1111AAAA',
    );
    expect(resolver.resolve({ 'Fn::GetAtt': 'PredictFn12345678.Arn' })).toBe(fnArn);
    expect(resolver.resolve({ Ref: 'MachineAAAA0000' })).toBe(
      'arn:aws:states:eu-west-1:000000000000:stateMachine:Fixture-MachineAAAA0000',
    );
    expect(resolver.resolve({ Ref: 'AlertsTopic' })).toBe(
      'arn:aws:sns:eu-west-1:000000000000:Fixture-AlertsTopic',
    );
    expect(resolver.resolve({ Ref: 'Api1234ABCD' })).toBe(apiGatewayId('Api1234ABCD'));
    expect(resolver.resolve({ Ref: 'ApiStage' })).toBe('v1');
  });

  it('resolves pseudo parameters, parameters, conditions, mappings and list functions', () => {
    expect(
      resolver.resolve(
        ['AWS::Region', 'AWS::AccountId', 'AWS::Partition', 'AWS::URLSuffix', 'AWS::StackName'].map(
          (Ref) => ({ Ref }),
        ),
      ),
    ).toEqual(['eu-west-1', '000000000000', 'aws', 'amazonaws.com', 'Fixture']);
    expect(resolver.resolve({ Ref: 'Env' })).toBe('dev');
    expect(resolver.resolve({ 'Fn::If': ['IsProd', 'strict', 'lenient'] })).toBe('lenient');
    expect(resolver.resolve({ 'Fn::If': ['NotProd', 'yes', 'no'] })).toBe('yes');
    expect(resolver.resolve({ a: 1, b: { 'Fn::If': ['IsProd', 2, { Ref: 'AWS::NoValue' }] } })).toEqual({
      a: 1,
    });
    expect(resolver.resolve({ 'Fn::FindInMap': ['Sizes', { Ref: 'Env' }, 'memory'] })).toBe(256);
    expect(resolver.resolve({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] })).toBe('b');
    expect(resolver.resolve({ 'Fn::Select': [0, { 'Fn::GetAZs': '' }] })).toBe('eu-west-1a');
    expect(resolver.resolve({ 'Fn::Join': [':', ['a', { Ref: 'AWS::Region' }, 3]] })).toBe('a:eu-west-1:3');
  });

  it('resolves Fn::Sub in both forms, with attributes and escaped literals', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation ${} syntax, not a JS template
    expect(resolver.resolve({ 'Fn::Sub': 'cdk-assets-${AWS::AccountId}-${AWS::Region}' })).toBe(
      'cdk-assets-000000000000-eu-west-1',
    );
    expect(
      resolver.resolve({
        'Fn::Sub': [
          // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation ${} syntax, not a JS template
          '${Greeting} ${!Literal} ${PredictFn12345678.Arn} ${DataBucketE6B0FAA8}',
          { Greeting: 'hi' },
        ],
      }),
    ).toBe(`hi \${Literal} ${fnArn} fixture-databuckete6b0faa8`);
  });

  it('points execute-api URLs at the local server, without the stage', () => {
    const url = resolver.resolve(fixtureTemplate().Outputs!.ApiUrl.Value);
    expect(url).toBe('http://127.0.0.1:4321/');
    expect(
      resolver.resolve({
        'Fn::Join': [
          '',
          [`https://${apiGatewayId('Api1234ABCD')}.execute-api.eu-west-1.amazonaws.com/v1`, '/models'],
        ],
      }),
    ).toBe('http://127.0.0.1:4321/models');
  });

  it('says what it cannot resolve', () => {
    expect(() => resolver.resolve({ 'Fn::GetAtt': ['DataBucketE6B0FAA8', 'Nope'] })).toThrow(IntrinsicError);
    expect(() => resolver.resolve({ Ref: 'Missing' })).toThrow('no resource or parameter "Missing"');
    expect(() => resolver.resolve({ 'Fn::ImportValue': 'x' }, 'output X')).toThrow(
      'output X: Fn::ImportValue is not supported',
    );
    expect(() => resolver.resolve({ 'Fn::If': ['Undefined', 1, 2] })).toThrow(
      'condition "Undefined" is not defined',
    );
  });

  it('shortens generated names past the service limit with a stable hash', () => {
    const long = generatedName('Driftline', 'A'.repeat(80), 64);
    expect(long).toHaveLength(64);
    expect(long).toBe(generatedName('Driftline', 'A'.repeat(80), 64));
    expect(generatedName('My_Stack', 'Data', 63, true)).toBe('my-stack-data');
  });
});

describe('readLocalStack', () => {
  const synthesized: SynthesizedStack = {
    stackName: 'Fixture',
    artifactId: 'Fixture',
    template: fixtureTemplate(),
    outdir: '/nonexistent',
    fileAssets: {},
  };
  const stack = readLocalStack(synthesized, { region: 'eu-west-1', apiUrl: 'http://127.0.0.1:4321/' });

  it('reads runnable functions from driftline:entry, with resolved environment and configuration', () => {
    expect(stack.functions).toHaveLength(1);
    const [predict] = stack.functions;
    expect(predict).toMatchObject({
      logicalId: 'PredictFn12345678',
      name: 'Fixture-PredictFn12345678',
      shortName: 'predict',
      arn: fnArn,
      entry: `${repoRoot}test/local/fixtures/handlers.ts`,
      handler: 'echo',
      timeoutSeconds: 20,
      memoryMb: 256,
    });
    expect(predict.environment).toEqual({
      TABLE: 'Fixture-RegistryTable1111AAAA',
      BUCKET_ARN: 'arn:aws:s3:::fixture-databuckete6b0faa8',
      MODE: 'lenient',
      FIRST_AZ: 'eu-west-1a',
      HOST: 'example.com',
      GREETING: `hello from Fixture in eu-west-1: \${Literal} ${fnArn}`,
      TOPIC: 'arn:aws:sns:eu-west-1:000000000000:Fixture-AlertsTopic',
      MACHINE: 'arn:aws:states:eu-west-1:000000000000:stateMachine:Fixture-MachineAAAA0000',
      WORKER_SCRIPT: `${repoRoot}lambdas/core/forest/worker.ts`,
    });
    expect(predict.role).toEqual({
      logicalId: 'PredictFnRoleAAAA1111',
      arn: 'arn:aws:iam::000000000000:role/Fixture-PredictFnRoleAAAA1111',
      name: 'Fixture-PredictFnRoleAAAA1111',
      statements: [
        {
          effect: 'Allow',
          actions: ['dynamodb:GetItem', 'dynamodb:Query'],
          resources: [
            'arn:aws:dynamodb:eu-west-1:000000000000:table/Fixture-RegistryTable1111AAAA',
            'arn:aws:dynamodb:eu-west-1:000000000000:table/Fixture-RegistryTable1111AAAA/index/*',
          ],
        },
        {
          effect: 'Allow',
          actions: ['s3:GetObject'],
          resources: ['arn:aws:s3:::fixture-databuckete6b0faa8/models/*'],
        },
      ],
      notes: [expect.stringContaining('AWSLambdaBasicExecutionRole is not known locally')],
    });
    expect(stack.skippedFunctions).toEqual([
      { logicalId: 'NotificationsHandler', reason: expect.stringContaining('driftline:entry') },
    ]);
  });

  it('reads buckets (EventBridge from the notifications resource), tables and the state machine', () => {
    expect(stack.buckets).toEqual([
      {
        logicalId: 'DataBucketE6B0FAA8',
        name: 'fixture-databuckete6b0faa8',
        arn: 'arn:aws:s3:::fixture-databuckete6b0faa8',
        eventBridge: true,
        versioned: true,
      },
      {
        logicalId: 'NamedBucket',
        name: 'named-000000000000',
        arn: 'arn:aws:s3:::named-000000000000',
        eventBridge: false,
        versioned: false,
      },
    ]);
    expect(stack.tables[0]).toMatchObject({
      name: 'Fixture-RegistryTable1111AAAA',
      keySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
      globalSecondaryIndexes: [
        {
          IndexName: 'byStage',
          KeySchema: [{ AttributeName: 'GSI1', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      ttlAttribute: 'expiresAt',
    });
    expect(stack.stateMachines).toEqual([
      {
        logicalId: 'MachineAAAA0000',
        name: 'Fixture-MachineAAAA0000',
        arn: 'arn:aws:states:eu-west-1:000000000000:stateMachine:Fixture-MachineAAAA0000',
        label: 'pipeline',
        definition: {
          StartAt: 'A',
          States: {
            A: { Type: 'Task', Resource: fnArn, Next: 'B' },
            B: { Type: 'Task', Resource: fnArn, End: true },
          },
        },
      },
    ]);
  });

  it('reads rules with their targets, leaving out rules whose condition is false', () => {
    expect(stack.rules.map((r) => r.logicalId)).toEqual(['DropRule', 'NightlyRule']);
    expect(stack.rules[0]).toMatchObject({
      eventPattern: { source: ['aws.s3'], detail: { bucket: { name: ['fixture-databuckete6b0faa8'] } } },
      enabled: true,
      targets: [
        {
          id: 'Target0',
          arn: 'arn:aws:states:eu-west-1:000000000000:stateMachine:Fixture-MachineAAAA0000',
          inputTransformer: { inputPathsMap: { key: '$.detail.object.key' }, inputTemplate: '{"key":<key>}' },
        },
      ],
    });
    expect(stack.rules[1]).toMatchObject({
      scheduleExpression: 'rate(1 day)',
      enabled: false,
      targets: [{ arn: fnArn, input: '{"a":1}' }],
    });
  });

  it('reads API routes with their paths, integrations, validation and keys', () => {
    const [api] = stack.apis;
    expect(api).toMatchObject({
      name: 'api',
      stage: 'v1',
      binaryMediaTypes: ['image/png'],
      apiKeys: ['secret-key'],
    });
    expect(api.routes).toEqual([
      {
        path: '/models/{name}',
        method: 'POST',
        integration: { type: 'lambda', functionArn: fnArn, timeoutMs: 5000 },
        apiKeyRequired: true,
        authorizationType: 'NONE',
        requiredParameters: ['method.request.path.name'],
        bodySchema: { type: 'object', required: ['instances'] },
      },
      {
        path: '/',
        method: 'GET',
        integration: { type: 'mock', statusCode: 204, headers: { 'X-Mock': 'yes' }, body: '' },
        apiKeyRequired: false,
        authorizationType: 'NONE',
        requiredParameters: [],
      },
    ]);
  });

  it('reads alarms and topics for the monitoring part, and the outputs resolved to local values', () => {
    expect(stack.alarms).toEqual([
      {
        logicalId: 'LatencyAlarm',
        name: 'Fixture/rollback/latency',
        arn: 'arn:aws:cloudwatch:eu-west-1:000000000000:alarm:Fixture/rollback/latency',
        namespace: 'Driftline',
        metricName: 'PredictLatency',
        dimensions: { model: 'air' },
        extendedStatistic: 'p99',
        periodSeconds: 60,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        threshold: 1000,
        comparisonOperator: 'GreaterThanThreshold',
        treatMissingData: 'notBreaching',
        actionsEnabled: true,
        alarmActions: ['arn:aws:sns:eu-west-1:000000000000:Fixture-AlertsTopic'],
        okActions: [],
        insufficientDataActions: [],
      },
    ]);
    expect(stack.topics).toEqual([
      {
        logicalId: 'AlertsTopic',
        name: 'Fixture-AlertsTopic',
        arn: 'arn:aws:sns:eu-west-1:000000000000:Fixture-AlertsTopic',
        subscriptions: [{ protocol: 'lambda', endpoint: fnArn }],
      },
    ]);
    expect(stack.outputs).toEqual({
      BucketName: 'fixture-databuckete6b0faa8',
      ApiUrl: 'http://127.0.0.1:4321/',
    });
    expect(stack.warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining('output Imported skipped'),
        expect.stringContaining('TTL on expiresAt is not enforced'),
      ]),
    );
  });

  it('refuses a function whose entry file is missing', () => {
    const template = fixtureTemplate();
    template.Resources.PredictFn12345678.Metadata!['driftline:entry'] = 'lambdas/nope/handler.ts';
    expect(() =>
      readLocalStack({ ...synthesized, template }, { region: 'eu-west-1', apiUrl: 'http://x/' }),
    ).toThrow(TemplateError);
  });
});

describe('loadStack', () => {
  it('replaces a stale cloud assembly with the fresh synthesis once a source changed', async () => {
    // Prepare: an assembly of a one-bucket app, then its source edited
    const folder = mkdtempSync(join(tmpdir(), 'driftline-loadstack-'));
    const source = join(folder, 'stack.ts');
    writeFileSync(source, 'v1');
    const app =
      (bucket: string): AppBuilder =>
      (cdkApp) => {
        new Bucket(new Stack(cdkApp, 'Tiny'), bucket);
      };
    const options = { outdir: join(folder, 'cdk.out'), buildId: 'tiny', sources: [source] };
    const first = await loadStack({ ...options, build: app('First') });
    utimesSync(source, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));

    // Act
    const second = await loadStack({ ...options, build: app('Second') });
    const third = await loadStack({ ...options, build: app('Second') });

    // Assess: the edit is synthesized and kept, not the stale assembly read back
    const buckets = (stack: SynthesizedStack) =>
      Object.keys(stack.template.Resources).map((id) => id.replace(/[0-9A-F]{8}$/, ''));
    expect(buckets(first)).toEqual(['First']);
    expect(second.reused).toBe(false);
    expect(buckets(second)).toEqual(['Second']);
    expect(buckets(third)).toEqual(['Second']);
    rmSync(folder, { recursive: true, force: true });
  });
});
