import { request } from 'node:http';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { NotFoundException, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders } from '../../local/sigv4.ts';
import { type FixtureRuntime, startFixtureRuntime } from './support.ts';

let fixture: FixtureRuntime;
const url = (path: string) => new URL(path, fixture.runtime.apiUrl);
const sdkConfig = () => ({ region: 'us-east-1', credentials: fixture.runtime.info.credentials });

beforeAll(async () => {
  fixture = await startFixtureRuntime();
});
afterAll(() => fixture?.close());

/** A GET with repeated headers, which fetch cannot send. */
function rawGet(
  path: string,
  headers: [string, string][],
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    // With headers given as a list, Node sends exactly these: Host included.
    const flat = [['Host', url(path).host], ...headers].flat();
    const req = request(url(path), { method: 'GET', headers: flat }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('API Gateway proxy', () => {
  it('sends the function a REST (v1) proxy event and returns its response', async () => {
    // Act
    const response = await rawGet('/files/a/b%20c?x=1&x=2&y=3', [
      ['X-Custom', 'one'],
      ['X-Custom', 'two'],
      ['User-Agent', 'driftline-test'],
    ]);
    expect(response.status, response.body).toBe(201);
    const event = JSON.parse(response.body);

    // Assess: the event
    expect(event).toMatchObject({
      resource: '/files/{proxy+}',
      path: '/files/a/b c',
      httpMethod: 'GET',
      pathParameters: { proxy: 'a/b c' },
      queryStringParameters: { x: '2', y: '3' },
      multiValueQueryStringParameters: { x: ['1', '2'], y: ['3'] },
      stageVariables: null,
      body: null,
      isBase64Encoded: false,
    });
    expect(event.headers['X-Custom']).toBe('two');
    expect(event.multiValueHeaders['X-Custom']).toEqual(['one', 'two']);
    expect(event.requestContext).toMatchObject({
      accountId: '000000000000',
      stage: 'prod',
      resourcePath: '/files/{proxy+}',
      httpMethod: 'GET',
      path: '/prod/files/a/b c',
      protocol: 'HTTP/1.1',
      requestId: response.headers['x-amzn-requestid'],
      identity: { sourceIp: '127.0.0.1', userAgent: 'driftline-test' },
    });
    expect(event.requestContext.requestTimeEpoch).toBeTypeOf('number');
    expect(event.requestContext.requestTime).toMatch(/^\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);

    // Assess: the response
    expect(response.status).toBe(201);
    expect(response.headers['x-fixture']).toBe('echo');
    expect(response.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('passes text bodies as text and binary media types base64-encoded, and decodes binary responses', async () => {
    const text = await (
      await fetch(url('/files/doc'), {
        method: 'PUT',
        body: 'héllo',
        headers: { 'content-type': 'text/plain' },
      })
    ).json();
    const png = await (
      await fetch(url('/files/img'), {
        method: 'POST',
        body: Buffer.from([137, 80, 78, 71]),
        headers: { 'content-type': 'image/png' },
      })
    ).json();
    const binary = await fetch(url('/echo?mode=binary'));

    expect(text).toMatchObject({ httpMethod: 'PUT', body: 'héllo', isBase64Encoded: false });
    expect(png).toMatchObject({
      httpMethod: 'POST',
      body: Buffer.from([137, 80, 78, 71]).toString('base64'),
      isBase64Encoded: true,
    });
    expect(binary.headers.get('content-type')).toBe('image/png');
    expect([...new Uint8Array(await binary.arrayBuffer())]).toEqual([1, 2, 3]);
  });

  it('answers unknown routes 404, wrong methods 405 and bodies over 10 MB 413, as JSON messages', async () => {
    const missing = await fetch(url('/nowhere'));
    const wrongMethod = await fetch(url('/echo'), { method: 'DELETE' });
    const tooLarge = await fetch(url('/files/big'), {
      method: 'POST',
      body: Buffer.alloc(10 * 1024 * 1024 + 1),
    });

    expect([missing.status, await missing.json()]).toEqual([
      404,
      { message: 'Not Found', error: 'NotFound' },
    ]);
    expect([wrongMethod.status, await wrongMethod.json()]).toEqual([
      405,
      { message: 'Method Not Allowed', error: 'MethodNotAllowed' },
    ]);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
    expect([tooLarge.status, await tooLarge.json()]).toEqual([
      413,
      { message: 'Request Too Long', error: 'RequestTooLarge' },
    ]);
  });

  it("answers a body under 10 MB whose event exceeds Lambda's 6 MB 413, as API Gateway does, not 5xx", async () => {
    // Act: 7 MB of text is within API Gateway's limit, but no function can be invoked with it.
    const response = await fetch(url('/files/big'), {
      method: 'POST',
      body: 'a'.repeat(7 * 1024 * 1024),
      headers: { 'content-type': 'text/plain' },
    });
    // Assess
    expect([response.status, await response.json()]).toEqual([
      413,
      { message: 'Request Too Long', error: 'RequestTooLarge' },
    ]);
    expect(response.headers.get('x-amzn-requestid')).toBeTruthy();
  });

  it("validates bodies against the route's model with the API's BAD_REQUEST_BODY response", async () => {
    const post = (body: unknown) =>
      fetch(url('/models/air/predict'), {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });

    const invalid = await post({ rows: [] });
    const empty = await post({ instances: [] });
    const valid = await post({ instances: [{ x: 1 }] });

    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toEqual({
      error: 'InvalidRequest',
      message: '[object has missing required properties (["instances"])]',
    });
    expect(((await empty.json()) as { message: string }).message).toBe(
      '[array is too short: must have at least 1 elements but instance has 0 elements]',
    );
    expect(valid.status).toBe(201);
    expect(((await valid.json()) as { pathParameters: unknown }).pathParameters).toEqual({ name: 'air' });
  });

  it('quotes a value with "$\'", "$`", "$&" or "$$" in a validation error as it is, in valid JSON', async () => {
    // Act
    const tag = "a$'b$`c$&d$$e";
    const response = await fetch(url('/models/air/predict'), {
      method: 'POST',
      body: JSON.stringify({ instances: [{}], tag }),
      headers: { 'content-type': 'application/json' },
    });
    // Assess
    expect(response.status).toBe(400);
    expect(JSON.parse(await response.text())).toEqual({
      error: 'InvalidRequest',
      message: `[ECMA 262 regex "^[a-z]+$" does not match input string ${JSON.stringify(tag)}]`,
    });
  });

  it("answers 502 for a malformed proxy response and 504 past the route's integration timeout", async () => {
    const malformed = await fetch(url('/echo?mode=malformed'));
    // The route's TimeoutInMillis is 200 ms; the function would answer after 60 s (its own 1 s timeout ends
    // it first). Both deadlines are timers of the same loop, so the 504 comes first however busy the machine.
    const slow = await fetch(url('/slow?ms=60000'));

    expect([malformed.status, await malformed.json()]).toEqual([502, { message: 'Internal server error' }]);
    expect([slow.status, await slow.json()]).toEqual([504, { message: 'Endpoint request timed out' }]);
  });
});

describe('local AWS APIs', () => {
  it('serves Lambda Invoke to @aws-sdk/client-lambda: results, function errors, async and log tails', async () => {
    // Prepare
    const lambda = new LambdaClient({ ...sdkConfig(), endpoint: fixture.runtime.info.endpoints.lambda });

    // Act
    const success = await lambda.send(
      new InvokeCommand({ FunctionName: 'counterA', Payload: JSON.stringify({ hi: 1 }), LogType: 'Tail' }),
    );
    const failure = await lambda.send(
      new InvokeCommand({
        FunctionName: fixture.runtime.stack.functions.find((f) => f.shortName === 'fail')!.arn,
        Payload: JSON.stringify({ errorType: 'ModelRejectedError', message: 'worse than champion' }),
      }),
    );
    const async = await lambda.send(
      new InvokeCommand({ FunctionName: 'counterA', InvocationType: 'Event', Payload: '{}' }),
    );

    // Assess
    expect(success.StatusCode).toBe(200);
    expect(success.FunctionError).toBeUndefined();
    expect(JSON.parse(Buffer.from(success.Payload!).toString())).toMatchObject({ event: { hi: 1 } });
    expect(Buffer.from(success.LogResult!, 'base64').toString()).toContain('"message":"counted"');
    expect(failure.FunctionError).toBe('Unhandled');
    expect(JSON.parse(Buffer.from(failure.Payload!).toString())).toMatchObject({
      errorType: 'ModelRejectedError',
      errorMessage: 'worse than champion',
    });
    expect(async.StatusCode).toBe(202);
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'nope' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('serves SNS Publish to @aws-sdk/client-sns (query protocol) and keeps the notifications', async () => {
    const sns = new SNSClient({ ...sdkConfig(), endpoint: fixture.runtime.info.endpoints.sns });

    const published = await sns.send(
      new PublishCommand({
        TopicArn: fixture.runtime.outputs.TopicArn,
        Subject: 'rollback',
        Message: 'air rolled back to v2',
        MessageAttributes: { model: { DataType: 'String', StringValue: 'air' } },
      }),
    );

    expect(fixture.runtime.notifications.at(-1)).toMatchObject({
      messageId: published.MessageId,
      topicArn: fixture.runtime.outputs.TopicArn,
      subject: 'rollback',
      message: 'air rolled back to v2',
      messageAttributes: { model: { DataType: 'String', StringValue: 'air' } },
    });
    await expect(
      sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:nope', Message: 'x' })),
    ).rejects.toBeInstanceOf(NotFoundException);
  });

  it('answers services it does not emulate with an error instead of reaching AWS', async () => {
    const target = url('/_aws/unsupported/');
    const headers = await signedHeaders(
      { method: 'POST', url: target },
      { credentials: fixture.runtime.info.credentials, region: 'us-east-1', service: 'unsupported' },
    );
    const response = await fetch(target, { method: 'POST', headers });
    expect(response.status).toBe(501);
    expect(response.headers.get('x-amzn-errortype')).toBe('NotImplemented');
  });
});
