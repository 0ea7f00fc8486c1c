/**
 * The prediction log (its own DynamoDB table, items expire after `RETENTION_DAYS`): one item per predict
 * request with the version and role that answered, the inputs and the outputs, so every prediction can be
 * traced to its model version and scored when its label arrives (`POST /models/{name}/feedback`).
 */
import { ConditionalCheckFailedException, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoClient, itemWriter } from './clients.ts';

export const RETENTION_DAYS = 30;
/** DynamoDB's largest item: 400 KB, attribute names and values together. */
const MAX_ITEM_BYTES = 400 * 1024;
/**
 * What an item holds besides its body's predictions, inputs and labels, with room to spare: `id`,
 * `model` (a name of at most 63 characters), `version`, `role`, `at`, `expiresAt`, the names `body` and
 * `feedback`, and the body's own fields (`instanceCount`, `truncated`).
 */
const ITEM_OVERHEAD_BYTES = 1024;
/**
 * The most one label adds to its item, by DynamoDB's size rules: `feedback.<index>` holding `{actual,
 * at}`, the label as text (a double prints in at most 25 characters) and an ISO time (24), with their
 * names and the map's overhead: 66 bytes for an index of 3 digits (a request has at most 1,000
 * predictions), rounded up.
 */
const LABEL_BYTES = 80;

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
  /** The request's predictions (the first of them only, when `truncated.predictions` says so). */
  predictions: LoggedPrediction[];
  /** The request's instances as JSON, or undefined when they did not fit. */
  instances?: string;
  instanceCount: number;
  /** A shadow version's answers to the same instances (measured, never returned). */
  shadow?: { version: number; predictions: LoggedPrediction[] };
  /** What an oversized request's log left out: how many predictions it kept, and whether inputs or shadow went. */
  truncated?: { predictions?: number; instances?: true; shadow?: true };
  /** Labels received so far, by prediction index. */
  feedback?: Record<string, { actual: number; at: string }>;
  expiresAt: number;
}

/** What one predict request hands the log. */
export type PredictionEntry = Omit<PredictionRecord, 'expiresAt' | 'instances' | 'truncated' | 'feedback'> & {
  instances: unknown[];
};

/** The JSON kept in an item's `body`: everything but the keys and the labels. */
type StoredBody = Pick<
  PredictionRecord,
  'predictions' | 'instances' | 'instanceCount' | 'shadow' | 'truncated'
>;

const bytes = (text: string) => Buffer.byteLength(text);

/**
 * The body of a logged request, so that its item stays within DynamoDB's 400 KB once every prediction it
 * keeps is labelled: each kept prediction takes the room of its label too, or the last labels of a full
 * item would be refused (a ValidationException, answered 500). Predictions come first (feedback needs
 * them), then the inputs, then a shadow's answers; what does not fit is left out and the item says so
 * (`truncated`). JSON holds every double exactly (DynamoDB's numbers do not: above 2^53 the SDK refuses
 * them, past 1e126 or below 1e-130 DynamoDB does), and one string attribute is the cheapest item to
 * marshal and to store.
 */
export function storedBody(entry: PredictionEntry): string {
  const predictions = JSON.stringify(entry.predictions);
  const instances = JSON.stringify(entry.instances);
  const shadow = entry.shadow === undefined ? undefined : JSON.stringify(entry.shadow);
  let budget = MAX_ITEM_BYTES - ITEM_OVERHEAD_BYTES;
  const truncated: NonNullable<PredictionRecord['truncated']> = {};
  let kept = predictions;
  let keptCount = entry.predictions.length;
  if (bytes(predictions) + LABEL_BYTES * keptCount > budget) {
    // Keep the longest prefix of predictions that fits with their labels: feedback can still score those.
    let used = 2;
    let count = 0;
    for (const prediction of entry.predictions) {
      const size = bytes(JSON.stringify(prediction)) + 1 + LABEL_BYTES;
      if (used + size > budget) break;
      used += size;
      count += 1;
    }
    kept = JSON.stringify(entry.predictions.slice(0, count));
    keptCount = count;
    truncated.predictions = count;
  }
  budget -= bytes(kept) + LABEL_BYTES * keptCount;
  const keepInstances = bytes(instances) <= budget;
  if (keepInstances) budget -= bytes(instances);
  else truncated.instances = true;
  const keepShadow = shadow !== undefined && bytes(shadow) <= budget;
  if (shadow !== undefined && !keepShadow) truncated.shadow = true;
  return `{"predictions":${kept},"instanceCount":${entry.instanceCount}${
    keepInstances ? `,"instances":${JSON.stringify(instances)}` : ''
  }${keepShadow ? `,"shadow":${shadow}` : ''}${
    Object.keys(truncated).length > 0 ? `,"truncated":${JSON.stringify(truncated)}` : ''
  }}`;
}

/**
 * One observation's term of a live sum, capped at ±2^53: a label near 0 makes a relative error
 * astronomically large, and sums of terms at DynamoDB's own limit (about 1e126) would overflow it.
 * (Magnitudes below DynamoDB's smallest are the document client's to store as 0.)
 */
function liveSumTerm(value: number): number {
  if (Number.isNaN(value)) throw new RangeError('NaN cannot be stored');
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, value));
}

export class PredictionLog {
  readonly tableName: string;

  constructor(tableName: string) {
    this.tableName = tableName;
  }

  /** Logs one request: one small item, its body a single JSON string (see {@link storedBody}). */
  async put(entry: PredictionEntry): Promise<void> {
    const expiresAt = Math.floor(Date.parse(entry.at) / 1000) + RETENTION_DAYS * 86_400;
    await itemWriter().put(this.tableName, {
      id: { S: entry.id },
      model: { S: entry.model },
      version: { N: String(entry.version) },
      role: { S: entry.role },
      at: { S: entry.at },
      body: { S: storedBody(entry) },
      expiresAt: { N: String(expiresAt) },
    });
  }

  async get(id: string): Promise<PredictionRecord | undefined> {
    const result = await dynamoClient().send(
      new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }),
    );
    const item = result.Item as
      | (Omit<PredictionRecord, 'feedback'> & {
          body?: string;
          feedback?: Record<string, { actual: number | string; at: string }>;
        })
      | undefined;
    if (!item) return undefined;
    const { body, feedback, ...rest } = item;
    // Items logged before the body attribute carry their fields as attributes of their own.
    const record: PredictionRecord =
      body === undefined ? rest : { ...rest, ...(JSON.parse(body) as StoredBody) };
    if (feedback) {
      record.feedback = Object.fromEntries(
        Object.entries(feedback).map(([index, label]) => [
          index,
          { actual: Number(label.actual), at: label.at },
        ]),
      );
    }
    return record;
  }

  /**
   * Records the label of prediction `index` of a request, once: a label is final, so a second one for the
   * same prediction is refused rather than counted again (or replacing the first). The label is kept as a
   * string: every double round-trips, including ones DynamoDB numbers cannot hold.
   * @param at when the label was received (ISO time) @default now
   * @returns false when the prediction already had a label.
   */
  async recordFeedback(
    id: string,
    index: number,
    actual: number,
    at: string = new Date().toISOString(),
  ): Promise<boolean> {
    await dynamoClient().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id },
        UpdateExpression: 'SET feedback = if_not_exists(feedback, :empty)',
        ExpressionAttributeValues: { ':empty': {} },
      }),
    );
    try {
      await dynamoClient().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression: 'SET feedback.#index = :label',
          ConditionExpression: 'attribute_not_exists(feedback.#index)',
          ExpressionAttributeNames: { '#index': String(index) },
          ExpressionAttributeValues: { ':label': { actual: String(actual), at } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Takes back a label {@link recordFeedback} recorded with exactly this `actual` and `at`, for a request
   * that cannot record all of its labels (another request labelled one of them first): the request then
   * records none. A label recorded otherwise is left as it is.
   */
  async releaseFeedback(id: string, index: number, actual: number, at: string): Promise<void> {
    try {
      await dynamoClient().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression: 'REMOVE feedback.#index',
          ConditionExpression: 'feedback.#index.actual = :actual AND feedback.#index.#at = :at',
          ExpressionAttributeNames: { '#index': String(index), '#at': 'at' },
          ExpressionAttributeValues: { ':actual': String(actual), ':at': at },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
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
        ':error': liveSumTerm(observation.error),
        ':ratio': liveSumTerm(observation.ratio),
        ':measure': observation.measure,
        ':model': model,
        ':version': version,
      },
    }),
  );
}

/**
 * The live aggregate of a version, or undefined before its first label. The sums are read as DynamoDB's
 * decimal text: each observation is stored capped at 2^53 − 1 (see `liveSumTerm`), so two labels of 0
 * take a sum past 2^53. A mean needs no more than a double's precision.
 */
export async function liveSummary(
  log: PredictionLog,
  model: string,
  version: number,
): Promise<LiveSummary | undefined> {
  const result = await dynamoClient().send(
    new GetItemCommand({ TableName: log.tableName, Key: { id: { S: liveId(model, version) } } }),
  );
  const item = result.Item;
  const labels = Number(item?.labels?.N ?? 0);
  const measure = item?.measure?.S;
  if (!item || !labels || (measure !== 'ape' && measure !== 'misclassified')) return undefined;
  return {
    labels,
    meanError: Number(item.errorSum?.N ?? 0) / labels,
    meanRatio: Number(item.ratioSum?.N ?? 0) / labels,
    measure,
  };
}

/** A prediction id is the request id and the instance's position: `<request>.<index>`. */
export function predictionId(requestId: string, index: number): string {
  return `${requestId}.${index}`;
}

/**
 * The request id and index of a prediction id, or undefined when `id` is not one {@link predictionId}
 * makes. The index is taken only as written there (`.1`, never `.01`): each prediction has exactly one
 * id, so the feedback handler's check for a prediction named twice in one request cannot be passed by
 * spelling it two ways.
 */
export function parsePredictionId(id: string): { requestId: string; index: number } | undefined {
  const match = /^([A-Za-z0-9-]{8,64})\.(0|[1-9]\d{0,3})$/.exec(id);
  return match ? { requestId: match[1], index: Number(match[2]) } : undefined;
}
