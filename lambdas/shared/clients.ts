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

let dynamoItems: DynamoDBClient | undefined;

/**
 * A plain DynamoDB client for low-level commands on a hot path (the prediction log's `PutItem` on every
 * predict). It resolves each command class's middleware stack once (`cacheMiddleware`, which the document
 * client refuses) instead of on every send: 0.53-0.59 ms of CPU per `PutItem` against 0.59-0.62 through the
 * document client at the median, 0.60 against 0.84 mean, 1.9-2.3 against 4.7-5.2 ms at the 99th percentile
 * (`bench/RESULTS.md`).
 */
export function dynamoItemClient(): DynamoDBClient {
  dynamoItems ??= new DynamoDBClient({ cacheMiddleware: true });
  return dynamoItems;
}

/** The Step Functions client (`AWS_ENDPOINT_URL_SFN` points it at the local runtime). */
export function sfnClient(): SFNClient {
  sfn ??= new SFNClient({});
  return sfn;
}
