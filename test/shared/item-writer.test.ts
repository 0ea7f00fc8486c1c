import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemWriter, type PlainAttributeValue } from '../../lambdas/shared/item-writer.ts';
import { createActiveTable, startDynamo } from '../../local/emulators.ts';
import { AccessControl, functionCredentials } from '../../local/iam.ts';
import { createPredictionLogTable, startTestEmulators, type TestEmulators } from '../support/emulators.ts';

const TABLE = 'item-writer-test';
let emulators: TestEmulators;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await createPredictionLogTable(TABLE);
});
afterAll(async () => emulators.close());

/** A writer over a client of its own, and how many sends went through the SDK's command pipeline. */
function countedWriter(config: DynamoDBClientConfig = {}) {
  const client = new DynamoDBClient(config);
  const counted = { sdkSends: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      counted.sdkSends += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countSends' },
  );
  return { writer: new ItemWriter(client), counted };
}

const puts = () => emulators.dynamoOperations.filter((operation) => operation === 'PutItem').length;

describe('ItemWriter', () => {
  it('sends the first item through the SDK and the next ones itself: each lands once, exactly as given', async () => {
    // Prepare: strings JSON must escape, and numbers as DynamoDB's text.
    const { writer, counted } = countedWriter();
    const items = Array.from(
      { length: 5 },
      (_, i): Record<string, PlainAttributeValue> => ({
        id: { S: `item-${i}` },
        body: { S: `{"q":"\\"quoted\\"","line":"a\nb","é":"\u{1F600}","i":${i}}` },
        version: { N: String(2 ** 53 + i * 2) },
        expiresAt: { N: '1790000000' },
      }),
    );
    const putsBefore = puts();

    // Act
    for (const item of items) await writer.put(TABLE, item);

    // Assess
    expect(counted.sdkSends).toBe(1);
    expect(puts() - putsBefore).toBe(items.length);
    const client = new DynamoDBClient({});
    for (const item of items) {
      const stored = await client.send(
        new GetItemCommand({ TableName: TABLE, Key: { id: item.id }, ConsistentRead: true }),
      );
      expect(stored.Item).toEqual(item);
    }
  });

  it("sends a refused write through the SDK, throwing the SDK's typed error, and learns the request again from the SDK's next send", async () => {
    // Prepare: a writer past its first write.
    const { writer, counted } = countedWriter();
    await writer.put(TABLE, { id: { S: 'first' } });

    // Act
    const refused = writer.put('no-such-table', { id: { S: 'lost' } });

    // Assess
    await expect(refused).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect(counted.sdkSends).toBe(2);
    await writer.put(TABLE, { id: { S: 'after' } });
    expect(counted.sdkSends).toBe(3);
    await writer.put(TABLE, { id: { S: 'own again' } });
    expect(counted.sdkSends).toBe(3);
  });
});

describe('ItemWriter when a connection is lost', () => {
  it("sends the item through the SDK when its own request's connection drops, and learns the request again", async () => {
    // Prepare: a proxy in front of DynamoDB that drops the connection of the writer's first own request
    // (told apart from the SDK's by the SDK's invocation id header), as a socket the server closed while a
    // Lambda sandbox was frozen would.
    const target = new URL(emulators.dynamo.endpoint);
    let dropped = 0;
    const proxy = createServer((incoming, answer) => {
      if (incoming.headers['amz-sdk-invocation-id'] === undefined && dropped === 0) {
        dropped += 1;
        incoming.socket.destroy();
        return;
      }
      const forwarded = request(
        {
          host: target.hostname,
          port: target.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (response) => {
          answer.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(answer);
        },
      );
      incoming.pipe(forwarded);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { writer, counted } = countedWriter({
        endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      });

      // Act
      for (const id of ['lost-1', 'lost-2', 'lost-3']) await writer.put(TABLE, { id: { S: id } });

      // Assess: the first through the SDK, the second dropped and then sent by the SDK, the third its own.
      expect(dropped).toBe(1);
      expect(counted.sdkSends).toBe(2);
      const client = new DynamoDBClient({});
      for (const id of ['lost-1', 'lost-2', 'lost-3']) {
        const stored = await client.send(
          new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } }, ConsistentRead: true }),
        );
        expect(stored.Item).toEqual({ id: { S: id } });
      }
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

describe("ItemWriter against the local runtime's signature and IAM checks", () => {
  it("signs its own requests with the client's credentials: a function key writes inside its grants, and outside them gets the SDK's AccessDeniedException", async () => {
    // Prepare: DynamoDB that answers only signed requests, and a function key allowed to put into Log only.
    const install = { accessKeyId: 'AKIAINSTALL0000000000', secretAccessKey: 'install-secret' };
    const fnKeys = functionCredentials(install.secretAccessKey, 'predictFn');
    const access = new AccessControl({
      install,
      scope: { region: 'us-east-1', account: '000000000000' },
      principals: [
        {
          credentials: fnKeys,
          arn: 'arn:aws:sts::000000000000:assumed-role/predictRole/predict',
          statements: [
            {
              effect: 'Allow',
              actions: ['dynamodb:PutItem'],
              resources: ['arn:aws:dynamodb:us-east-1:000000000000:table/Log'],
            },
          ],
        },
      ],
    });
    const dynamo = await startDynamo({ credentials: install, access });
    try {
      const admin = new DynamoDBClient({
        region: 'us-east-1',
        endpoint: dynamo.endpoint,
        credentials: install,
      });
      for (const TableName of ['Log', 'Other'])
        await createActiveTable(admin, {
          TableName,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        });
      const { writer, counted } = countedWriter({
        region: 'us-east-1',
        endpoint: dynamo.endpoint,
        credentials: fnKeys,
      });

      // Act
      for (const id of ['a', 'b', 'c']) await writer.put('Log', { id: { S: id } });
      const refused = writer.put('Other', { id: { S: 'd' } });

      // Assess: the emulator refuses a bad signature, so the second and third writes were signed right.
      expect(counted.sdkSends).toBe(1);
      await expect(refused).rejects.toMatchObject({ name: 'AccessDeniedException' });
      expect(counted.sdkSends).toBe(2);
      const stored = await admin.send(new GetItemCommand({ TableName: 'Log', Key: { id: { S: 'c' } } }));
      expect(stored.Item).toEqual({ id: { S: 'c' } });
    } finally {
      await dynamo.close();
    }
  });
});
