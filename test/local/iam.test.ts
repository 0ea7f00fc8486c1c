import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createActiveTable,
  type Emulator,
  type S3Emulator,
  startDynamo,
  startS3,
} from '../../local/emulators.ts';
import {
  AccessControl,
  dynamodbActions,
  evaluate,
  functionCredentials,
  localApiActions,
  PolicyError,
  type PolicyStatement,
  readPolicyDocument,
  s3Actions,
} from '../../local/iam.ts';
import { TemplateResolver } from '../../local/intrinsics.ts';

/** A rejected call's error, so every call starts at once and none rejects unhandled. */
const caught = (error: unknown) => error;
const TABLE = 'arn:aws:dynamodb:us-east-1:000000000000:table/Registry';
const scope = { region: 'us-east-1', account: '000000000000' };
const allow = (actions: string[], resources: string[]): PolicyStatement => ({
  effect: 'Allow',
  actions,
  resources,
});

describe('evaluate', () => {
  it('allows only what a statement allows: by default, everything is denied', () => {
    // Prepare
    const statements = [allow(['dynamodb:GetItem'], [TABLE])];
    // Assess
    expect(evaluate(statements, { action: 'dynamodb:GetItem', resource: TABLE })).toBe('allow');
    expect(evaluate(statements, { action: 'dynamodb:PutItem', resource: TABLE })).toBe('implicitDeny');
    expect(evaluate(statements, { action: 'dynamodb:GetItem', resource: `${TABLE}2` })).toBe('implicitDeny');
    expect(evaluate([], { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' })).toBe('implicitDeny');
  });

  it('matches * across slashes and ? as one character; actions ignore case, resources do not', () => {
    // Prepare
    const statements = [
      allow(['s3:Get*'], ['arn:aws:s3:::data/models/*']),
      allow(['dynamodb:q?ery'], [`${TABLE}/index/by?tage`]),
    ];
    const decide = (action: string, resource: string) => evaluate(statements, { action, resource });
    // Assess
    expect(decide('s3:GetObject', 'arn:aws:s3:::data/models/air/v1/model.json')).toBe('allow');
    expect(decide('S3:GETOBJECTVERSION', 'arn:aws:s3:::data/models/x')).toBe('allow');
    expect(decide('s3:GetObject', 'arn:aws:s3:::data/MODELS/x')).toBe('implicitDeny');
    expect(decide('s3:GetObject', 'arn:aws:s3:::data/runs/x')).toBe('implicitDeny');
    expect(decide('s3:PutObject', 'arn:aws:s3:::data/models/x')).toBe('implicitDeny');
    expect(decide('dynamodb:Query', `${TABLE}/index/byStage`)).toBe('allow');
    expect(decide('dynamodb:Query', `${TABLE}/index/byStages`)).toBe('implicitDeny');
    // A table's ARN does not cover its indexes, nor the other way round.
    expect(decide('dynamodb:Query', TABLE)).toBe('implicitDeny');
    expect(
      evaluate([allow(['dynamodb:Query'], [TABLE])], {
        action: 'dynamodb:Query',
        resource: `${TABLE}/index/byStage`,
      }),
    ).toBe('implicitDeny');
  });

  it('lets an explicit Deny win over any Allow, wherever it is', () => {
    // Prepare
    const statements: PolicyStatement[] = [
      { effect: 'Deny', actions: ['dynamodb:DeleteItem'], resources: ['*'] },
      allow(['dynamodb:*'], [TABLE]),
    ];
    // Assess
    expect(evaluate(statements, { action: 'dynamodb:PutItem', resource: TABLE })).toBe('allow');
    expect(evaluate(statements, { action: 'dynamodb:DeleteItem', resource: TABLE })).toBe('explicitDeny');
    expect(evaluate([...statements].reverse(), { action: 'dynamodb:DeleteItem', resource: TABLE })).toBe(
      'explicitDeny',
    );
  });

  it('reads NotAction and NotResource as everything but the listed', () => {
    // Prepare
    const statements: PolicyStatement[] = [
      { effect: 'Allow', notActions: ['dynamodb:Delete*'], resources: [TABLE] },
      { effect: 'Deny', actions: ['s3:*'], notResources: ['arn:aws:s3:::data/public/*'] },
      allow(['s3:GetObject'], ['*']),
    ];
    const decide = (action: string, resource: string) => evaluate(statements, { action, resource });
    // Assess
    expect(decide('dynamodb:UpdateItem', TABLE)).toBe('allow');
    expect(decide('dynamodb:DeleteItem', TABLE)).toBe('implicitDeny');
    expect(decide('s3:GetObject', 'arn:aws:s3:::data/public/a')).toBe('allow');
    expect(decide('s3:GetObject', 'arn:aws:s3:::data/private/a')).toBe('explicitDeny');
  });
});

describe('readPolicyDocument', () => {
  const resolver = new TemplateResolver(
    { Resources: { Table: { Type: 'AWS::DynamoDB::Table', Properties: {} } } },
    { stackName: 'S', region: 'us-east-1', apiUrl: 'http://127.0.0.1/' },
  );

  it('resolves ARNs in statements (intrinsics, single values or lists)', () => {
    // Act
    const statements = readPolicyDocument(
      {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'dynamodb:GetItem',
            Resource: [
              { 'Fn::GetAtt': ['Table', 'Arn'] },
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Table', 'Arn'] }, '/index/*']] },
            ],
          },
          { Effect: 'Deny', NotAction: ['s3:GetObject'], NotResource: 'arn:aws:s3:::b/*' },
        ],
      },
      resolver,
      'test',
    );
    // Assess
    expect(statements).toEqual([
      {
        effect: 'Allow',
        actions: ['dynamodb:GetItem'],
        resources: [
          'arn:aws:dynamodb:us-east-1:000000000000:table/S-Table',
          'arn:aws:dynamodb:us-east-1:000000000000:table/S-Table/index/*',
        ],
      },
      { effect: 'Deny', notActions: ['s3:GetObject'], notResources: ['arn:aws:s3:::b/*'] },
    ]);
  });

  it('refuses a condition, naming its key, rather than ignore it', () => {
    // Prepare
    const document = {
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sns:Publish',
          Resource: '*',
          Condition: { StringEquals: { 'aws:SourceAccount': '000000000000' } },
        },
      ],
    };
    // Assess
    expect(() => readPolicyDocument(document, resolver, 'role R')).toThrow(PolicyError);
    expect(() => readPolicyDocument(document, resolver, 'role R')).toThrow(/aws:SourceAccount/);
  });

  it('refuses a policy variable', () => {
    // Prepare
    const document = {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a template
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/${aws:username}/*' }],
    };
    // Assess
    expect(() => readPolicyDocument(document, resolver, 'role R')).toThrow(/policy variable/);
  });
});

describe('requests to actions', () => {
  const body = (value: unknown) => Buffer.from(JSON.stringify(value));

  it('names the DynamoDB operation on each table (or index) a request touches', () => {
    // Assess
    expect(dynamodbActions('DynamoDB_20120810.PutItem', body({ TableName: 'Registry' }), scope)).toEqual([
      { action: 'dynamodb:PutItem', resource: TABLE },
    ]);
    expect(
      dynamodbActions(
        'DynamoDB_20120810.Query',
        body({ TableName: 'Registry', IndexName: 'byStage' }),
        scope,
      ),
    ).toEqual([{ action: 'dynamodb:Query', resource: `${TABLE}/index/byStage` }]);
    expect(
      dynamodbActions(
        'DynamoDB_20120810.BatchWriteItem',
        body({ RequestItems: { Registry: [], Runs: [] } }),
        scope,
      ),
    ).toEqual([
      { action: 'dynamodb:BatchWriteItem', resource: TABLE },
      { action: 'dynamodb:BatchWriteItem', resource: TABLE.replace('Registry', 'Runs') },
    ]);
    expect(
      dynamodbActions(
        'DynamoDB_20120810.TransactWriteItems',
        body({
          TransactItems: [{ Put: { TableName: 'Registry' } }, { ConditionCheck: { TableName: 'Runs' } }],
        }),
        scope,
      ),
    ).toEqual([
      { action: 'dynamodb:PutItem', resource: TABLE },
      { action: 'dynamodb:ConditionCheckItem', resource: TABLE.replace('Registry', 'Runs') },
    ]);
    expect(dynamodbActions('DynamoDB_20120810.ListTables', body({}), scope)).toEqual([
      { action: 'dynamodb:ListTables', resource: '*' },
    ]);
  });

  it('names the S3 action of each request form on the object or bucket ARN', () => {
    // Prepare
    const actions = (method: string, target: string, headers: Record<string, string> = {}) => {
      const url = new URL(target, 'http://s3');
      return s3Actions(method, url.pathname, url.searchParams, headers).map(
        (a) => `${a.action} ${a.resource}`,
      );
    };
    // Assess
    expect(actions('GET', '/data/models/a%20b.json')).toEqual([
      's3:GetObject arn:aws:s3:::data/models/a b.json',
    ]);
    expect(actions('HEAD', '/data/k')).toEqual(['s3:GetObject arn:aws:s3:::data/k']);
    expect(actions('GET', '/data/k?versionId=3')).toEqual(['s3:GetObjectVersion arn:aws:s3:::data/k']);
    expect(actions('PUT', '/data/k')).toEqual(['s3:PutObject arn:aws:s3:::data/k']);
    expect(actions('POST', '/data/k?uploads')).toEqual(['s3:PutObject arn:aws:s3:::data/k']);
    expect(actions('PUT', '/data/k?partNumber=1&uploadId=u')).toEqual(['s3:PutObject arn:aws:s3:::data/k']);
    expect(actions('DELETE', '/data/k')).toEqual(['s3:DeleteObject arn:aws:s3:::data/k']);
    expect(actions('DELETE', '/data/k?versionId=3')).toEqual(['s3:DeleteObjectVersion arn:aws:s3:::data/k']);
    expect(actions('GET', '/data?list-type=2&prefix=runs/')).toEqual(['s3:ListBucket arn:aws:s3:::data']);
    expect(actions('GET', '/data?versions')).toEqual(['s3:ListBucketVersions arn:aws:s3:::data']);
    expect(actions('PUT', '/data/to', { 'x-amz-copy-source': '/data/from%20here?versionId=7' })).toEqual([
      's3:PutObject arn:aws:s3:::data/to',
      's3:GetObjectVersion arn:aws:s3:::data/from here',
    ]);
  });

  it('names the actions of calls to the runtime’s own AWS APIs', () => {
    // Assess
    expect(
      localApiActions(
        'states',
        '/',
        { 'x-amz-target': 'AWSStepFunctions.StartExecution' },
        body({ stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:M' }),
        scope,
      ),
    ).toEqual([
      { action: 'states:StartExecution', resource: 'arn:aws:states:us-east-1:000000000000:stateMachine:M' },
    ]);
    expect(
      localApiActions(
        'sns',
        '/',
        {},
        Buffer.from('Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A0%3AT'),
        scope,
      ),
    ).toEqual([{ action: 'sns:Publish', resource: 'arn:aws:sns:us-east-1:0:T' }]);
    expect(localApiActions('lambda', '/2015-03-31/functions/F/invocations', {}, body({}), scope)).toEqual([
      { action: 'lambda:InvokeFunction', resource: 'arn:aws:lambda:us-east-1:000000000000:function:F' },
    ]);
  });
});

describe('functionCredentials', () => {
  it('derives a stable key pair per function from the install secret, unlike any other', () => {
    // Act
    const a = functionCredentials('secret', 'predictFn');
    // Assess
    expect(functionCredentials('secret', 'predictFn')).toEqual(a);
    expect(a.accessKeyId).toMatch(/^AKIA[0-9A-F]{16}$/);
    expect(functionCredentials('secret', 'trainFn').accessKeyId).not.toBe(a.accessKeyId);
    expect(functionCredentials('other', 'predictFn').secretAccessKey).not.toBe(a.secretAccessKey);
  });
});

describe('emulators with an AccessControl', () => {
  const install = { accessKeyId: 'AKIAINSTALL0000000000', secretAccessKey: 'install-secret' };
  const fnKeys = functionCredentials(install.secretAccessKey, 'readerFn');
  const access = new AccessControl({
    install,
    scope,
    principals: [
      {
        credentials: fnKeys,
        arn: 'arn:aws:sts::000000000000:assumed-role/readerRole/reader',
        statements: [
          allow(['dynamodb:GetItem'], [TABLE]),
          allow(['s3:GetObject'], ['arn:aws:s3:::data/public/*']),
          allow(['s3:PutObject'], ['arn:aws:s3:::data/out/*']),
        ],
      },
    ],
  });
  let directory: string;
  let s3: S3Emulator;
  let dynamo: Emulator;
  const clients = (credentials: typeof install) => ({
    dynamo: new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials }),
    s3: new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, credentials, forcePathStyle: true }),
  });
  const Key = { PK: { S: 'a' } };

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'driftline-iam-'));
    s3 = await startS3({ directory, credentials: install, access });
    dynamo = await startDynamo({ credentials: install, access });
    const admin = clients(install);
    await createActiveTable(admin.dynamo, {
      TableName: 'Registry',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'PK', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'PK', AttributeType: 'S' }],
    });
    await admin.s3.send(new CreateBucketCommand({ Bucket: 'data' }));
    await admin.s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'public/a.txt', Body: 'a' }));
  });
  afterAll(async () => {
    await Promise.all([s3?.close(), dynamo?.close()]);
    rmSync(directory, { recursive: true, force: true });
  });

  it("answers a function key's DynamoDB call inside its grants and refuses one outside, as AWS does", async () => {
    // Prepare
    const { dynamo: client } = clients(fnKeys);
    // Act
    const read = await client.send(new GetItemCommand({ TableName: 'Registry', Key }));
    const write = client.send(new PutItemCommand({ TableName: 'Registry', Item: Key })).catch(caught);
    const query = client
      .send(
        new QueryCommand({
          TableName: 'Registry',
          KeyConditionExpression: 'PK = :a',
          ExpressionAttributeValues: { ':a': { S: 'a' } },
        }),
      )
      .catch(caught);
    // Assess
    expect(read.$metadata.httpStatusCode).toBe(200);
    expect(await write).toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message:
        'User: arn:aws:sts::000000000000:assumed-role/readerRole/reader is not authorized to perform: ' +
        `dynamodb:PutItem on resource: ${TABLE} because no identity-based policy allows the dynamodb:PutItem action`,
    });
    expect(await query).toMatchObject({ name: 'AccessDeniedException' });
    // The install's key keeps full access.
    await expect(
      clients(install).dynamo.send(new PutItemCommand({ TableName: 'Registry', Item: Key })),
    ).resolves.toBeDefined();
  });

  it("answers a function key's S3 call inside its grants and refuses one outside with a 403 AccessDenied", async () => {
    // Prepare
    const { s3: client } = clients(fnKeys);
    // Act
    const read = await client.send(new GetObjectCommand({ Bucket: 'data', Key: 'public/a.txt' }));
    const put = await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'out/b.txt', Body: 'b' }));
    const outside = client
      .send(new PutObjectCommand({ Bucket: 'data', Key: 'public/b.txt', Body: 'b' }))
      .catch(caught);
    // A copy needs GetObject on its source, which out/ lacks.
    const copy = client
      .send(new CopyObjectCommand({ Bucket: 'data', Key: 'out/c.txt', CopySource: 'data/out/b.txt' }))
      .catch(caught);
    const bulkDelete = client
      .send(new DeleteObjectsCommand({ Bucket: 'data', Delete: { Objects: [{ Key: 'public/a.txt' }] } }))
      .catch(caught);
    // Assess
    expect(await read.Body?.transformToString()).toBe('a');
    expect(put.$metadata.httpStatusCode).toBe(200);
    expect(await outside).toMatchObject({
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
      message: expect.stringContaining('s3:PutObject on resource: arn:aws:s3:::data/public/b.txt'),
    });
    expect(await copy).toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('s3:GetObject on resource: arn:aws:s3:::data/out/b.txt'),
    });
    expect(await bulkDelete).toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('s3:DeleteObject on resource: arn:aws:s3:::data/public/a.txt'),
    });
    expect(
      await (
        await clients(install).s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'public/a.txt' }))
      ).Body?.transformToString(),
    ).toBe('a');
  });
});
