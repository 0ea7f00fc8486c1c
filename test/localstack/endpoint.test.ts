import { afterEach, describe, expect, it } from 'vitest';
import {
  LocalStackUnavailableError,
  missingServices,
  pathStyleApiUrl,
  readHealth,
  START_COMMAND,
} from '../../localstack/endpoint.ts';
import { closedEndpoint, type FakeLocalStack, startFakeLocalStack } from './support.ts';

describe('pathStyleApiUrl', () => {
  it('maps the ApiUrl LocalStack renders (its host for AWS::URLSuffix, no port) to the /_aws/execute-api path', () => {
    // Act
    const url = pathStyleApiUrl(
      'https://a1b2c3d4e5.execute-api.us-east-1.localhost.localstack.cloud/prod/',
      'http://localhost:4566',
    );
    // Assess
    expect(url).toBe('http://localhost:4566/_aws/execute-api/a1b2c3d4e5/prod/');
  });

  it('accepts the AWS form, a missing trailing slash, and an endpoint that ends with one', () => {
    // Act
    const url = pathStyleApiUrl(
      'https://xyz.execute-api.eu-west-1.amazonaws.com/dev',
      'http://127.0.0.1:4566/',
    );
    // Assess
    expect(url).toBe('http://127.0.0.1:4566/_aws/execute-api/xyz/dev/');
  });

  it.each([
    'http://localhost:4566/restapis/abc/prod/_user_request_/',
    'https://abc.execute-api.us-east-1.amazonaws.com/',
    'not a url',
  ])('throws a RangeError naming %s, which is no stage URL', (apiUrl) => {
    // Act / Assess
    expect(() => pathStyleApiUrl(apiUrl, 'http://localhost:4566')).toThrow(RangeError);
    expect(() => pathStyleApiUrl(apiUrl, 'http://localhost:4566')).toThrow(apiUrl);
  });
});

describe('missingServices', () => {
  it('reports required services that are absent, disabled or in error, in the order required', () => {
    // Prepare
    const health = {
      services: { s3: 'running', lambda: 'available', sqs: 'disabled', sns: 'error', ecr: 'disabled' },
    };
    // Act
    const missing = missingServices(health, ['s3', 'sqs', 'lambda', 'events', 'sns']);
    // Assess
    expect(missing).toEqual(['sqs', 'events', 'sns']);
  });
});

describe('readHealth', () => {
  let fake: FakeLocalStack | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it("returns LocalStack's health document", async () => {
    // Prepare
    const document = { services: { s3: 'available' }, edition: 'community', version: '4.14.0' };
    fake = await startFakeLocalStack(document);
    // Act
    const health = await readHealth(`${fake.url}/`);
    // Assess
    expect(health).toEqual(document);
  });

  it('throws LocalStackUnavailableError saying how to start LocalStack when nothing listens', async () => {
    // Prepare
    const endpoint = await closedEndpoint();
    // Act
    const reading = readHealth(endpoint);
    // Assess
    await expect(reading).rejects.toThrow(LocalStackUnavailableError);
    await expect(reading).rejects.toThrow(`${endpoint}/_localstack/health (ECONNREFUSED)`);
    await expect(reading).rejects.toThrow(START_COMMAND);
  });

  it.each([
    ['not JSON', '<html>hello</html>', 'did not answer JSON'],
    ['JSON without services', '{"status":"ok"}', "did not answer LocalStack's health document"],
  ])('throws LocalStackUnavailableError when the answer is %s', async (_, body, message) => {
    // Prepare
    fake = await startFakeLocalStack(body);
    // Act / Assess
    await expect(readHealth(fake.url)).rejects.toThrow(message);
  });
});
