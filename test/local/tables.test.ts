/**
 * A table the runtime or a test creates is ready when creation returns. DynamoDB (and dynalite) answer
 * `CreateTable` with `CREATING` and refuse writes with `ResourceNotFoundException` until the table is
 * `ACTIVE`; dynalite stores `ACTIVE` from a timer, which on a busy machine came after the next request
 * (`test/local/pipeline.test.ts`'s first `PutItem` failed so beside two busy loops, 2026-12-05). Here
 * dynalite takes a whole second to activate a table, so a creation that did not wait would be caught
 * whatever the machine's load.
 */
import type { AddressInfo } from 'node:net';
import { DescribeTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActiveTable } from '../../local/emulators.ts';

const ACTIVATION_MS = 1000;
let server: ReturnType<typeof dynalite>;
let client: DynamoDBClient;

beforeAll(async () => {
  server = dynalite({ createTableMs: ACTIVATION_MS });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterAll(async () => {
  client?.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('createActiveTable', () => {
  it('returns once the table is ACTIVE, so the first write goes through', async () => {
    // Act
    await createActiveTable(client, {
      TableName: 'ready',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    });
    const described = await client.send(new DescribeTableCommand({ TableName: 'ready' }));
    const written = await client.send(
      new PutItemCommand({ TableName: 'ready', Item: { id: { S: 'first' } } }),
    );
    // Assess
    expect(described.Table?.TableStatus).toBe('ACTIVE');
    expect(written.$metadata.httpStatusCode).toBe(200);
  });
});
