/**
 * Starts S3 and DynamoDB emulators on loopback for a test file and points the AWS SDK at them through
 * its standard endpoint variables, exactly as the local runtime does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  createActiveTable,
  type Emulator,
  type S3Emulator,
  startDynamo,
  startS3,
} from '../../local/emulators.ts';
import { startDynamoDbLocal, useDynamoDbLocal } from './dynamodb-local.ts';

export interface TestEmulators {
  s3: S3Emulator;
  dynamo: Emulator;
  /**
   * The DynamoDB operations requested so far (`GetItem`, `Query`, `Scan`…), in order. Recorded on
   * dynalite only: empty when the suite runs on DynamoDB Local.
   */
  dynamoOperations: string[];
  directory: string;
  close(): Promise<void>;
}

/** Sets the SDK environment for emulators (fake credentials, region, endpoints). */
export function pointSdkAt(s3Endpoint: string, dynamoEndpoint: string): void {
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  process.env.AWS_ENDPOINT_URL_S3 = s3Endpoint;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamoEndpoint;
}

export async function startTestEmulators(): Promise<TestEmulators> {
  const directory = mkdtempSync(join(tmpdir(), 'driftline-test-'));
  const s3 = await startS3({ directory: join(directory, 's3') });
  // CI runs the registry suites a second time on Amazon's DynamoDB Local (see `.ci/run`).
  const dynamoOperations: string[] = [];
  const dynamo = useDynamoDbLocal()
    ? await startDynamoDbLocal()
    : await startDynamo({ onOperation: (operation) => dynamoOperations.push(operation) });
  pointSdkAt(s3.endpoint, dynamo.endpoint);
  return {
    s3,
    dynamo,
    dynamoOperations,
    directory,
    async close() {
      await Promise.all([s3.close(), dynamo.close()]);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The registry's two tables of a test: `name` for what serves, `name-runs` for the pipeline's bookkeeping. */
export function registryTables(name: string): { registry: string; runs: string } {
  return { registry: name, runs: `${name}-runs` };
}

/** Creates the registry's two tables ({@link registryTables} of `name`). */
export async function createRegistryTable(name: string): Promise<void> {
  const tables = registryTables(name);
  await createKeyedTable(tables.registry);
  await createKeyedTable(tables.runs);
}

/** Creates a table keyed as the registry's are (`PK`/`SK` strings). */
async function createKeyedTable(name: string): Promise<void> {
  await createActiveTable(new DynamoDBClient({}), {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'PK', AttributeType: 'S' },
      { AttributeName: 'SK', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ],
  });
}

/** Creates a prediction-log-shaped table (`id` string). */
export async function createPredictionLogTable(name: string): Promise<void> {
  await createActiveTable(new DynamoDBClient({}), {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  });
}

export async function createBucket(name: string): Promise<void> {
  await new S3Client({ forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: name }));
}
