/**
 * AWS SDK v3 clients, created once per container. Endpoints come from the SDK's own environment
 * variables (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_DYNAMODB`, …), which is how the local runtime and
 * LocalStack point the same handler code at their emulators.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from './document-client.ts';
import { ItemWriter } from './item-writer.ts';

let s3: S3Client | undefined;
let dynamo: DynamoDBDocumentClient | undefined;
let sfn: SFNClient | undefined;

/** The S3 client. A custom endpoint (emulator) gets path-style addressing and checksums only when required. */
export function s3Client(): S3Client {
  if (!s3) {
    const emulated = Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
    s3 = new S3Client(
      emulated
        ? {
            forcePathStyle: true,
            requestChecksumCalculation: 'WHEN_REQUIRED',
            responseChecksumValidation: 'WHEN_REQUIRED',
          }
        : {},
    );
  }
  return s3;
}

/** The DynamoDB document client (plain JS values in and out; see `document-client.ts` for numbers). */
export function dynamoClient(): DynamoDBDocumentClient {
  dynamo ??= documentClient(new DynamoDBClient({}));
  return dynamo;
}

let items: ItemWriter | undefined;

/**
 * The writer of the prediction log's item on every predict: the SDK's parts without its per-command
 * pipeline (`item-writer.ts`), over a client of its own.
 */
export function itemWriter(): ItemWriter {
  items ??= new ItemWriter(new DynamoDBClient({}));
  return items;
}

/** The Step Functions client (`AWS_ENDPOINT_URL_SFN` points it at the local runtime). */
export function sfnClient(): SFNClient {
  sfn ??= new SFNClient({});
  return sfn;
}
