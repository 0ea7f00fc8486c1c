/**
 * The registerSpec function (what `driftline specs add` invokes) against the emulators: it checks a spec
 * with the core's `parseSpec` and writes it, writes nothing for a spec the registry already holds, and
 * leaves the registry as it was for a spec it refuses.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../lambdas/shared/registry.ts';
import type { RegisterSpecResult } from '../../lambdas/shared/spec-registration.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import { lambda, prepareHandlerEnvironment } from '../support/pipeline-steps.ts';

const TABLE = 'register-spec-test-registry';
const repo = new URL('../../', import.meta.url).pathname;
const shipped = (file: string) => JSON.parse(readFileSync(`${repo}data/specs/${file}`, 'utf8'));

let emulators: TestEmulators;
let registry: Registry;
let dynamo: DynamoDBDocumentClient;
let registerSpec: (event: unknown) => Promise<RegisterSpecResult>;

/** The model's `SPEC` item as stored (its `updatedAt` says when it was last written). */
async function specItem(model: string) {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE, Key: { PK: `MODEL#${model}`, SK: 'SPEC' }, ConsistentRead: true }),
  );
  return Item;
}

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({
    bucket: 'register-spec-test',
    table: TABLE,
    logTable: 'register-spec-test-log',
  });
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  registerSpec = lambda(await import('../../lambdas/registerSpec/handler.ts'));
});

afterAll(async () => emulators?.close());

describe('registerSpec', () => {
  it('registers a valid spec as sent, and lists its model', async () => {
    // Prepare
    const spec = shipped('air-passengers.json');
    // Act
    const result = await registerSpec({ spec });
    // Assess
    expect(result).toEqual({ model: 'air-passengers', task: 'forecast', changed: true });
    expect(await registry.getSpec('air-passengers')).toEqual(spec);
    expect(await registry.listModels()).toContain('air-passengers');
  });

  it('writes nothing when the same spec is registered again', async () => {
    // Prepare
    const spec = shipped('breast-cancer.json');
    await registerSpec({ spec });
    // A mark no write of the function would leave in place (its writes set updatedAt to the time).
    const before = { ...(await specItem('breast-cancer')), updatedAt: 'marked' };
    await dynamo.send(new PutCommand({ TableName: TABLE, Item: before }));
    emulators.dynamoOperations.length = 0;
    // Act
    const again = await registerSpec({ spec: structuredClone(spec) });
    // Assess
    expect(again).toEqual({ model: 'breast-cancer', task: 'classification', changed: false });
    expect(await specItem('breast-cancer')).toEqual(before);
    // Recorded on dynalite only (empty on DynamoDB Local, where the item comparison above still holds).
    expect(emulators.dynamoOperations.filter((operation) => operation !== 'GetItem')).toEqual([]);
  });

  it('replaces a changed spec, a different task included, as putSpec always has', async () => {
    // Prepare
    await registerSpec({ spec: shipped('air-passengers.json') });
    const replacement = { ...shipped('breast-cancer.json'), name: 'air-passengers' };
    // Act
    const result = await registerSpec({ spec: replacement });
    // Assess
    expect(result).toEqual({ model: 'air-passengers', task: 'classification', changed: true });
    expect(await registry.getSpec('air-passengers')).toEqual(replacement);
  });

  it('completes a registration that a crash left without its catalog entry', async () => {
    // Prepare: the spec item alone, as an interrupted registration or an older install leaves it
    const spec = { ...shipped('air-passengers.json'), name: 'unlisted' };
    await dynamo.send(new PutCommand({ TableName: TABLE, Item: { PK: 'MODEL#unlisted', SK: 'SPEC', spec } }));
    // Act
    const result = await registerSpec({ spec });
    // Assess
    expect(result.changed).toBe(true);
    expect(await registry.listModels()).toContain('unlisted');
  });

  it('refuses an invalid spec with SpecError naming the field, and writes nothing', async () => {
    // Prepare
    const before = await specItem('air-passengers');
    const bad = { ...shipped('air-passengers.json'), holdout: -3 };
    const unknown = { ...shipped('air-passengers.json'), name: 'never-registered', lags: 'twelve' };
    // Act
    const refused = registerSpec({ spec: bad });
    const refusedNew = registerSpec({ spec: unknown });
    // Assess
    await expect(refused).rejects.toMatchObject({
      name: 'SpecError',
      message: expect.stringContaining('spec.holdout: '),
    });
    await expect(refusedNew).rejects.toMatchObject({
      name: 'SpecError',
      message: expect.stringContaining('lags'),
    });
    expect(await specItem('air-passengers')).toEqual(before);
    expect(await specItem('never-registered')).toBeUndefined();
    expect(await registry.listModels()).not.toContain('never-registered');
  });

  it('refuses a payload without a spec as a bad request', async () => {
    // Act
    const refused = registerSpec({ name: 'air-passengers' });
    // Assess
    await expect(refused).rejects.toMatchObject({
      name: 'BadRequestError',
      message: expect.stringContaining('"spec"'),
    });
  });
});
