/**
 * `POST /models/{name}/feedback`: labels that arrive after the prediction (`{ id, actual }` or a batch of
 * up to 100). Each label is stored on the logged prediction and turned into the live error of the version
 * that made it (and of a shadow that predicted alongside), emitted as metrics the quality alarm watches.
 *
 * Labels cannot be gamed into a rollback: one label per prediction (a second is refused with 409, never
 * counted again), a label counts against a role's alarm only while the version that made the prediction
 * still holds that role, and the alarm needs `minFeedback` labelled predictions in a period.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { holdsRole, labelClasses, liveQuality } from '#core/live-quality.ts';
import { describeZodError, feedbackRequestSchema } from '../shared/api-schemas.ts';
import { requiredEnv } from '../shared/config.ts';
import { BadRequestError, ConflictError, NotFoundError } from '../shared/errors.ts';
import { errorResponse, json, jsonBody, modelName } from '../shared/http.ts';
import { emitMetrics, withObservability } from '../shared/observability.ts';
import {
  addLiveObservation,
  type LoggedPrediction,
  PredictionLog,
  type PredictionRecord,
  parsePredictionId,
  type ServingRole,
} from '../shared/prediction-log.ts';
import { Registry } from '../shared/registry.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE') });
const predictionLog = new PredictionLog(requiredEnv('PREDICTION_LOG_TABLE'));

/** Holdout metrics per version, kept for the container's life (a version's metrics never change). */
const holdoutMetrics = new Map<string, Promise<Record<string, number>>>();

function metricsOf(model: string, version: number): Promise<Record<string, number>> {
  const key = `${model}#${version}`;
  let cached = holdoutMetrics.get(key);
  if (!cached) {
    cached = registry.getVersion(model, version).then((record) => {
      if (!record) throw new NotFoundError(`model "${model}" has no version ${version}`);
      return record.metrics;
    });
    holdoutMetrics.set(key, cached);
    cached.catch(() => holdoutMetrics.delete(key));
  }
  return cached;
}

/**
 * One EMF record per labelled prediction: its role and version differ from item to item. Always under the
 * version that made the prediction; under its role (what the alarms watch) only when `role` is given.
 */
function emit(
  model: string,
  version: number,
  role: ServingRole | undefined,
  quality: { error: number; ratio: number },
) {
  // One EMF line with both dimension sets: `[model, role]` for the alarms (only while the version still holds
  // the role) and `[model, version]` for the dashboards. Powertools warns on every such line; emitMetrics does not.
  const dimensions = { model, version: String(version), ...(role === undefined ? {} : { role }) };
  const sets =
    role === undefined
      ? [['model', 'version']]
      : [
          ['model', 'role'],
          ['model', 'version'],
        ];
  emitMetrics(dimensions, sets, {
    LiveError: { unit: 'None', value: quality.error },
    LiveQualityRatio: { unit: 'None', value: quality.ratio },
  });
}

/** A label's prediction, looked up and checked before anything of its batch is recorded. */
interface Labelled {
  id: string;
  actual: number;
  requestId: string;
  index: number;
  record: PredictionRecord;
  prediction: LoggedPrediction;
}

async function lookUp(model: string, id: string, actual: number): Promise<Labelled> {
  const parsed = parsePredictionId(id);
  if (!parsed) throw new BadRequestError(`"${id}" is not a prediction id (they look like <request>.<index>)`);
  const record = await predictionLog.get(parsed.requestId);
  if (!record) throw new NotFoundError(`no logged prediction "${id}" (ids expire after 30 days)`);
  if (record.model !== model)
    throw new BadRequestError(`prediction "${id}" was made by model "${record.model}", not "${model}"`);
  const prediction = record.predictions[parsed.index];
  if (!prediction) throw new NotFoundError(`request ${parsed.requestId} has no prediction ${parsed.index}`);
  const classes = labelClasses(prediction);
  if (classes && !classes.includes(actual))
    throw new BadRequestError(
      `prediction "${id}" was made by a classifier of classes ${classes.join(', ')}; the label ${actual} is none of them`,
    );
  // The holdout metrics the live error is measured against, read before anything is recorded.
  await metricsOf(model, record.version);
  if (record.shadow?.predictions[parsed.index]) await metricsOf(model, record.shadow.version);
  return { id, actual, ...parsed, record, prediction };
}

async function recordOne(
  model: string,
  label: Labelled,
  pointers: Awaited<ReturnType<Registry['getPointers']>>,
) {
  const { id, actual, record, prediction } = label;
  const quality = liveQuality(prediction, actual, await metricsOf(model, record.version));
  emit(
    model,
    record.version,
    holdsRole(pointers, record.role, record.version) ? record.role : undefined,
    quality,
  );
  await addLiveObservation(predictionLog, model, record.version, quality);
  const shadowPrediction = record.shadow?.predictions[label.index];
  if (record.shadow && shadowPrediction) {
    const shadow = liveQuality(shadowPrediction, actual, await metricsOf(model, record.shadow.version));
    const counts = holdsRole(pointers, 'shadow', record.shadow.version);
    emit(model, record.shadow.version, counts ? 'shadow' : undefined, shadow);
    await addLiveObservation(predictionLog, model, record.shadow.version, shadow);
  }
  return {
    id,
    version: record.version,
    role: record.role,
    [quality.measure]: quality.error,
    ratio: quality.ratio,
  };
}

/**
 * Records every label of a request, or none. Each is claimed with a conditional write, so a prediction
 * another request labelled after this one checked is refused here; the labels this request had claimed
 * are then taken back, and the 409 records nothing of it (a client may send the rest again).
 */
async function claimAll(labels: readonly Labelled[]): Promise<void> {
  const at = new Date().toISOString();
  const claimed: Labelled[] = [];
  for (const label of labels) {
    if (await predictionLog.recordFeedback(label.requestId, label.index, label.actual, at)) {
      claimed.push(label);
      continue;
    }
    await Promise.all(
      claimed.map((done) => predictionLog.releaseFeedback(done.requestId, done.index, done.actual, at)),
    );
    throw new ConflictError(
      `prediction "${label.id}" already has a label; a label is final (none of this request's labels is recorded)`,
    );
  }
}

export async function feedback(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  try {
    const model = modelName(event);
    const parsed = feedbackRequestSchema.safeParse(jsonBody(event));
    if (!parsed.success) throw new BadRequestError(describeZodError(parsed.error));
    const items = 'feedback' in parsed.data ? parsed.data.feedback : [parsed.data];
    const seen = new Set<string>();
    for (const { id } of items) {
      if (seen.has(id)) throw new BadRequestError(`prediction "${id}" is labelled twice in this request`);
      seen.add(id);
    }
    // Every label is checked before any is recorded, so a bad or repeated id records nothing of its batch.
    const labels = await Promise.all(items.map((item) => lookUp(model, item.id, item.actual)));
    const repeated = labels.filter((label) => label.record.feedback?.[String(label.index)] !== undefined);
    if (repeated.length > 0)
      throw new ConflictError(
        `${repeated.map((label) => `"${label.id}"`).join(', ')} already labelled; a label is final`,
      );
    const pointers = await registry.getPointers(model);
    await claimAll(labels);
    const results = [];
    for (const label of labels) results.push(await recordOne(model, label, pointers));
    return json(200, { model, recorded: results.length, results });
  } catch (error) {
    return errorResponse(error);
  }
}

export const handler = withObservability(feedback, { metrics: false });
