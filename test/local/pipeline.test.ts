import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeInfo } from '../../local/runtime.ts';
import { type FixtureRuntime, startFixtureRuntime } from './support.ts';

let fixture: FixtureRuntime;
let s3: S3Client;

beforeAll(async () => {
  fixture = await startFixtureRuntime();
  const { info } = fixture.runtime;
  s3 = new S3Client({
    region: info.region,
    credentials: info.credentials,
    endpoint: info.endpoints.s3,
    forcePathStyle: true,
  });
});
afterAll(() => fixture?.close());

const put = (key: string, body: string, bucket = fixture.runtime.outputs.BucketName) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

describe("each function's own key pair, held to its role's policy", () => {
  it("lets a function make the calls its grants allow and fails the others with AWS's AccessDenied", async () => {
    // Prepare: what the function may read, written with the install's key pair (full access)
    const { info, outputs } = fixture.runtime;
    const table = outputs.TableName;
    const dynamo = new DynamoDBClient({
      region: info.region,
      credentials: info.credentials,
      endpoint: info.endpoints.dynamodb,
    });
    await dynamo.send(
      new PutItemCommand({ TableName: table, Item: { PK: { S: 'seen' }, SK: { S: 'item' } } }),
    );
    await put('public/hello.txt', 'hello');

    // Act
    const get = await fixture.runtime.invokeRaw('guarded', { call: 'get', key: 'seen' });
    const read = await fixture.runtime.invokeRaw('guarded', { call: 'read', key: 'public/hello.txt' });
    const write = await fixture.runtime.invokeRaw('guarded', { call: 'put', key: 'forbidden' });
    const upload = await fixture.runtime.invokeRaw('guarded', { call: 'write', key: 'public/forbidden.txt' });
    const publish = await fixture.runtime.invokeRaw('guarded', { call: 'publish', key: 'hello' });

    // Assess: reads allowed; each write refused in the words AWS uses, and nothing written
    expect(get).toMatchObject({ ok: true, payload: '"done"' });
    expect(read).toMatchObject({ ok: true, payload: '"hello"' });
    const guarded = fixture.runtime.stack.functions.find((f) => f.shortName === 'guarded')!;
    expect(write).toMatchObject({
      ok: false,
      error: {
        errorType: 'AccessDeniedException',
        errorMessage:
          `User: arn:aws:sts::000000000000:assumed-role/${guarded.role.name}/${guarded.name} is not authorized ` +
          `to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/${table} ` +
          'because no identity-based policy allows the dynamodb:PutItem action',
      },
    });
    expect(upload).toMatchObject({
      ok: false,
      error: { errorType: 'AccessDenied', errorMessage: expect.stringContaining('s3:PutObject on resource') },
    });
    expect(publish).toMatchObject({
      ok: false,
      error: {
        errorType: 'AuthorizationErrorException',
        errorMessage: expect.stringContaining('sns:Publish on resource'),
      },
    });
    expect(fixture.runtime.notifications.filter((n) => n.message === 'hello')).toEqual([]);
    const item = await dynamo.send(
      new GetItemCommand({ TableName: table, Key: { PK: { S: 'forbidden' }, SK: { S: 'item' } } }),
    );
    expect(item.Item).toBeUndefined();
    await expect(
      s3.send(new GetObjectCommand({ Bucket: outputs.BucketName, Key: 'public/forbidden.txt' })),
    ).rejects.toMatchObject({ name: 'NoSuchKey' });
    dynamo.destroy();
  });
});

describe('S3 drop → EventBridge → state machine', () => {
  it('starts an execution with the Object Created event and runs it to success through Retry and a Map', async () => {
    // Act
    const csv = 'month,passengers\n1949-01,112\n';
    const { ETag } = await put('incoming/air/v1.csv', csv);
    const execution = await fixture.runtime.executions.waitForStart(
      (e) =>
        (e.input as { detail?: { object?: { key?: string } } }).detail?.object?.key === 'incoming/air/v1.csv',
    );
    const done = await fixture.runtime.executions.wait(execution.name, 20_000);

    // Assess: the input is the event S3 sends to EventBridge.
    const bucket = fixture.runtime.outputs.BucketName;
    expect(execution.input).toEqual({
      version: '0',
      id: expect.any(String),
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'us-east-1',
      resources: [`arn:aws:s3:::${bucket}`],
      detail: {
        version: '0',
        bucket: { name: bucket },
        object: {
          key: 'incoming/air/v1.csv',
          size: Buffer.byteLength(csv),
          etag: ETag!.replaceAll('"', ''),
          sequencer: expect.any(String),
        },
        'request-id': expect.any(String),
        requester: '000000000000',
        'source-ip-address': '127.0.0.1',
        reason: 'PutObject',
      },
    });

    // Assess: the run, with the Context Object's execution name as run id, the flaky step retried once.
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toMatchObject({
      run: { runId: execution.name, key: 'incoming/air/v1.csv', startedAt: expect.any(String) },
      flaky: { calls: 2 },
      squares: [{ squared: 1 }, { squared: 4 }, { squared: 9 }],
    });
    expect(done.history.filter((e) => e.type === 'StateRetried')).toHaveLength(1);
  });

  it('ends a run whose drop fails validation FAILED with the named error, through Catch', async () => {
    await put('incoming/air/v2.bad', 'not,a\ncsv');
    const execution = await fixture.runtime.executions.waitForStart(
      (e) =>
        (e.input as { detail?: { object?: { key?: string } } }).detail?.object?.key === 'incoming/air/v2.bad',
    );
    const done = await fixture.runtime.executions.wait(execution.name, 20_000);

    expect(done).toMatchObject({
      status: 'FAILED',
      error: 'InvalidDataError',
      cause: 'incoming/air/v2.bad: not a CSV',
    });
    expect(done.history.some((e) => e.type === 'StateCaught')).toBe(true);
  });

  it("fails a run whose step goes over its function's MemorySize with Runtime.OutOfMemory, naming both", async () => {
    // Act: the fixture validate (MemorySize 256) holds 300 MB for a .huge drop.
    await put('incoming/air/v4.huge', 'month,passengers\n');
    const execution = await fixture.runtime.executions.waitForStart(
      (e) =>
        (e.input as { detail?: { object?: { key?: string } } }).detail?.object?.key ===
        'incoming/air/v4.huge',
    );
    const done = await fixture.runtime.executions.wait(execution.name, 20_000);

    // Assess: caught and recorded like any step failure, with Lambda's error name and the limit.
    expect(done).toMatchObject({
      status: 'FAILED',
      error: 'Runtime.OutOfMemory',
      cause: expect.stringMatching(/ran out of memory: \d+ MB used, MemorySize 256 MB/),
    });
    expect(done.cause).toContain(
      fixture.runtime.stack.functions.find((f) => f.shortName === 'validate')!.name,
    );
  });

  it('starts nothing for keys outside incoming/ or buckets without EventBridge', async () => {
    const before = fixture.runtime.executions.list().length;

    await put('models/air/model.bin', 'x');
    await put('incoming/air/v3.csv', 'x', fixture.runtime.stack.buckets.find((b) => !b.eventBridge)!.name);
    await sleep(300);

    expect(fixture.runtime.executions.list()).toHaveLength(before);
  });
});

describe('events and schedules', () => {
  it('delivers a schedule to its Lambda target with the transformed input', async () => {
    const rule = fixture.runtime.stack.rules.find((r) => r.logicalId?.startsWith('Nightly'))!;

    // Act: the rule invokes its target asynchronously, as EventBridge does; awaited, not polled for.
    const fired = await fixture.runtime.fireSchedule(rule.name);
    await fixture.runtime.invocationsSettled();

    expect(fired.deliveries).toEqual([
      { rule: rule.name, target: 'Target0', result: expect.stringMatching(/^invoked /) },
    ]);
    const logged = fixture.runtime.logs('counterB').find((line) => line.includes('fixture.schedule'))!;
    expect(JSON.parse(logged).event).toEqual({ source: 'fixture.schedule', rule: rule.arn });
  });

  it('puts custom events on the bus without matching rules that do not apply', async () => {
    const result = await fixture.runtime.putEvent({
      source: 'driftline.test',
      'detail-type': 'Nothing',
      detail: {},
    });
    expect(result.deliveries).toEqual([]);
    expect(result.event.source).toBe('driftline.test');
  });
});

describe('runtime.json and restarts', () => {
  it('writes where everything is for the CLI', () => {
    const info = JSON.parse(readFileSync(join(fixture.home, 'runtime.json'), 'utf8')) as RuntimeInfo;

    expect(info).toMatchObject({
      pid: process.pid,
      stackName: 'LocalFixture',
      apiUrl: fixture.runtime.apiUrl,
      outputs: { BucketName: fixture.runtime.outputs.BucketName, ApiUrl: fixture.runtime.apiUrl },
      functions: { counterA: fixture.runtime.outputs.CounterFunctionName },
      stateMachines: { pipeline: fixture.runtime.outputs.StateMachineArn },
    });
    expect(info.endpoints.lambda).toBe(`${fixture.runtime.apiUrl}_aws/lambda`);
    expect(new URL(info.endpoints.s3).port).toBe(String(info.ports.s3));
    // The install's own key pair, made at first start, readable by its owner only.
    const secrets = JSON.parse(readFileSync(join(fixture.home, 'credentials.json'), 'utf8'));
    expect(info.credentials).toEqual({
      accessKeyId: secrets.accessKeyId,
      secretAccessKey: secrets.secretAccessKey,
    });
    expect(info.credentials.accessKeyId).toMatch(/^AKIA[0-9A-F]{16}$/);
    expect(statSync(join(fixture.home, 'runtime.json')).mode & 0o077).toBe(0);
    expect(statSync(join(fixture.home, 'credentials.json')).mode & 0o077).toBe(0);
  });

  it('keeps objects and items across a restart on the same home', async () => {
    // Prepare: an object and an item written through the running stack, which then stops.
    const { info } = fixture.runtime;
    const config = { region: info.region, credentials: info.credentials };
    const table = info.outputs.TableName;
    const bucket = info.outputs.BucketName;
    await put('models/kept.bin', 'model');
    await new DynamoDBClient({ ...config, endpoint: info.endpoints.dynamodb }).send(
      new PutItemCommand({ TableName: table, Item: { PK: { S: 'MODEL#air' }, SK: { S: 'SPEC' } } }),
    );
    await fixture.runtime.stop();
    expect(existsSync(join(fixture.home, 'runtime.json'))).toBe(false);

    // Act: the same home again (afterAll closes this one).
    fixture = await startFixtureRuntime({ home: fixture.home });
    const again = fixture.runtime.info;
    const object = await new S3Client({ ...config, endpoint: again.endpoints.s3, forcePathStyle: true }).send(
      new GetObjectCommand({ Bucket: bucket, Key: 'models/kept.bin' }),
    );
    const item = await new DynamoDBClient({ ...config, endpoint: again.endpoints.dynamodb }).send(
      new GetItemCommand({ TableName: table, Key: { PK: { S: 'MODEL#air' }, SK: { S: 'SPEC' } } }),
    );

    // Assess
    expect(await object.Body!.transformToString()).toBe('model');
    expect(item.Item).toEqual({ PK: { S: 'MODEL#air' }, SK: { S: 'SPEC' } });
  });
});
