/**
 * The prediction log (its own DynamoDB table, items expire after `RETENTION_DAYS`): one item per predict
 * request with the version and role that answered, the inputs and the outputs, so every prediction can be
 * traced to its model version and scored when its label arrives (`POST /models/{name}/feedback`).
 */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoClient } from './clients.ts';

export const RETENTION_DAYS = 30;
/** Inputs larger than this are not stored, only counted (DynamoDB items hold at most 400 KB). */
const MAX_STORED_INPUT_BYTES = 256 * 1024;

export type ServingRole = 'production' | 'canary' | 'shadow';

/** The answer a prediction gave, in the form feedback needs: a value, or a label and its probabilities. */
export interface LoggedPrediction {
  value?: number;
  label?: number;
  probabilities?: Record<string, number>;
}

export interface PredictionRecord {
  id: string;
  model: string;
  version: number;
  role: ServingRole;
  at: string;
  predictions: LoggedPrediction[];
  /** The request's instances, or undefined when they were too large to keep. */
  instances?: string;
  instanceCount: number;
  /** A shadow version's answers to the same instances (measured, never returned). */
  shadow?: { version: number; predictions: LoggedPrediction[] };
  /** Labels received so far, by prediction index. */
  feedback?: Record<string, { actual: number; at: string }>;
  expiresAt: number;
}

export class PredictionLog {
  readonly tableName: string;

  constructor(tableName: string) {
    this.tableName = tableName;
  }

  async put(
    record: Omit<PredictionRecord, 'expiresAt' | 'instances'> & { instances: unknown[] },
  ): Promise<void> {
    const json = JSON.stringify(record.instances);
    const item: PredictionRecord = {
      ...record,
      instances: json.length <= MAX_STORED_INPUT_BYTES ? json : undefined,
      expiresAt: Math.floor(Date.parse(record.at) / 1000) + RETENTION_DAYS * 86_400,
    };
    await dynamoClient().send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  async get(id: string): Promise<PredictionRecord | undefined> {
    const result = await dynamoClient().send(
      new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }),
    );
    return result.Item as PredictionRecord | undefined;
  }

  /** Records the label of prediction `index` of a request (a later label for the same index replaces it). */
  async recordFeedback(id: string, index: number, actual: number): Promise<void> {
    await dynamoClient().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id },
        UpdateExpression: 'SET feedback = if_not_exists(feedback, :empty)',
        ExpressionAttributeValues: { ':empty': {} },
      }),
    );
    await dynamoClient().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id },
        UpdateExpression: 'SET feedback.#index = :label',
        ExpressionAttributeNames: { '#index': String(index) },
        ExpressionAttributeValues: { ':label': { actual, at: new Date().toISOString() } },
      }),
    );
  }
}

/** What labelled predictions say about a version so far (one aggregate item per version in the log table). */
export interface LiveSummary {
  labels: number;
  /** Mean absolute percentage error (regression, forecasts) or misclassification rate (classifiers). */
  meanError: number;
  meanRatio: number;
  measure: 'ape' | 'misclassified';
}

const liveId = (model: string, version: number) => `LIVE#${model}#${version}`;

/** Adds one labelled prediction to its version's live aggregate (an atomic counter update). */
export async function addLiveObservation(
  log: PredictionLog,
  model: string,
  version: number,
  observation: { error: number; ratio: number; measure: LiveSummary['measure'] },
): Promise<void> {
  await dynamoClient().send(
    new UpdateCommand({
      TableName: log.tableName,
      Key: { id: liveId(model, version) },
      UpdateExpression:
        'ADD labels :one, errorSum :error, ratioSum :ratio SET measure = :measure, model = :model, version = :version',
      ExpressionAttributeValues: {
        ':one': 1,
        ':error': observation.error,
        ':ratio': observation.ratio,
        ':measure': observation.measure,
        ':model': model,
        ':version': version,
      },
    }),
  );
}

/** The live aggregate of a version, or undefined before its first label. */
export async function liveSummary(
  log: PredictionLog,
  model: string,
  version: number,
): Promise<LiveSummary | undefined> {
  const result = await dynamoClient().send(
    new GetCommand({ TableName: log.tableName, Key: { id: liveId(model, version) } }),
  );
  const item = result.Item as
    | { labels: number; errorSum: number; ratioSum: number; measure: LiveSummary['measure'] }
    | undefined;
  if (!item?.labels) return undefined;
  return {
    labels: item.labels,
    meanError: item.errorSum / item.labels,
    meanRatio: item.ratioSum / item.labels,
    measure: item.measure,
  };
}

/** A prediction id is the request id and the instance's position: `<request>.<index>`. */
export function predictionId(requestId: string, index: number): string {
  return `${requestId}.${index}`;
}

export function parsePredictionId(id: string): { requestId: string; index: number } | undefined {
  const match = /^([A-Za-z0-9-]{8,64})\.(\d{1,4})$/.exec(id);
  return match ? { requestId: match[1], index: Number(match[2]) } : undefined;
}
